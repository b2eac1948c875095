"""Open edX tracking-log events as canonical events (mapping ``edx-1``).

A tracking log holds one JSON event per line, as the LMS's tracking logger writes it,
sometimes behind a syslog prefix (``Mar  2 10:00:01 host tracking: {...}``). Fields used:

- the learner: ``context.user_id`` (the LMS's numeric id), else ``event.user_id``
  (enrollment events are emitted by management commands as ``anonymous``), else the
  ``username``; an event with none of them (system events such as course reindexing,
  anonymous page views) is no learner's activity and is skipped;
- the verb: ``event_type`` (or ``name``) through ``VERBS`` and ``PREFIXES``; a browser page
  view, whose event type is the page's path or URL, is ``accessed``;
- the course: ``context.course_id``, else ``event.course_id``;
- the object: the problem, video or forum item the event is about, else the page;
- ``problem_check`` from the server carries the grade: score ``grade / max_grade``,
  success ``event.success == "correct"``. The browser's own ``problem_check`` (the
  form data, before grading) is skipped: the server event is the record of the attempt.

Events that are not learning activity (account settings, e-mail opt-ins) are skipped
without being an error. The event id is a UUID of the line's bytes, so importing a file
again stores nothing twice; the line itself is the payload.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec

from edupulse.errors import InvalidEventError
from edupulse.events.model import LearningEvent, Result
from edupulse.events.vocabulary import Verb

__all__ = ["MAPPING_VERSION", "map_line"]

MAPPING_VERSION = "edx-1"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NAMESPACE = uuid.UUID("5d3c2a8e-0b7f-4e1a-9c41-6f0e2b7d9a10")

VERBS: Mapping[str, Verb | None] = {
    "edx.course.enrollment.activated": Verb.ENROLLED,
    "edx.course.enrollment.deactivated": Verb.UNENROLLED,
    "edx.course.enrollment.mode_changed": None,
    "problem_check": Verb.ANSWERED,
    "problem_graded": None,  # the browser's echo of problem_check
    "problem_save": Verb.INTERACTED,
    "problem_reset": Verb.INTERACTED,
    "problem_show": Verb.VIEWED,
    "showanswer": Verb.VIEWED,
    "edx.problem.hint.demandhint_displayed": Verb.VIEWED,
    "edx.problem.hint.feedback_displayed": Verb.VIEWED,
    "edx.course_discovery.search.initiated": Verb.SEARCHED,
    "edx.course_discovery.search.results_displayed": None,
    "book": Verb.VIEWED,  # the textbook viewer
    "load_video": Verb.INITIALIZED,
    "play_video": Verb.PLAYED,
    "pause_video": Verb.PAUSED,
    "seek_video": Verb.SEEKED,
    "stop_video": Verb.COMPLETED,
    "speed_change_video": Verb.INTERACTED,
    "show_transcript": Verb.INTERACTED,
    "hide_transcript": Verb.INTERACTED,
    "seq_goto": Verb.NAVIGATED,
    "seq_next": Verb.NAVIGATED,
    "seq_prev": Verb.NAVIGATED,
    "page_close": Verb.EXITED,
    "edx.forum.thread.created": Verb.POSTED,
    "edx.forum.response.created": Verb.POSTED,
    "edx.forum.comment.created": Verb.COMMENTED,
    "edx.forum.searched": Verb.SEARCHED,
    "edx.user.settings.changed": None,
    "edx.bi.user.org_email.opted_in": None,
    "edx.bi.user.org_email.opted_out": None,
}
PREFIXES: tuple[tuple[str, Verb], ...] = (
    ("edx.forum.", Verb.INTERACTED),  # votes, follows, flags, edits
    ("edx.video.", Verb.INTERACTED),
    ("edx.ui.lms.", Verb.NAVIGATED),
    ("edx.grades.", Verb.GRADED),
    ("edx.course.student_notes.", Verb.INTERACTED),
    ("edx.bookmark.", Verb.INTERACTED),
    ("edx.drag_and_drop_v2.", Verb.INTERACTED),
)
_SKIP = object()


def map_line(text: str, *, line: int, tenant: str) -> list[LearningEvent]:
    """The canonical events of one tracking-log line (none for events that are skipped)."""
    start = text.find("{")
    if start < 0:
        raise InvalidEventError("no JSON object on the line (a tracking event is one JSON object per line)")
    try:
        raw = msgspec.json.decode(text[start:].encode())
    except msgspec.DecodeError as exc:
        raise InvalidEventError(f"not valid JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise InvalidEventError("the line's JSON is not an object")
    event_type = _text(raw.get("event_type")) or _text(raw.get("name"))
    if not event_type:
        raise InvalidEventError("no event_type (nor name)")
    data = _event_data(raw.get("event"))
    verb = _verb(event_type, raw.get("event_source"))
    if verb is _SKIP:
        return []
    assert isinstance(verb, Verb)  # noqa: S101 - _verb returns a Verb or the skip marker
    context: dict[str, Any] = raw["context"] if isinstance(raw.get("context"), dict) else {}
    learner = _learner(raw, context, data)
    if learner is None:
        return []
    course = _text(context.get("course_id")) or _text(data.get("course_id")) or None
    return [
        LearningEvent(
            event_id=str(uuid.uuid5(_NAMESPACE, text[start:])),
            tenant=tenant,
            learner=learner,
            verb=verb,
            object_id=_object(event_type, data, raw, course),
            object_type=_object_type(event_type),
            course=course,
            skills=(),
            result=_result(event_type, data),
            event_time_us=_time(raw.get("time")),
            stored_time_us=_time(raw.get("time")),
            source_format="edx",
            mapping_version=MAPPING_VERSION,
            payload=text[start:].encode(),
        )
    ]


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _event_data(value: Any) -> dict[str, Any]:
    """``event`` is an object, or (browser events) a JSON string of one, or a query string."""
    if isinstance(value, dict):
        return value
    if isinstance(value, str) and value.startswith("{"):
        try:
            decoded = msgspec.json.decode(value.encode())
        except msgspec.DecodeError:
            return {}
        return decoded if isinstance(decoded, dict) else {}
    return {}


def _verb(event_type: str, source: Any) -> Verb | object:
    if event_type.startswith(("/", "http://", "https://")):
        return Verb.ACCESSED  # a browser page view: the event type is the page
    if event_type == "problem_check" and source == "browser":
        return _SKIP
    if event_type in VERBS:
        verb = VERBS[event_type]
        return _SKIP if verb is None else verb
    for prefix, verb in PREFIXES:
        if event_type.startswith(prefix):
            return verb
    return Verb.OTHER


def _learner(raw: Mapping[str, Any], context: Mapping[str, Any], data: Mapping[str, Any]) -> str | None:
    for user_id in (context.get("user_id"), data.get("user_id")):
        if isinstance(user_id, int) and not isinstance(user_id, bool):
            return f"edx-user:{user_id}"
    username = _text(raw.get("username"))
    if username and username != "anonymous":
        return f"edx-username:{username}"
    return None


def _object(event_type: str, data: Mapping[str, Any], raw: Mapping[str, Any], course: str | None) -> str:
    if event_type.startswith("edx.course.enrollment") and course:
        return course
    for key in ("problem_id", "id", "discussion", "commentable_id", "target_url"):
        value = data.get(key)
        if isinstance(value, str) and value:
            return value
        if isinstance(value, dict) and isinstance(value.get("id"), str):
            return str(value["id"])
    return _text(raw.get("page")) or event_type


def _object_type(event_type: str) -> str | None:
    if "video" in event_type or event_type.endswith("_transcript"):
        return "video"
    if event_type.startswith(("problem", "edx.problem", "showanswer")):
        return "problem"
    if event_type.startswith("edx.forum."):
        return "forum"
    if event_type.startswith("edx.course.enrollment"):
        return "course"
    return None


def _result(event_type: str, data: Mapping[str, Any]) -> Result | None:
    if event_type != "problem_check":
        return None
    grade, most = data.get("grade"), data.get("max_grade")
    score = None
    if isinstance(grade, int | float) and isinstance(most, int | float) and most > 0:
        score = float(grade) / float(most)
    success = data.get("success")
    return Result(score=score, success=None if not isinstance(success, str) else success == "correct")


def _time(value: Any) -> int:
    if not isinstance(value, str) or not value:
        raise InvalidEventError("no time")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidEventError(f"time {value!r} is not an ISO 8601 timestamp") from None
    if moment.tzinfo is None:
        raise InvalidEventError(f"time {value!r} has no time zone")
    return (moment - _EPOCH) // timedelta(microseconds=1)
