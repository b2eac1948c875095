"""IMS Caliper 1.1 and 1.2 envelopes: decoding, validation, and the mapping to LearningEvent.

An envelope (``sensor``, ``sendTime``, ``dataVersion``, ``data``) is decoded by msgspec;
each item of ``data`` is kept as the bytes it was sent as (its payload) and checked by
``caliper_check``. Items whose type is an entity type are entity "describes": valid,
but not learning events. Events map to canonical events with mapping version
``caliper-2``; problems name their place in the envelope, as ``$.data[2].action``.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Iterator
from typing import Any

import msgspec

from edupulse.errors import InvalidEventError
from edupulse.events.caliper_check import check_item, is_event, is_iri, parse_time, problem, shown
from edupulse.events.caliper_terms import ACTION_VERBS, CONTEXTS, Version, is_a
from edupulse.events.model import LearningEvent, Result
from edupulse.events.vocabulary import Verb
from edupulse.events.xapi import parse_duration

__all__ = [
    "MAPPING_VERSION",
    "CaliperItem",
    "Envelope",
    "UnsupportedDataVersion",
    "decode_envelope",
    "digest",
    "event_uuid",
    "to_event",
]

MAPPING_VERSION = "caliper-2"  # 2: a GradeEvent by a person is about the attempt's assignee
SOURCE_FORMAT = "caliper"

# Where the action alone says too little: an item "Completed" is an answer (an attempt).
_TYPE_ACTION_VERBS: dict[tuple[str, str], Verb] = {
    ("AssessmentItemEvent", "Completed"): Verb.ANSWERED,
    ("QuestionnaireItemEvent", "Completed"): Verb.ANSWERED,
}
_COMPLETING = frozenset({"Completed", "Submitted", "Ended"})
_COURSE_TYPES = ("CourseOffering",)
_OTHER_VERSION = re.compile(r"^https?://purl\.imsglobal\.org/ctx/caliper/v\d+p\d+$")


class UnsupportedDataVersion(InvalidEventError):
    """A well-formed ``dataVersion`` of a Caliper version edupulse does not read (HTTP 422)."""


class Envelope(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    """The Sensor API envelope; ``data`` items stay raw until each is checked."""

    sensor: str
    send_time: str = msgspec.field(name="sendTime")
    data_version: str = msgspec.field(name="dataVersion")
    data: list[msgspec.Raw]


class CaliperItem(msgspec.Struct, frozen=True, gc=False):
    """One item of an envelope's data: where it is, its bytes, and it or its error."""

    index: int
    path: str
    raw: bytes
    item: dict[str, Any] | InvalidEventError
    version: Version

    @property
    def is_event(self) -> bool:
        return isinstance(self.item, dict) and is_event(self.item)


_decode_envelope = msgspec.json.Decoder(Envelope).decode
_decode_any = msgspec.json.Decoder().decode
_encode_canonical = msgspec.json.Encoder(order="deterministic").encode


def decode_envelope(body: bytes, *, max_items: int) -> Iterator[CaliperItem]:
    """Each item of an envelope, checked; an envelope-level problem raises InvalidEventError."""
    envelope = _envelope(body)
    version = _check_envelope(envelope, max_items)
    for i, raw in enumerate(envelope.data):
        path = f"$.data[{i}]"
        data = bytes(raw)
        try:
            value = _decode_item(data, path)
            check_item(value, version, path)
        except InvalidEventError as exc:
            yield CaliperItem(i, path, data, exc, version)
            continue
        yield CaliperItem(i, path, data, value, version)


def _decode_item(data: bytes, path: str) -> Any:
    try:
        return _decode_any(data)
    except msgspec.ValidationError as exc:  # a number beyond a float's range
        reason = str(exc).partition(" - at")[0]
        raise problem(path, f"the item holds a value out of range: {reason}") from exc
    except RecursionError as exc:
        raise problem(path, "the item is nested too deeply") from exc


def _envelope(body: bytes) -> Envelope:
    try:
        return _decode_envelope(body)
    except msgspec.ValidationError as exc:
        message, _, where = str(exc).partition(" - at `")
        path = where.rstrip("`") if where else "$"
        hint = " (send a Caliper envelope: sensor, sendTime, dataVersion, data)" if path == "$" else ""
        raise InvalidEventError(f"{message} at {path}{hint}", path=path) from exc
    except msgspec.DecodeError as exc:
        raise InvalidEventError(f"the body is not valid JSON: {exc}", path="$") from exc
    except RecursionError as exc:
        raise InvalidEventError("the body is nested too deeply to be a Caliper envelope", path="$") from exc


def _check_envelope(envelope: Envelope, max_items: int) -> Version:
    if not envelope.sensor.strip():
        raise problem("$.sensor", "sensor must identify the sensor (an IRI), got an empty string")
    if parse_time(envelope.send_time) is None:
        message = "sendTime must be an ISO 8601 date-time in UTC like 2016-11-15T10:15:00.000Z"
        raise problem("$.sendTime", f"{message}, got {shown(envelope.send_time)}")
    version = CONTEXTS.get(envelope.data_version)
    if version is None:
        known = " or ".join(CONTEXTS)
        message = f"dataVersion must be {known}, got {shown(envelope.data_version)}"
        if _OTHER_VERSION.match(envelope.data_version):
            raise UnsupportedDataVersion(f"{message}: this endpoint supports Caliper 1.1 and 1.2", path="$.dataVersion")
        raise problem("$.dataVersion", message)
    if not envelope.data:
        raise problem("$.data", "data is empty; send at least one event or entity")
    if len(envelope.data) > max_items:
        raise problem("$.data", f"an envelope holds at most {max_items} items, got {len(envelope.data)}; split it")
    return version


