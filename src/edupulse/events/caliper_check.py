"""Caliper validation beyond the JSON Schemas: types, required properties, IRIs, actions.

The published JSON Schemas accept most malformed events (an action the event type does
not allow, an Attempt where a Person is expected, a date that is not a date). These
checks follow the tables of ``caliper_terms``; the first problem found is raised as an
InvalidEventError whose ``path`` points into the envelope (``$.data[2].object.type``)
and whose message says what is wrong and what is allowed.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from edupulse.errors import InvalidEventError
from edupulse.events.caliper_terms import (
    ACTION_VERBS,
    ANONYMOUS_TYPES,
    CONTEXTS,
    ENTITY_PROPERTIES,
    EVENT_PROPERTIES,
    EVENTS,
    PROFILES,
    TERMS,
    Dialect,
    EventRule,
    Version,
    dialect_of,
    entity_types,
    is_a,
    supertypes,
)
from edupulse.events.xapi import parse_duration

__all__ = ["check_item", "context_version", "is_event", "is_iri", "parse_time", "problem", "shown"]

MAX_DEPTH = 32
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_IRI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:[^\s]+$")
_EVENT_SPECS = [(key, spec.rstrip("!"), spec.endswith("!")) for key, spec in EVENT_PROPERTIES.items()]
_KNOWN_EVENT_KEYS = ", ".join(k for k in EVENT_PROPERTIES if k != "@context")


def problem(path: str, message: str) -> InvalidEventError:
    """An InvalidEventError at ``path`` whose message names the place."""
    return InvalidEventError(f"{message} at {path}", path=path)


def is_iri(value: object) -> bool:
    """Whether ``value`` is an absolute IRI: a scheme, a colon, no white space."""
    if not isinstance(value, str):
        return False
    # IRIs repeat (a course, a session, an app in every event); long strings are not kept.
    return _is_iri_text(value) if len(value) <= 512 else _IRI.match(value) is not None


@lru_cache(maxsize=4096)
def _is_iri_text(text: str) -> bool:
    return _IRI.match(text) is not None


def parse_time(value: object) -> int | None:
    """Epoch microseconds of an ISO 8601 date-time with a time zone, or None."""
    if not isinstance(value, str) or "T" not in value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def context_version(context: object, fallback: Dialect, path: str) -> Dialect:
    """The Caliper dialect an ``@context`` names: a context IRI, a list of contexts, or an inline map.

    A 1.1 profile extension context (``…/v1p1/SurveyProfile-extension``) is Caliper 1.1
    with the types that profile added (they became part of 1.2). Other contexts may sit
    beside Caliper's in a list, or inline (JSON-LD merges them): they may define types
    of their own (``foreign``). An inline map, or a list of maps only, keeps the
    version of ``fallback`` (the envelope's ``dataVersion``).
    """
    if context is None:
        return fallback
    listed = isinstance(context, list)
    entries: list[object] = context if isinstance(context, list) else [context]
    found: set[Dialect] = set()
    foreign = fallback.foreign
    for i, entry in enumerate(entries):
        where = f"{path}[{i}]" if listed else path
        if isinstance(entry, str):
            dialect = dialect_of(entry)
            if dialect is None and not listed:
                known = " or ".join(CONTEXTS)
                raise problem(where, f"unknown @context {shown(entry)}; a Caliper context is {known}")
            found |= {dialect} if dialect else set()
            foreign |= dialect is None
        elif isinstance(entry, dict):
            foreign = True
        else:
            raise problem(where, "an @context entry must be a context IRI or an object")
    if len({d.version for d in found}) > 1:
        raise problem(path, "the @context names both Caliper 1.1 and 1.2; use one")
    if not found and any(isinstance(entry, str) for entry in entries):
        raise problem(path, f"the @context names no Caliper context; add {' or '.join(CONTEXTS)}")
    named = max(found, key=lambda d: d.extended) if found else fallback
    return Dialect(named.version, extended=named.extended or fallback.extended, foreign=foreign)


def is_event(item: dict[str, Any]) -> bool:
    """Whether a data item is an event (its type is an event type) rather than an entity."""
    kind = item.get("type")
    return isinstance(kind, str) and kind in EVENTS


def check_item(item: object, version: Version, path: str) -> Dialect:
    """Check one item of an envelope's data; return its Caliper dialect, or raise."""
    if not isinstance(item, dict):
        raise problem(path, f"each item of data must be a Caliper event or entity object, got {shown(item)}")
    dialect = context_version(item.get("@context"), Dialect(version), f"{path}.@context")
    if dialect.version != version:
        message = f"the item is Caliper {dialect.version} but the envelope's dataVersion is {version}"
        raise problem(f"{path}.@context", message)
    kind = item.get("type")
    if not isinstance(kind, str):
        raise problem(f"{path}.type", "the item has no type; give an event type (ViewEvent, ...) or an entity type")
    if kind in EVENTS:
        _check_event(item, EVENTS[kind], dialect, path)
    elif "action" in item or "actor" in item:
        events = ", ".join(sorted(EVENTS))
        raise problem(f"{path}.type", f"unknown event type {shown(kind)}; use one of {events}")
    else:
        _check_entity(item, None, dialect, path, 0)
    return dialect


def _check_event(item: dict[str, Any], rule: EventRule, dialect: Dialect, path: str) -> None:
    _check_event_shape(item, rule, dialect, path)
    action = item.get("action")
    needed = rule.required.get(action) if isinstance(action, str) else None
    for key, kind, required in _EVENT_SPECS:
        value = item.get(key)
        if value is None:
            if key in item and not required:
                raise problem(f"{path}.{key}", f"{key} is null; leave an unknown value out")
            if required or key == needed:
                raise problem(f"{path}.{key}", _missing(key, item))
            continue
        expected = rule.types.get(key)
        if expected is not None:
            _check_ref(value, expected, dialect, f"{path}.{key}", 0)
        else:
            _check_event_value(kind, value, f"{path}.{key}", item=item, rule=rule, dialect=dialect)


def _check_event_shape(item: dict[str, Any], rule: EventRule, dialect: Dialect, path: str) -> None:
    """The event type exists in this version, and every property is an event property."""
    kind = item["type"]
    version = dialect.version
    if version < rule.since and not dialect.extended:
        message = f"{kind} is a Caliper {rule.since} event type; this data is Caliper {version}"
        raise problem(f"{path}.type", f"{message} (1.1 has it only with its profile's extension @context)")
    if version > rule.until:
        raise problem(f"{path}.type", f"{kind} was removed in Caliper 1.2 (use GradeEvent or ViewEvent instead)")
    for key in item:
        if key not in EVENT_PROPERTIES:
            raise problem(f"{path}.{key[:60]}", f"unknown event property {shown(key)}; use one of {_KNOWN_EVENT_KEYS}")


def _missing(key: str, item: dict[str, Any]) -> str:
    action = item.get("action")
    if key in ("generated", "federatedSession") and isinstance(action, str):
        return f"{item.get('type')} with action {action} requires the {key} property"
    return f"the event has no {key} (required; null is not a value)"


def _check_event_value(
    kind: str, value: Any, path: str, *, item: dict[str, Any], rule: EventRule, dialect: Dialect
) -> None:
    if kind == "uuid":
        _check_uuid(value, path)
    elif kind == "type":
        return
    elif kind == "action":
        _check_action(value, item["type"], rule, dialect, path)
    elif kind == "profile":
        if not isinstance(value, str) or value not in PROFILES:
            raise problem(path, f"unknown profile {shown(value)}; use one of {', '.join(sorted(PROFILES))}")
    elif kind != "context":
        _check_value(kind, value, dialect, path, 0)


def _check_uuid(value: object, path: str) -> None:
    text = value if isinstance(value, str) else ""
    try:
        uuid.UUID(text[9:])
        ok = text[:9].lower() == "urn:uuid:"
    except ValueError:
        ok = False
    if not ok:
        raise problem(path, f"an event id must be a UUID URN like urn:uuid:<uuid>, got {shown(value)}")


def _check_action(value: object, kind: str, rule: EventRule, dialect: Dialect, path: str) -> None:
    if not isinstance(value, str) or value not in ACTION_VERBS:
        raise problem(path, f"unknown action {shown(value)}; an action is a term of the Caliper Action vocabulary")
    if not rule.actions:
        return
    allowed = rule.actions | (rule.actions_1p1 if dialect.version == "1.1" else frozenset())
    if value not in allowed:
        extra = " (it was deprecated in 1.1 and removed in 1.2)" if value in rule.actions_1p1 else ""
        raise problem(path, f"{kind} does not allow the action {value}{extra}; allowed: {', '.join(sorted(allowed))}")


def _check_ref(value: object, expected: tuple[str, ...], dialect: Dialect, path: str, depth: int) -> None:
    """An entity of one of the ``expected`` types, or its IRI (a "thinned" reference)."""
    if isinstance(value, str):
        if not is_iri(value):
            raise problem(path, f"must be {_a(expected)} object or its IRI, got the string {shown(value)}")
        return
    if not isinstance(value, dict):
        raise problem(path, f"must be {_a(expected)} object or its IRI, got {shown(value)}")
    _check_entity(value, expected, dialect, path, depth)


def _check_entity(
    entity: dict[str, Any], expected: tuple[str, ...] | None, dialect: Dialect, path: str, depth: int
) -> None:
    if depth > MAX_DEPTH:
        raise problem(path, f"entities are nested more than {MAX_DEPTH} levels deep")
    if "@context" in entity:
        nested = context_version(entity["@context"], dialect, f"{path}.@context")
        if nested.version != dialect.version:
            raise problem(f"{path}.@context", f"a Caliper {nested.version} entity in Caliper {dialect.version} data")
        dialect = nested
    kind = _entity_type(entity, expected, dialect, path)
    if kind not in ANONYMOUS_TYPES:
        if entity.get("id") is None:
            raise problem(f"{path}.id", f"the {kind} has no id (required)")
        if not is_iri(entity["id"]):
            raise problem(f"{path}.id", f"an entity id must be an absolute IRI, got {shown(entity['id'])}")
    # A foreign type (from another context) has no properties known here; it is not cached.
    properties, required = _properties(kind) if supertypes(kind) else ({}, ())
    for key in required:
        if entity.get(key) is None:
            raise problem(f"{path}.{key}", f"the {kind} has no {key} (required)")
    for key, value in entity.items():
        spec = properties.get(key)
        if spec is None:
            continue  # not a property edupulse knows (JSON-LD allows terms from other contexts)
        if value is None:
            raise problem(f"{path}.{key}", f"{key} is null; leave an unknown value out")
        _check_value(spec, value, dialect, f"{path}.{key}", depth + 1)


def _entity_type(entity: dict[str, Any], expected: tuple[str, ...] | None, dialect: Dialect, path: str) -> str:
    """The entity's type, checked: known in this version, and one of ``expected`` (or a subtype)."""
    kind = entity.get("type")
    if not isinstance(kind, str):
        raise problem(f"{path}.type", "the entity has no type (required)" if kind is None else "type must be a string")
    if kind in EVENTS and expected is not None:
        raise problem(f"{path}.type", f"expected {_a(expected)} entity, got the event type {kind}")
    if kind not in entity_types(dialect.version, extended=dialect.extended):
        if dialect.foreign and (expected is None or "Entity" in expected):
            return kind  # a type of another context (schema.org's Thesis), where any Entity will do
        raise problem(f"{path}.type", _unknown_type(kind, dialect.version))
    if expected is not None and not _fits(kind, expected):
        raise problem(f"{path}.type", f"expected {_a(expected)} (or a subtype), got {kind}")
    return kind


@lru_cache(maxsize=1024)
def _fits(kind: str, expected: tuple[str, ...]) -> bool:
    return any(is_a(kind, e) for e in expected)


def _unknown_type(kind: str, version: Version) -> str:
    other: Version = "1.2" if version == "1.1" else "1.1"
    if kind in entity_types(other):
        return f"{kind} is not a Caliper {version} entity type (it exists in Caliper {other})"
    return f"unknown type {shown(kind)}; expected a Caliper {version} event or entity type"


@lru_cache(maxsize=256)
def _properties(kind: str) -> tuple[dict[str, str], tuple[str, ...]]:
    """The typed properties of an entity type, its supertypes' included, and the required ones.

    Supertypes are applied from the most general down, so a narrower declaration wins
    (``Assessment.items`` over ``DigitalResourceCollection.items``).
    """
    owners = sorted((name for name in ENTITY_PROPERTIES if is_a(kind, name)), key=lambda n: len(supertypes(n)))
    merged: dict[str, str] = {}
    for name in owners:
        merged.update(ENTITY_PROPERTIES[name])
    required = tuple(key for key, spec in merged.items() if spec.endswith("!"))
    return {key: spec.rstrip("!") for key, spec in merged.items()}, required


def _check_value(kind: str, value: Any, dialect: Dialect, path: str, depth: int) -> None:
    if kind.startswith("["):
        if not isinstance(value, list):
            raise problem(path, f"must be a list of {kind[1:-1]} objects or IRIs, got {shown(value)}")
        for i, entry in enumerate(value):
            _check_ref(entry, (kind[1:-1],), dialect, f"{path}[{i}]", depth)
        return
    if kind[0].isupper():
        _check_ref(value, (kind,), dialect, path, depth)
        return
    message = _scalar_problem(kind, value)
    if message is not None:
        raise problem(path, message)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_duration(value: Any) -> bool:
    return isinstance(value, str) and parse_duration(value) is not None


def _is_strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


# Scalar kinds: the test a value must pass, and what the message says it must be.
_SCALARS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "str": (lambda v: isinstance(v, str), "a string"),
    "int": (_is_int, "an integer"),
    "num": (_is_number, "a number"),
    "bool": (lambda v: isinstance(v, bool), "true or false"),
    "time": (lambda v: parse_time(v) is not None, "an ISO 8601 date-time with a time zone (2016-11-15T10:15:00.000Z)"),
    "dur": (_is_duration, "an ISO 8601 duration like PT1M30S"),
    "map": (lambda v: isinstance(v, dict), "an object (a map of properties)"),
    "strs": (_is_strings, "a list of strings"),
}


