"""Canvas live events in the canvas format as canonical events (mapping ``canvas-1``).

``{"metadata": {...}, "body": {...}}``: ``metadata`` names the event (``event_name``),
when (``event_time``), who (``user_id``) and where (``context_type``/``context_id``);
``body`` holds the event's own fields. The learner is ``metadata.user_id``, except for
events about a student that a teacher or an administrator may cause (grades,
submissions, enrollments), whose body names the student (``student_id``/``user_id``).
Events of no user (jobs) are skipped. The event id is a UUID of the line.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping
from typing import Any

from edupulse.errors import InvalidEventError
from edupulse.events.caliper_check import parse_time
from edupulse.events.canvas_ids import (
    MAPPING_VERSION,
    SOURCE_FORMAT,
    canvas_id,
    enrollment_verb,
    learner_id,
    object_kind,
)
from edupulse.events.model import ExtensionValue, LearningEvent, Result
from edupulse.events.vocabulary import Verb

__all__ = ["VERBS", "map_live_event"]

_NAMESPACE = uuid.UUID("c4a7b2e9-1d3f-4e6a-8b5c-0f2d9e7a1b36")

VERBS: Mapping[str, Verb] = {
    "asset_accessed": Verb.NAVIGATED,  # as Canvas's caliper form of it: a NavigationEvent
    "submission_created": Verb.SUBMITTED,
    "submission_updated": Verb.SUBMITTED,
    "plagiarism_resubmit": Verb.SUBMITTED,
    "grade_change": Verb.GRADED,
    "grade_override": Verb.GRADED,
    "quiz_submitted": Verb.SUBMITTED,
    "quizzes.quiz_session_submitted": Verb.SUBMITTED,
    "enrollment_created": Verb.ENROLLED,
    "enrollment_updated": Verb.ENROLLED,
    "logged_in": Verb.LOGGED_IN,
    "logged_out": Verb.LOGGED_OUT,
    "discussion_entry_created": Verb.POSTED,
    "discussion_entry_submitted": Verb.POSTED,
    "discussion_topic_created": Verb.POSTED,
    "wiki_page_created": Verb.INTERACTED,
    "wiki_page_updated": Verb.INTERACTED,
    "wiki_page_deleted": Verb.INTERACTED,
    "course_progress": Verb.PROGRESSED,
    "course_completed": Verb.COMPLETED,
    "conversation_message_created": Verb.POSTED,
}
# Events about a student that someone else (a teacher, an admin) may cause: the learner is in the body.
_BODY_LEARNER = ("student_id", "user_id")
# The body field naming each event's object, and the object's kind (as in Canvas's Caliper ids).
_OBJECTS: Mapping[str, tuple[str, str]] = {
    "submission_created": ("assignment_id", "assignment"),
    "submission_updated": ("assignment_id", "assignment"),
    "plagiarism_resubmit": ("assignment_id", "assignment"),
    "grade_change": ("assignment_id", "assignment"),
    "grade_override": ("assignment_id", "assignment"),
    "quiz_submitted": ("quiz_id", "quiz"),
    "discussion_entry_created": ("discussion_topic_id", "discussion"),
    "discussion_entry_submitted": ("discussion_topic_id", "discussion"),
    "discussion_topic_created": ("discussion_topic_id", "discussion"),
    "wiki_page_created": ("wiki_page_id", "wiki_page"),
    "wiki_page_updated": ("wiki_page_id", "wiki_page"),
    "wiki_page_deleted": ("wiki_page_id", "wiki_page"),
    "enrollment_created": ("course_id", "course"),
    "enrollment_updated": ("course_id", "course"),
}


def map_live_event(raw: dict[str, Any], text: str, *, tenant: str) -> list[LearningEvent]:
    """The canonical event of a canvas-format live event (none if it is no user's)."""
    metadata, body = raw.get("metadata"), raw.get("body")
    if not isinstance(metadata, dict) or not isinstance(body, dict):
        raise InvalidEventError("metadata and body must be JSON objects")
    name = metadata.get("event_name")
    if not isinstance(name, str) or not name:
        raise InvalidEventError("no metadata.event_name")
    moment = parse_time(metadata.get("event_time"))
    if moment is None:
        raise InvalidEventError("metadata.event_time must be an ISO 8601 time with a time zone")
    learner = _learner(name, metadata, body)
    if learner is None:
        return []
    object_id = _object(name, metadata, body)
    return [
        LearningEvent(
            event_id=str(uuid.uuid5(_NAMESPACE, text.strip())),
            tenant=tenant,
            learner=learner,
            verb=_verb(name, body),
            object_id=object_id,
            object_type=object_kind(object_id),
            course=_course(metadata, body),
            skills=(),
            result=_result(name, body),
            event_time_us=moment,
            stored_time_us=moment,
            source_format=SOURCE_FORMAT,
            mapping_version=MAPPING_VERSION,
            payload=text.strip().encode(),
            extensions=_extensions(name, body),
        )
    ]


def _learner(name: str, metadata: Mapping[str, Any], body: Mapping[str, Any]) -> str | None:
    if name in _OBJECTS or name.startswith(("grade_", "submission_", "enrollment_")):
        for key in _BODY_LEARNER:
            found = learner_id(body.get(key))
            if found:
                return found
    return learner_id(metadata.get("user_id"))


def _verb(name: str, body: Mapping[str, Any]) -> Verb:
    if name == "enrollment_updated":
        return enrollment_verb(body.get("workflow_state"))
    if name == "submission_updated" and body.get("workflow_state") not in ("submitted", "pending_review", None):
        return Verb.OTHER  # graded or unsubmitted: the grade has its own event
    if name.startswith("discussion_entry_") and body.get("parent_discussion_entry_id"):
        return Verb.COMMENTED  # a reply to an entry
    return VERBS.get(name, Verb.OTHER)


def _object(name: str, metadata: Mapping[str, Any], body: Mapping[str, Any]) -> str:
    if name == "asset_accessed":
        asset = canvas_id(body.get("asset_id"), str(body.get("asset_type") or "asset"))
        if asset:
            return asset  # a list of its items (a course's quizzes) is in the extensions
    if name in ("logged_in", "logged_out"):
        account = canvas_id(metadata.get("root_account_id"), "account")
        if account:
            return account
    field = _OBJECTS.get(name)
    if field is not None:
        found = canvas_id(body.get(field[0]), field[1])
        if found:
            return found
    kind = metadata.get("context_type")
    context = canvas_id(metadata.get("context_id"), kind.lower() if isinstance(kind, str) else "context")
    return context or f"canvas-event:{name}"


def _extensions(name: str, body: Mapping[str, Any]) -> dict[str, ExtensionValue]:
    found: dict[str, ExtensionValue] = {"event_name": name}
    for key in ("asset_subtype", "role", "type"):
        value = body.get(key)
        if isinstance(value, str) and value:
            found[key] = value
    return found


def _course(metadata: Mapping[str, Any], body: Mapping[str, Any]) -> str | None:
    if metadata.get("context_type") == "Course":
        found = canvas_id(metadata.get("context_id"), "course")
        if found:
            return found
    return canvas_id(body.get("course_id"), "course")


def _number(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _result(name: str, body: Mapping[str, Any]) -> Result | None:
    if name not in ("grade_change", "grade_override"):
        return None
    score, most = _number(body.get("score")), _number(body.get("points_possible"))
    if score is None or most is None or not math.isfinite(score) or not (0 < most < math.inf):
        return None
    return Result(score=score / most)
