"""Small builders of valid xAPI statements for tests."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

COURSE_TYPE = "http://adlnet.gov/expapi/activities/course"
START = datetime(2026, 9, 7, 9, 0, tzinfo=UTC)


def statement(
    learner: str = "learner-1",
    *,
    verb: str = "answered",
    course: str = "https://example.edu/courses/algebra",
    when: datetime = START,
    score: float | None = None,
    duration_s: float | None = None,
    statement_id: str | None = None,
) -> dict[str, Any]:
    """One valid xAPI statement with the conventions edupulse reads."""
    stmt: dict[str, Any] = {
        "actor": {"objectType": "Agent", "account": {"homePage": "https://example.edu", "name": learner}},
        "verb": {"id": f"http://adlnet.gov/expapi/verbs/{verb}", "display": {"en-US": verb}},
        "object": {"objectType": "Activity", "id": f"{course}/items/1"},
        "context": {"contextActivities": {"grouping": [{"id": course, "definition": {"type": COURSE_TYPE}}]}},
        "timestamp": when.isoformat(),
    }
    if statement_id is not None:
        stmt["id"] = statement_id
    result: dict[str, Any] = {}
    if score is not None:
        result["score"] = {"scaled": score}
        result["success"] = score >= 0.5
    if duration_s is not None:
        result["duration"] = f"PT{duration_s}S"
    if result:
        stmt["result"] = result
    return stmt


def learner_key(name: str) -> str:
    """The learner id edupulse derives from the account actors built above."""
    return f"account:https://example.edu|{name}"


def random_statements(n: int, *, seed: int, learners: int = 20, courses: int = 3) -> list[dict[str, Any]]:
    """``n`` statements with fixed ids, spread over learners, courses and four weeks."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        out.append(
            statement(
                f"learner-{rng.randrange(learners)}",
                verb=rng.choice(["answered", "experienced", "completed", "attempted"]),
                course=f"https://example.edu/courses/c{rng.randrange(courses)}",
                when=START + timedelta(seconds=rng.randrange(28 * 86400)),
                score=rng.choice([None, 0.0, 0.5, 1.0]),
                duration_s=rng.choice([None, 30, 90.5]),
                statement_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            )
        )
    return out