def _scalar_problem(kind: str, value: Any) -> str | None:
    scalar = _SCALARS.get(kind)
    if scalar is None:
        return _term_problem(kind, value)
    test, what = scalar
    return None if test(value) else f"must be {what}, got {shown(value)}"


def _term_problem(kind: str, value: Any) -> str | None:
    many, _, vocabulary = kind.partition(":")
    words = TERMS[vocabulary]
    if many == "terms":
        if not _is_strings(value):
            return f"must be a list of {vocabulary} terms, got {shown(value)}"
        bad = [v for v in value if v.partition("#")[0] not in words]
        return (
            f"unknown {vocabulary} {shown(bad[0])}; use one of {', '.join(sorted(words))} (or Role#SubRole)"
            if bad
            else None
        )
    if not isinstance(value, str) or value not in words:
        return f"unknown {vocabulary} {shown(value)}; use one of {', '.join(sorted(words))}"
    return None


def _a(types: tuple[str, ...]) -> str:
    """``a Person``, ``an Agent``, ``a Link or DigitalResource``."""
    article = "an" if types[0][0] in "AEIOU" else "a"
    return f"{article} {' or '.join(types)}"


def shown(value: object) -> str:
    """A value as a message shows it: short, quoted if a string."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str):
        return repr(value) if len(value) <= 60 else repr(value[:57] + "...")
    if isinstance(value, int | float):
        return repr(value)
    return "a list" if isinstance(value, list) else "an object"