def event_uuid(item: dict[str, Any]) -> str:
    """The canonical text of a checked event's ``urn:uuid:`` id (lower case)."""
    return str(uuid.UUID(item["id"][9:]))


def digest(item: dict[str, Any]) -> bytes:
    """16 bytes of SHA-256 of the decoded event as compact JSON with sorted keys.

    Key order, white space and JSON spelling (``1.0``/``1e0``, escapes) do not count;
    any other change of content does. Digests are kept for good: this form is frozen.
    """
    return hashlib.sha256(_encode_canonical(item)).digest()[:16]


def _id(value: object) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get("id"), str):
        return str(value["id"])
    return None


def _type(value: object) -> str | None:
    return str(value["type"]) if isinstance(value, dict) and isinstance(value.get("type"), str) else None


def learner_of(item: dict[str, Any]) -> str:
    """Whom the event is about: the actor if a Person (or a thinned IRI), else the learner the object names.

    A GradeEvent's actor is the grader: the learner is the graded Attempt's assignee;
    a SessionEvent timed out by a SoftwareApplication is about the Session's user.
    """
    actor, obj = item["actor"], item["object"]
    if item.get("type") == "GradeEvent" and isinstance(obj, dict):
        graded = _id(obj.get("assignee"))  # whoever grades (a teacher, an autograder), the attempt is the learner's
        if graded:
            return graded
    if isinstance(actor, str) or is_a(_type(actor) or "", "Person"):
        return _id(actor) or ""
    if isinstance(obj, dict):
        for key in ("assignee", "user", "member"):
            found = _id(obj.get(key))
            if found:
                return found
    member = _id(item["membership"].get("member")) if isinstance(item.get("membership"), dict) else None
    return member or _id(actor) or ""


def _is_course(entity: object) -> bool:
    return any(is_a(_type(entity) or "", t) for t in _COURSE_TYPES)


def course_of(item: dict[str, Any]) -> str | None:
    """The course: the group if it is a CourseOffering or CourseSection (or a thinned IRI), or its parent course.

    Without a group, the organization of the membership, if it is a course.
    """
    group = item.get("group")
    if isinstance(group, str):
        return group
    if isinstance(group, dict):
        if _is_course(group):
            return _id(group)
        parent = group.get("subOrganizationOf")
        return _id(parent) if _is_course(parent) else None
    membership = item.get("membership")
    organization = membership.get("organization") if isinstance(membership, dict) else None
    return _id(organization) if _is_course(organization) else None


def skills_of(item: dict[str, Any]) -> tuple[str, ...]:
    """The ids of the object's learning objectives."""
    obj = item["object"]
    objectives = obj.get("learningObjectives") if isinstance(obj, dict) else None
    if not isinstance(objectives, list):
        return ()
    return tuple(sorted({i for o in objectives if (i := _id(o)) and is_iri(i)}))


def _score(generated: object) -> float | None:
    """A 0..1 score from a generated Score (scoreGiven/maxScore) or Result (resultScore/maxResultScore)."""
    if not isinstance(generated, dict):
        return None
    for given, top in (("scoreGiven", "maxScore"), ("resultScore", "maxResultScore")):
        got, most = generated.get(given), generated.get(top)
        if isinstance(got, int | float) and isinstance(most, int | float) and most > 0:
            return float(got) / float(most)
    return None


def result_of(item: dict[str, Any]) -> Result | None:
    """Score from the generated Score or Result, duration from the generated Attempt or Response."""
    generated = item.get("generated")
    score = _score(generated)
    duration = None
    if isinstance(generated, dict) and item["type"] != "GradeEvent" and isinstance(generated.get("duration"), str):
        duration = parse_duration(generated["duration"])
    completion = True if item["action"] in _COMPLETING else None
    if score is None and duration is None and completion is None:
        return None
    return Result(score=score, completion=completion, duration_s=duration)


def verb_of(item: dict[str, Any]) -> Verb:
    """The vocabulary verb of an event's type and action."""
    action = item["action"]
    return _TYPE_ACTION_VERBS.get((item["type"], action)) or Verb(ACTION_VERBS[action])


def to_event(item: dict[str, Any], raw: bytes, *, tenant: str, stored_us: int) -> LearningEvent:
    """The canonical event of a checked Caliper event; ``raw`` becomes its payload.

    Pass ``b""`` as ``raw`` for an event bound for the log, whose payload travels
    beside it (see ``LearningEvent``).
    """
    event_time = parse_time(item["eventTime"])
    return LearningEvent(
        event_id=f"urn:uuid:{event_uuid(item)}",
        tenant=tenant,
        learner=learner_of(item),
        verb=verb_of(item),
        object_id=_id(item["object"]) or "",
        object_type=_type(item["object"]),
        course=course_of(item),
        skills=skills_of(item),
        result=result_of(item),
        event_time_us=stored_us if event_time is None else event_time,
        stored_time_us=stored_us,
        source_format=SOURCE_FORMAT,
        mapping_version=MAPPING_VERSION,
        payload=raw,
    )
