"""Moodle's standard log (``logstore_standard_log`` rows) as canonical events (mapping ``moodle-1``).

A row names the event class (``eventname``, as ``\\mod_quiz\\event\\attempt_submitted``),
who did it (``userid``), to whom (``relateduserid``), where (``courseid``, the context
``contextlevel``/``contextinstanceid``), when (``timecreated``, unix seconds UTC) and
event-specific data (``other``: JSON, or PHP-serialized on older sites). Mapped:

- the learner: ``relateduserid`` for the events one user does to another (grading,
  enrolment, completion, a quiz attempt submitted for a student), else ``userid``, as
  ``moodle-user:ID``. Rows of no user (``userid`` 0, guests, the CLI) and anonymous
  rows (``anonymous`` 1: anonymous forum posts, feedback) are skipped, not bad;
- the verb: ``eventname`` through ``VERBS``, else by its last word (``*_viewed`` is
  ``viewed``...), else ``other`` — an unknown event is not an error;
- the course: ``moodle-course:ID`` (none for the site and system contexts);
- the object: the course module (``moodle-cm:ID``) for events in a module's context,
  the grade item for grades, the course for course events, else ``objecttable:objectid``;
- ``user_graded``: the final grade and the grade item go to ``extensions`` (the log
  does not hold the maximum grade, so there is no 0..1 score); completion updates
  carry ``completionstate`` as completion and success.

The event id is a UUID of the row's ``id``, ``eventname``, ``userid`` and ``timecreated``
(of the whole row when there is no ``id``), so importing an export again stores nothing twice.
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Mapping
from typing import Any

from edupulse.errors import InvalidEventError
from edupulse.events.model import ExtensionValue, LearningEvent, Result
from edupulse.events.php import unserialize
from edupulse.events.vocabulary import Verb

__all__ = ["COLUMNS", "MAPPING_VERSION", "REQUIRED", "VERBS", "learner_id", "map_row"]

MAPPING_VERSION = "moodle-1"
SOURCE_FORMAT = "moodle"
_NAMESPACE = uuid.UUID("7a41c0de-3b5e-4f21-8d6a-2c9e1f0b7d53")

# The columns of logstore_standard_log, in table order.
COLUMNS = (
    *("id", "eventname", "component", "action", "target", "objecttable", "objectid", "crud", "edulevel"),
    *("contextid", "contextlevel", "contextinstanceid", "userid", "courseid", "relateduserid", "anonymous"),
    *("other", "timecreated", "origin", "ip", "realuserid"),
)
REQUIRED = ("eventname", "userid", "timecreated")

_CONTEXT_COURSE, _CONTEXT_MODULE = "50", "70"
_SITE_COURSES = frozenset({"0", "1"})  # no course, and the site's front page

VERBS: Mapping[str, Verb] = {
    "\\core\\event\\course_viewed": Verb.ACCESSED,
    "\\core\\event\\user_loggedin": Verb.LOGGED_IN,
    "\\core\\event\\user_loggedout": Verb.LOGGED_OUT,
    "\\core\\event\\user_enrolment_created": Verb.ENROLLED,
    "\\core\\event\\user_enrolment_deleted": Verb.UNENROLLED,
    "\\core\\event\\user_graded": Verb.GRADED,
    "\\core\\event\\course_module_completion_updated": Verb.COMPLETED,
    "\\core\\event\\course_completed": Verb.COMPLETED,
    "\\mod_quiz\\event\\attempt_started": Verb.STARTED,
    "\\mod_quiz\\event\\attempt_submitted": Verb.SUBMITTED,
    "\\mod_quiz\\event\\attempt_abandoned": Verb.EXITED,
    "\\mod_assign\\event\\assessable_submitted": Verb.SUBMITTED,
    "\\mod_assign\\event\\submission_graded": Verb.GRADED,
    "\\mod_forum\\event\\discussion_created": Verb.POSTED,
    "\\mod_forum\\event\\post_created": Verb.POSTED,
    "\\mod_lesson\\event\\lesson_started": Verb.STARTED,
    "\\mod_lesson\\event\\lesson_resumed": Verb.RESUMED,
    "\\mod_lesson\\event\\lesson_ended": Verb.COMPLETED,
    "\\mod_lesson\\event\\question_answered": Verb.ANSWERED,
    "\\mod_scorm\\event\\sco_launched": Verb.LAUNCHED,
    "\\mod_scorm\\event\\scoreraw_submitted": Verb.SCORED,
    "\\mod_scorm\\event\\status_submitted": Verb.PROGRESSED,
    "\\mod_h5pactivity\\event\\statement_received": Verb.ANSWERED,
}
# By the event's last word, for the events not named above (``\mod_book\event\chapter_viewed``).
_SUFFIXES: tuple[tuple[str, Verb], ...] = (
    ("_viewed", Verb.VIEWED),
    ("_submitted", Verb.SUBMITTED),
    ("_started", Verb.STARTED),
    ("_graded", Verb.GRADED),
    ("_searched", Verb.SEARCHED),
)
# Events one user does to another: the learner is relateduserid.
_ABOUT_RELATED_USER = frozenset(
    {
        "\\core\\event\\user_graded",
        "\\core\\event\\user_enrolment_created",
        "\\core\\event\\user_enrolment_deleted",
        "\\core\\event\\course_module_completion_updated",
        "\\core\\event\\course_completed",
        "\\mod_quiz\\event\\attempt_started",
        "\\mod_quiz\\event\\attempt_submitted",
        "\\mod_quiz\\event\\attempt_abandoned",
        "\\mod_assign\\event\\submission_graded",
    }
)
# SCORM's cmi.core.lesson_status / cmi.completion_status values.
_SCORM_STATUS = {"passed": Verb.PASSED, "failed": Verb.FAILED, "completed": Verb.COMPLETED}


def map_row(row: Mapping[str, str | None], *, payload: bytes, tenant: str) -> LearningEvent | None:
    """The canonical event of one log row (None for rows of no learner); InvalidEventError if bad."""
    name = _required(row, "eventname")
    if not name.startswith("\\"):
        raise InvalidEventError(f"eventname {name[:80]!r} is not a Moodle event class (\\component\\event\\name)")
    learner = _learner(name, row)
    if learner is None or row.get("anonymous") == "1":
        return None
    other = _other(row.get("other"))
    course = row.get("courseid")
    return LearningEvent(
        event_id=_event_id(row, payload),
        tenant=tenant,
        learner=learner,
        verb=_verb(name, other),
        object_id=_object(name, row, other),
        object_type=_object_type(name, row),
        course=f"moodle-course:{course}" if course and course not in _SITE_COURSES else None,
        skills=(),
        result=_result(name, other),
        event_time_us=_time(_required(row, "timecreated")),
        stored_time_us=_time(_required(row, "timecreated")),
        source_format=SOURCE_FORMAT,
        mapping_version=MAPPING_VERSION,
        payload=payload,
        extensions=_extensions(name, row, other),
    )


def _required(row: Mapping[str, str | None], column: str) -> str:
    value = row.get(column)
    if not value:
        raise InvalidEventError(f"{column} is empty")
    return value


def _learner(name: str, row: Mapping[str, str | None]) -> str | None:
    """The one place the learner's id is made (``moodle-user:ID``)."""
    user = row.get("relateduserid") if name in _ABOUT_RELATED_USER else None
    user = user or row.get("userid")
    if not user or user in ("0", "-1"):
        return None
    if not user.isdigit():
        raise InvalidEventError(f"user id {user[:40]!r} is not a number")
    return learner_id(user)


