"""The IRIs the simulator writes: verbs, activity types, extensions and its home page.

The ingest pipeline normalises a verb by the last path segment of its IRI, so every
verb here ends in one of the words of :data:`VERB_WORDS`.
"""

from __future__ import annotations

from typing import Final, Literal

__all__ = [
    "ACTIVITY_TYPES",
    "BASE_IRI",
    "COURSE_TYPE",
    "HOME_PAGE",
    "SKILLS_EXTENSION",
    "VERBS",
    "VERB_WORDS",
    "VIDEO_TIME_EXTENSION",
    "ActivityKind",
    "VerbWord",
]

HOME_PAGE: Final = "https://sim.edupulse.dev"
BASE_IRI: Final = HOME_PAGE + "/courses"
SKILLS_EXTENSION: Final = "https://edupulse.dev/xapi/extensions/skills"
VIDEO_TIME_EXTENSION: Final = "https://w3id.org/xapi/video/extensions/time"

VerbWord = Literal[
    "answered",
    "attempted",
    "commented",
    "completed",
    "experienced",
    "failed",
    "initialized",
    "passed",
    "paused",
    "played",
    "posted",
    "seeked",
    "submitted",
    "terminated",
    "viewed",
]

_ADL: Final = "http://adlnet.gov/expapi/verbs/"
_VIDEO: Final = "https://w3id.org/xapi/video/verbs/"
_ACROSSX: Final = "https://w3id.org/xapi/acrossx/verbs/"

VERBS: Final[dict[VerbWord, str]] = {
    "answered": _ADL + "answered",
    "attempted": _ADL + "attempted",
    "commented": _ADL + "commented",
    "completed": _ADL + "completed",
    "experienced": _ADL + "experienced",
    "failed": _ADL + "failed",
    "initialized": _ADL + "initialized",
    "passed": _ADL + "passed",
    "terminated": _ADL + "terminated",
    "played": _VIDEO + "played",
    "paused": _VIDEO + "paused",
    "seeked": _VIDEO + "seeked",
    "viewed": "http://id.tincanapi.com/verb/viewed",
    "submitted": _ACROSSX + "submitted",
    "posted": _ACROSSX + "posted",
}

# Every word a simulated verb IRI may end in (the pipeline's contract, a superset of VERBS).
VERB_WORDS: Final = frozenset(VERBS) | {"launched"}

ActivityKind = Literal["video", "reading", "quiz", "question", "assignment", "exam", "forum", "module"]

_ADL_ACTIVITY: Final = "http://adlnet.gov/expapi/activities/"
COURSE_TYPE: Final = _ADL_ACTIVITY + "course"

ACTIVITY_TYPES: Final[dict[ActivityKind, str]] = {
    "video": "https://w3id.org/xapi/video/activity-type/video",
    "reading": _ADL_ACTIVITY + "lesson",
    "quiz": _ADL_ACTIVITY + "assessment",
    "question": _ADL_ACTIVITY + "question",
    "assignment": _ADL_ACTIVITY + "assessment",
    "exam": _ADL_ACTIVITY + "assessment",
    "forum": _ADL_ACTIVITY + "media",
    "module": _ADL_ACTIVITY + "module",
}
