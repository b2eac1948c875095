"""Activity definitions stay right when several API processes (here: several stores on one file) learn them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from edupulse.lrs.definitions import ActivityDefinitions
from edupulse.lrs.store.sqlite import SqliteLrsStore

QUIZ = "https://example.edu/quiz"


def with_definition(definition: dict[str, Any]) -> dict[str, Any]:
    return {"object": {"id": QUIZ, "definition": definition}}


def test_each_process_merges_into_what_the_others_stored(tmp_path: Path) -> None:
    first, second = SqliteLrsStore(tmp_path / "lrs.db"), SqliteLrsStore(tmp_path / "lrs.db")
    try:
        a, b = ActivityDefinitions(first), ActivityDefinitions(second)
        english = {"name": {"en": "Quiz"}, "type": "http://adlnet.gov/expapi/activities/assessment"}
        a.learn("t", [with_definition(english)])
        b.learn("t", [with_definition({"name": {"de": "Test"}, "type": "http://example.edu/exam"})])
        # a sent this very definition before; the newest type is still the one it sends now
        a.learn("t", [with_definition(english)])
        assert b.get("t", QUIZ) == {"name": {"en": "Quiz", "de": "Test"}, "type": english["type"]}
        assert a.get("t", QUIZ) == b.get("t", QUIZ)
    finally:
        first.close()
        second.close()


def test_definitions_merge_in_statement_order_within_a_request(tmp_path: Path) -> None:
    store = SqliteLrsStore(tmp_path / "lrs.db")
    try:
        definitions = ActivityDefinitions(store)
        sent = [{"name": {"en": "One"}}, {"name": {"fr": "Un"}, "type": "http://example.edu/a"}, {"name": {"en": "1"}}]
        definitions.learn("t", [with_definition(d) for d in sent])
        assert definitions.get("t", QUIZ) == {"name": {"en": "1", "fr": "Un"}, "type": "http://example.edu/a"}
        definitions.learn("t", [with_definition({"name": {"en": "1"}})])  # nothing new: nothing written
        assert definitions.get("t", QUIZ) == {"name": {"en": "1", "fr": "Un"}, "type": "http://example.edu/a"}
    finally:
        store.close()