def learner_id(user: str) -> str:
    """The learner key of a Moodle user id (``moodle-user:ID``), as events and the roster spell it."""
    return f"moodle-user:{user}"


def _other(text: str | None) -> dict[str, Any]:
    """``other``: JSON (newer sites) or PHP-serialized (older ones); empty when null."""
    if not text or text in ("N;", "null"):
        return {}
    try:
        value = json.loads(text) if text[0] in "{[" else unserialize(text)
    except (ValueError, RecursionError) as exc:
        raise InvalidEventError(f"other is neither JSON nor PHP-serialized data ({exc})") from None
    return value if isinstance(value, dict) else {}


def _verb(name: str, other: Mapping[str, Any]) -> Verb:
    if name == "\\mod_scorm\\event\\status_submitted":
        return _SCORM_STATUS.get(str(other.get("cmivalue", "")).lower(), Verb.PROGRESSED)
    if name == "\\core\\event\\course_module_completion_updated" and _int(other.get("completionstate")) == 0:
        return Verb.PROGRESSED  # marked incomplete again
    verb = VERBS.get(name)
    if verb is not None:
        return verb
    for suffix, by_suffix in _SUFFIXES:
        if name.endswith(suffix):
            return by_suffix
    return Verb.OTHER


def _object(name: str, row: Mapping[str, str | None], other: Mapping[str, Any]) -> str:
    item = _int(other.get("itemid"))
    if name == "\\core\\event\\user_graded" and item is not None:
        return f"moodle-grade-item:{item}"
    level, instance = row.get("contextlevel"), row.get("contextinstanceid")
    if level == _CONTEXT_MODULE and instance:
        return f"moodle-cm:{instance}"
    course = row.get("courseid")
    if (level == _CONTEXT_COURSE or name.startswith("\\core\\event\\user_enrolment")) and course:
        return f"moodle-course:{course}"
    table, object_id = row.get("objecttable"), row.get("objectid")
    if table and object_id:
        return f"moodle-{table}:{object_id}"
    return name


