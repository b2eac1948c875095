"""Golden statements: what is sent, and what each format must return."""

from __future__ import annotations

from typing import Any

ACTOR = {"objectType": "Agent", "name": "Ada", "mbox": "mailto:ada@example.edu"}
VERB = {"id": "http://adlnet.gov/expapi/verbs/answered", "display": {"en-US": "answered", "fr-FR": "a répondu"}}
ACTIVITY = {
    "objectType": "Activity",
    "id": "https://example.edu/quiz/1",
    "definition": {
        "name": {"en-US": "Quiz one", "fr-FR": "Quiz un"},
        "type": "http://adlnet.gov/expapi/activities/cmi.interaction",
        "interactionType": "choice",
        "correctResponsesPattern": ["b"],
        "choices": [{"id": "a", "description": {"en-US": "A"}}, {"id": "b", "description": {"en-US": "B"}}],
    },
}
COURSE = {
    "id": "https://example.edu/courses/algebra",
    "definition": {"type": "http://adlnet.gov/expapi/activities/course"},
}


def golden(statement_id: str) -> dict[str, Any]:
    return {
        "id": statement_id,
        "actor": ACTOR,
        "verb": VERB,
        "object": ACTIVITY,
        "result": {"score": {"scaled": 0.5, "raw": 5, "min": 0, "max": 10}, "success": True, "duration": "PT30S"},
        "context": {
            "registration": "ec531277-b57b-4c15-8d91-d292c5b2b8f7",
            "instructor": {"mbox": "mailto:grace@example.edu"},
            "contextActivities": {"grouping": COURSE},
            "language": "en-US",
            "extensions": {"https://example.edu/ext/attempt": 2},
        },
        "timestamp": "2026-09-07T09:00:00.000Z",
    }


def ids_format(statement_id: str) -> dict[str, Any]:
    """The golden statement as ``format=ids`` returns it, without stored and authority."""
    stmt = golden(statement_id)
    stmt["actor"] = {"objectType": "Agent", "mbox": "mailto:ada@example.edu"}
    stmt["verb"] = {"id": VERB["id"]}
    stmt["object"] = {"id": ACTIVITY["id"]}
    stmt["context"] = {**stmt["context"], "contextActivities": {"grouping": [{"id": COURSE["id"]}]}}
    return stmt
