"""Canvas live events in the caliper format as canonical events (mapping ``canvas-1``).

A line holds a Caliper 1.1 envelope (``sensor``, ``sendTime``, ``dataVersion``,
``data``: Canvas sends one event per envelope) or a bare event. Each event is checked
and mapped by ``events.caliper`` (the validation and mapping of POST /caliper), with
what Canvas does its own way:

- Canvas types objects it has no Caliper type for as ``Entity`` (an enrollment, a
  course's list of files) and makes a submission (an ``Attempt``) the object of an
  ``AssignableEvent``; an entity of a type the event does not allow there is checked
  as a reference (its id must be an IRI). ``extensions`` (``com.instructure.canvas``)
  are accepted as any JSON-LD extension;
- the object of an event on an ``Attempt`` (a submission, a grade) is the assignment
  it answers, on a ``Message`` (a discussion entry) its thread, of an enrollment its
  course, and a course section's events are its course's, as in the canvas format;
- the learner of a ``GradeEvent`` is the graded attempt's ``assignee`` (the actor is the
  grader), and of an enrollment (a generic ``Event`` on ``urn:instructure:canvas:enrollment:…``)
  the enrolled user its extension names; the verb of an enrollment follows its
  ``workflow_state``;
- an event whose only candidate learner is an actor that is not a ``Person`` (Canvas
  itself, a ``SoftwareApplication``, serving a file) is no learner's: skipped, not bad;
- ids become ``canvas-KIND:ID`` as in the canvas format (``events.canvas_ids``).

The event id is the Caliper event's own ``urn:uuid:``.
"""

from __future__ import annotations

import copy
from typing import Any

import msgspec

from edupulse.errors import InvalidEventError
from edupulse.events import caliper
from edupulse.events.caliper_check import parse_time
from edupulse.events.caliper_terms import CONTEXTS, EVENTS, is_a
from edupulse.events.canvas_ids import (
    MAPPING_VERSION,
    SOURCE_FORMAT,
    canvas_id,
    enrollment_verb,
    learner_id,
    object_kind,
)
from edupulse.events.model import LearningEvent
from edupulse.events.vocabulary import Verb

__all__ = ["MAX_ITEMS", "map_caliper"]

MAX_ITEMS = 100
_V1P1 = "http://purl.imsglobal.org/ctx/caliper/v1p1"
_EXTENSION = "com.instructure.canvas"
_ENROLLMENT = "urn:instructure:canvas:enrollment:"
_encode = msgspec.json.Encoder().encode


def map_caliper(raw: dict[str, Any], text: str, *, tenant: str) -> list[LearningEvent]:
    """The canonical events of a Caliper envelope or event from Canvas; InvalidEventError if one is bad."""
    envelope = raw if "data" in raw else _wrap(raw)
    data = envelope.get("data")
    checked = dict(envelope, data=[_lenient(item) for item in data]) if isinstance(data, list) else envelope
    try:
        items = list(caliper.decode_envelope(_encode(checked), max_items=MAX_ITEMS))
    except (TypeError, OverflowError) as exc:  # not encodable back: a number out of range
        raise InvalidEventError(f"the event holds a value out of range: {exc}") from None
    events = []
    for item in items:
        if isinstance(item.item, InvalidEventError):
            where = f" in a bare event (read as {item.path})" if envelope is not raw else ""
            raise InvalidEventError(f"{item.item}{where}")
        if item.is_event:
            event = _event(data[item.index], text, tenant=tenant)  # type: ignore[index]
            events.extend([event] if event is not None else [])
    return events


def _wrap(event: dict[str, Any]) -> dict[str, Any]:
    """A bare event as the one item of an envelope of its own Caliper version."""
    context = event.get("@context")
    version = context if isinstance(context, str) and context in CONTEXTS else _V1P1
    edapp = event.get("edApp")
    sensor = edapp.get("id") if isinstance(edapp, dict) else edapp
    sent = event.get("eventTime") if parse_time(event.get("eventTime")) is not None else "1970-01-01T00:00:00.000Z"
    return {
        "sensor": sensor if isinstance(sensor, str) and sensor else "urn:instructure:canvas",
        "sendTime": sent,
        "dataVersion": version,
        "data": [event],
    }