def _object_type(name: str, row: Mapping[str, str | None]) -> str | None:
    component = name[1:].split("\\", 1)[0]
    if component.startswith("mod_"):
        return component[4:]  # quiz, assign, forum, resource...
    return row.get("target") or None


def _result(name: str, other: Mapping[str, Any]) -> Result | None:
    if name == "\\core\\event\\course_module_completion_updated":
        state = _int(other.get("completionstate"))
        if state is not None:
            success = {2: True, 3: False}.get(state)  # COMPLETION_COMPLETE_PASS / _FAIL
            return Result(completion=state > 0, success=success)
        return Result(completion=True)
    if name in ("\\core\\event\\course_completed", "\\mod_lesson\\event\\lesson_ended"):
        return Result(completion=True)
    return None


def _extensions(name: str, row: Mapping[str, str | None], other: Mapping[str, Any]) -> dict[str, ExtensionValue]:
    found: dict[str, ExtensionValue] = {"event_name": name}
    if row.get("edulevel"):
        found["edulevel"] = str(row["edulevel"])
    if name == "\\core\\event\\user_graded":
        grade = other.get("finalgrade")
        number = _number(grade)
        if number is not None:
            found["finalgrade"] = number  # else a scale's text or no grade: the payload keeps it
        if isinstance(other.get("overridden"), bool):
            found["overridden"] = other["overridden"]
    return found


def _int(value: object) -> int | None:
    """An integer, or the digits PHP writes for one read from the database (``"14"``)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    return None


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _event_id(row: Mapping[str, str | None], payload: bytes) -> str:
    if row.get("id"):
        key = "\x1f".join(str(row.get(c) or "") for c in ("id", "eventname", "userid", "timecreated"))
        return str(uuid.uuid5(_NAMESPACE, key))
    return str(uuid.uuid5(_NAMESPACE, payload.decode("utf-8", errors="replace")))


def _time(text: str) -> int:
    try:
        seconds = int(text)
    except ValueError:
        raise InvalidEventError(f"timecreated {text[:40]!r} is not unix seconds") from None
    if not 0 < seconds < 2**33:
        raise InvalidEventError(f"timecreated {seconds} is out of range (unix seconds, UTC)")
    return seconds * 1_000_000
