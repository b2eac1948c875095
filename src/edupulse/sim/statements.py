"""Building xAPI 1.0.3 statements as plain dicts, ready to be JSON-encoded.

Every statement is built from fresh dicts, so a consumer may change one freely.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any, Final

from edupulse.sim.course import Activity, Course
from edupulse.sim.vocabulary import (
    ACTIVITY_TYPES,
    COURSE_TYPE,
    HOME_PAGE,
    SKILLS_EXTENSION,
    VERBS,
    VerbWord,
)

__all__ = ["Draft", "StatementFactory", "XapiStatement", "duration", "timestamp", "uuid4_from_bits"]

XapiStatement = dict[str, Any]
# What a statement will say, kept small until it is handed out:
# (epoch milliseconds, learner id, verb, activity, course, result, skills).
Draft = tuple[int, str, VerbWord, Activity, Course, dict[str, Any] | None, tuple[str, ...]]

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_PLATFORM: Final = "edupulse-sim"


_DAY_MS: Final = 86_400_000
# uuid.UUID(int=..., version=4) clears these bits and sets the version (4) and variant (RFC 4122).
_UUID_CLEAR: Final = ~((0xF000 << 64) | (0xC000 << 48))
_UUID_SET: Final = (4 << 76) | (0x8000 << 48)


@lru_cache(maxsize=64)
def _date_prefix(day: int) -> str:
    return (_EPOCH + timedelta(days=day)).strftime("%Y-%m-%dT")


def timestamp(ms: int) -> str:
    """ISO 8601 UTC with millisecond precision: ``2024-09-02T18:04:05.123+00:00``."""
    day, in_day = divmod(ms, _DAY_MS)
    seconds, milli = divmod(in_day, 1000)
    minutes, sec = divmod(seconds, 60)
    hour, minute = divmod(minutes, 60)
    return f"{_date_prefix(day)}{hour:02d}:{minute:02d}:{sec:02d}.{milli:03d}+00:00"


def uuid4_from_bits(bits: int) -> str:
    """The string of ``uuid.UUID(int=bits, version=4)``, made faster."""
    h = f"{(bits & _UUID_CLEAR) | _UUID_SET:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def duration(seconds: float) -> str:
    """ISO 8601 duration in seconds with one decimal: ``PT42.5S``."""
    return f"PT{seconds:.1f}S"


class StatementFactory:
    """Makes the statements of a simulation; ids come from the given random generator."""

    def __init__(self, rng: random.Random) -> None:
        self._bits = rng.getrandbits

    def build(self, draft: Draft) -> XapiStatement:
        """The statement of a draft."""
        ms, learner, verb, activity, course, result, skills = draft
        return self.make(learner, verb, activity, course=course, ms=ms, result=result, skills=skills)

    def make(
        self,
        learner: str,
        verb: VerbWord,
        activity: Activity,
        *,
        course: Course,
        ms: int,
        result: dict[str, Any] | None = None,
        skills: tuple[str, ...] = (),
    ) -> XapiStatement:
        """One statement: learner did verb to activity of course at ms (epoch milliseconds)."""
        context: dict[str, Any] = {
            "platform": _PLATFORM,
            "contextActivities": {
                "grouping": [{"objectType": "Activity", "id": course.iri, "definition": {"type": COURSE_TYPE}}]
            },
        }
        if skills:
            context["extensions"] = {SKILLS_EXTENSION: list(skills)}
        stmt: XapiStatement = {
            "id": uuid4_from_bits(self._bits(128)),
            "actor": {"objectType": "Agent", "account": {"homePage": HOME_PAGE, "name": learner}},
            "verb": {"id": VERBS[verb], "display": {"en-US": verb}},
            "object": {
                "objectType": "Activity",
                "id": activity.iri,
                "definition": {"type": ACTIVITY_TYPES[activity.kind], "name": {"en-US": activity.title}},
            },
            "context": context,
            "timestamp": timestamp(ms),
            "version": "1.0.3",
        }
        if result is not None:
            stmt["result"] = result
        return stmt