def _lenient(item: object) -> object:
    """For checking: an entity of a type Caliper does not allow there counts as its id (a reference)."""
    if not isinstance(item, dict) or not isinstance(item.get("type"), str) or item["type"] not in EVENTS:
        return item
    fixed = None
    for key, expected in EVENTS[item["type"]].types.items():
        value = item.get(key)
        if isinstance(value, dict) and isinstance(value.get("id"), str):
            kind = value.get("type")
            if not isinstance(kind, str) or not any(is_a(kind, t) for t in expected):
                fixed = fixed or copy.copy(item)
                fixed[key] = value["id"]
    return fixed or item


def _event(item: dict[str, Any], text: str, *, tenant: str) -> LearningEvent | None:
    learner = _learner(item)
    if learner is None:
        return None  # an event of no learner: Canvas's own (a SoftwareApplication actor)
    object_id = _object(item)
    event = caliper.to_event(item, text.strip().encode(), tenant=tenant, stored_us=0)
    return msgspec.structs.replace(
        event,
        learner=learner,
        verb=_verb(item, event.verb),
        object_id=object_id,
        object_type=object_kind(object_id) or event.object_type,
        course=_course(item, event.course),
        stored_time_us=event.event_time_us,
        source_format=SOURCE_FORMAT,
        mapping_version=MAPPING_VERSION,
    )


def _object(item: dict[str, Any]) -> str:
    """The object's id; the assignment an Attempt answers, the thread a Message is part of, as in the canvas format."""
    obj = item["object"]
    course = canvas_id(_enrollment(item).get("course_id"))
    if course:
        return course  # an enrollment's object is its course, as in the canvas format
    if isinstance(obj, dict) and obj.get("type") in ("Attempt", "Message"):
        container = canvas_id(_id(obj.get("assignable") or obj.get("isPartOf")))
        if container:
            return container
    return canvas_id(_id(obj)) or ""


def _course(item: dict[str, Any], course: str | None) -> str | None:
    """The course (an enrollment's own, else the event's), never one of its sections."""
    found = canvas_id(_enrollment(item).get("course_id")) or canvas_id(course)
    return found.split(":section:", 1)[0] if found else None


def _id(value: object) -> str | None:
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, str) else None


def _enrollment(item: dict[str, Any]) -> dict[str, Any]:
    """The Canvas extension of an enrollment object, else an empty dict."""
    obj = item["object"]
    if not isinstance(obj, dict) or not str(obj.get("id", "")).startswith(_ENROLLMENT):
        return {}
    extensions = obj.get("extensions")
    found = extensions.get(_EXTENSION) if isinstance(extensions, dict) else None
    return found if isinstance(found, dict) else {}


def _learner(item: dict[str, Any]) -> str | None:
    """The learner; None when the only candidate is an actor that is not a person (Canvas itself)."""
    if item["type"] == "GradeEvent" and isinstance(item["object"], dict):
        assignee = _id(item["object"].get("assignee"))
        if assignee:
            return learner_id(assignee)
    enrolled = learner_id(_enrollment(item).get("user_id"))
    if enrolled:
        return enrolled
    who, actor = caliper.learner_of(item), item["actor"]
    if isinstance(actor, dict) and who == actor.get("id") and not is_a(str(actor.get("type")), "Person"):
        return None
    return learner_id(who)


def _verb(item: dict[str, Any], verb: Verb) -> Verb:
    enrollment = _enrollment(item)
    if enrollment and item["action"] in ("Created", "Modified"):
        return enrollment_verb(enrollment.get("workflow_state"))
    return verb
