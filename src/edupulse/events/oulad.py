"""The OULAD mapping: rows of the Open University Learning Analytics Dataset as events.

Mapping version ``oulad-1``. The course is ``{code_module}_{code_presentation}`` and the
learner ``oulad:{id_student}``. OULAD dates count days from the start of a presentation;
each presentation gets a fixed calendar start at midnight UTC (``B``: 1 February of its
year, ``J``: 1 October), and day ``d`` is that start plus ``d`` days:

- ``studentRegistration``: ``date_registration`` becomes ``enrolled``,
  ``date_unregistration`` (when given) ``unenrolled``.
- ``studentInfo``: one ``other`` event of type ``learner-profile`` at day 0 carrying the
  module code and the demographics known when the presentation starts (never
  ``final_result``, the outcome).
- ``studentAssessment``: ``submitted`` at ``date_submitted``, the score scaled to 0..1,
  success when it reaches 40 (the OU pass mark), and the assessment's type, due time and
  weight from ``assessments``.
- ``studentVle``: ``accessed`` on the day, with the clicks and the site's activity type.

Every event carries ``course_start_us`` and ``course_day`` in its extensions, and the
original CSV row (as JSON, header names as keys) as its payload.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping

import msgspec

from edupulse.errors import InvalidEventError
from edupulse.events.model import ExtensionValue, LearningEvent, Result
from edupulse.events.vocabulary import Verb

__all__ = [
    "DAY_US",
    "MAPPING_VERSION",
    "PROFILE_FIELDS",
    "PROFILE_TYPE",
    "SOURCE_FORMAT",
    "TABLE_COLUMNS",
    "Assessment",
    "map_row",
    "presentation_start_us",
]

MAPPING_VERSION = "oulad-1"
SOURCE_FORMAT = "oulad"
PROFILE_TYPE = "learner-profile"
DAY_US = 86_400_000_000
PASS_MARK = 40.0
PROFILE_FIELDS = (
    "gender",
    "region",
    "highest_education",
    "imd_band",
    "age_band",
    "num_of_prev_attempts",
    "studied_credits",
    "disability",
)
_NUMERIC_PROFILE = frozenset({"num_of_prev_attempts", "studied_credits"})
TABLE_COLUMNS: dict[str, tuple[str, ...]] = {
    "studentInfo": ("code_module", "code_presentation", "id_student", *PROFILE_FIELDS, "final_result"),
    "studentRegistration": (
        "code_module",
        "code_presentation",
        "id_student",
        "date_registration",
        "date_unregistration",
    ),
    "studentAssessment": ("id_assessment", "id_student", "date_submitted", "is_banked", "score"),
    "studentVle": ("code_module", "code_presentation", "id_student", "id_site", "date", "sum_click"),
}
_MONTHS = {"B": 2, "J": 10}


class Assessment(msgspec.Struct, frozen=True):
    """A row of ``assessments.csv``: which course, what kind, due when, how much it weighs."""

    module: str
    presentation: str
    kind: str
    due_day: int | None
    weight: float


def presentation_start_us(presentation: str) -> int:
    """Midnight UTC of a presentation's day 0 (``2013B`` -> 2013-02-01)."""
    month = _MONTHS.get(presentation[-1:])
    if len(presentation) != 5 or month is None or not presentation[:4].isdigit():
        raise InvalidEventError(f"code_presentation {presentation!r} is not like 2013B or 2014J")
    seconds = calendar.timegm((int(presentation[:4]), month, 1, 0, 0, 0))
    return seconds * 1_000_000


class _Context(msgspec.Struct):
    tenant: str
    course: str
    start_us: int
    learner: str


def _context(tenant: str, module: str, presentation: str, student: str) -> _Context:
    if not module or not student.isdigit():
        raise InvalidEventError(f"code_module {module!r} / id_student {student!r} must be a name and a number")
    return _Context(tenant, f"{module}_{presentation}", presentation_start_us(presentation), f"oulad:{student}")


def _day(value: str, column: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise InvalidEventError(f"{column} {value!r} is not a whole number of days") from None


def _event(
    ctx: _Context,
    event_id: str,
    verb: Verb,
    object_id: str,
    object_type: str,
    *,
    day: int,
    result: Result | None = None,
    extra: Mapping[str, ExtensionValue] | None = None,
) -> LearningEvent:
    time_us = ctx.start_us + day * DAY_US
    extensions: dict[str, ExtensionValue] = {"course_start_us": ctx.start_us, "course_day": day}
    if extra:
        extensions.update(extra)
    return LearningEvent(
        event_id=event_id,
        tenant=ctx.tenant,
        learner=ctx.learner,
        verb=verb,
        object_id=object_id,
        object_type=object_type,
        course=ctx.course,
        skills=(),
        result=result,
        event_time_us=time_us,
        stored_time_us=time_us,
        source_format=SOURCE_FORMAT,
        mapping_version=MAPPING_VERSION,
        extensions=extensions,
    )


def _registration(row: Mapping[str, str], tenant: str) -> list[LearningEvent]:
    ctx = _context(tenant, row["code_module"], row["code_presentation"], row["id_student"])
    base = f"oulad:{ctx.course}:{row['id_student']}"
    events = []
    if row["date_registration"]:
        day = _day(row["date_registration"], "date_registration")
        events.append(_event(ctx, base + ":registered", Verb.ENROLLED, ctx.course, "course", day=day))
    if row["date_unregistration"]:
        day = _day(row["date_unregistration"], "date_unregistration")
        events.append(_event(ctx, base + ":unregistered", Verb.UNENROLLED, ctx.course, "course", day=day))
    return events


def _profile(row: Mapping[str, str], tenant: str) -> list[LearningEvent]:
    ctx = _context(tenant, row["code_module"], row["code_presentation"], row["id_student"])
    extra: dict[str, ExtensionValue] = {"code_module": row["code_module"]}
    for field in PROFILE_FIELDS:
        value = row[field]
        if field in _NUMERIC_PROFILE:
            extra[field] = _day(value, field)
        elif value and value != "?":
            extra[field] = value
    event_id = f"oulad:{ctx.course}:{row['id_student']}:profile"
    return [_event(ctx, event_id, Verb.OTHER, ctx.learner, PROFILE_TYPE, day=0, extra=extra)]


def _submission(row: Mapping[str, str], tenant: str, assessments: Mapping[str, Assessment]) -> list[LearningEvent]:
    found = assessments.get(row["id_assessment"])
    if found is None:
        raise InvalidEventError(f"id_assessment {row['id_assessment']!r} is not in assessments.csv")
    ctx = _context(tenant, found.module, found.presentation, row["id_student"])
    result = None
    if row["score"] and row["score"] != "?":
        try:
            score = float(row["score"])
        except ValueError:
            raise InvalidEventError(f"score {row['score']!r} is not a number") from None
        if not 0 <= score <= 100:
            raise InvalidEventError(f"score {score} is outside 0..100")
        result = Result(score=score / 100, success=score >= PASS_MARK)
    extra: dict[str, ExtensionValue] = {
        "assessment_type": found.kind,
        "weight": found.weight,
        "is_banked": row["is_banked"] in {"1", "True", "true"},
    }
    if found.due_day is not None:
        extra["due_us"] = ctx.start_us + found.due_day * DAY_US
    event_id = f"oulad:{ctx.course}:{row['id_student']}:assessment:{row['id_assessment']}"
    day = _day(row["date_submitted"], "date_submitted")
    object_id = f"oulad:assessment:{row['id_assessment']}"
    return [_event(ctx, event_id, Verb.SUBMITTED, object_id, "assessment", day=day, result=result, extra=extra)]


def _click(row: Mapping[str, str], tenant: str, sites: Mapping[str, str], line: int) -> list[LearningEvent]:
    ctx = _context(tenant, row["code_module"], row["code_presentation"], row["id_student"])
    day = _day(row["date"], "date")
    clicks = _day(row["sum_click"], "sum_click")
    extra: dict[str, ExtensionValue] = {"clicks": clicks, "activity_type": sites.get(row["id_site"], "unknown")}
    # Several rows may share learner, site and day: the line number keeps their ids apart.
    event_id = f"oulad:{ctx.course}:{row['id_student']}:vle:{row['id_site']}:{day}:{line}"
    object_id = f"oulad:site:{row['id_site']}"
    return [_event(ctx, event_id, Verb.ACCESSED, object_id, "vle-site", day=day, extra=extra)]


def map_row(
    table: str,
    row: Mapping[str, str],
    *,
    line: int,
    tenant: str,
    assessments: Mapping[str, Assessment],
    sites: Mapping[str, str],
) -> list[LearningEvent]:
    """The events of one row of an OULAD table; raises InvalidEventError naming the problem."""
    if table == "studentRegistration":
        return _registration(row, tenant)
    if table == "studentInfo":
        return _profile(row, tenant)
    if table == "studentAssessment":
        return _submission(row, tenant, assessments)
    if table == "studentVle":
        return _click(row, tenant, sites, line)
    raise InvalidEventError(f"{table} is not an OULAD table of events; expected one of {', '.join(TABLE_COLUMNS)}")
