"""Activities and their definitions, interaction components included."""

from __future__ import annotations

from typing import Any

from edupulse.lrs.validate.values import (
    Invalid,
    check_extensions,
    check_iri,
    check_language_map,
    expect_object,
    expect_string,
)

__all__ = ["check_activity", "check_definition"]

_ACTIVITY_FIELDS = frozenset(("objectType", "id", "definition"))
_DEFINITION_FIELDS = frozenset(
    ("name", "description", "type", "moreInfo", "extensions", "interactionType", "correctResponsesPattern")
)
_COMPONENT_LISTS = ("choices", "scale", "source", "target", "steps")
_INTERACTIONS: dict[str, frozenset[str]] = {
    "true-false": frozenset(),
    "choice": frozenset(("choices",)),
    "fill-in": frozenset(),
    "long-fill-in": frozenset(),
    "matching": frozenset(("source", "target")),
    "performance": frozenset(("steps",)),
    "sequencing": frozenset(("choices",)),
    "likert": frozenset(("scale",)),
    "numeric": frozenset(),
    "other": frozenset(),
}


def check_activity(value: Any, path: str) -> None:
    activity = expect_object(value, path)
    for field, item in activity.items():
        if field not in _ACTIVITY_FIELDS:
            raise Invalid(f"{path}.{field}", f"unknown property {field!r} of an Activity")
        if item is None:
            raise Invalid(f"{path}.{field}", "properties cannot be null")
    if activity.get("objectType", "Activity") != "Activity":
        raise Invalid(f"{path}.objectType", f"expected 'Activity', got {activity['objectType']!r}")
    if "id" not in activity:
        raise Invalid(f"{path}.id", "an Activity needs an id (an IRI)")
    check_iri(activity["id"], f"{path}.id")
    if "definition" in activity:
        check_definition(activity["definition"], f"{path}.definition")


def check_definition(value: Any, path: str) -> None:
    definition = expect_object(value, path)
    for field, item in definition.items():
        if field not in _DEFINITION_FIELDS and field not in _COMPONENT_LISTS:
            raise Invalid(f"{path}.{field}", f"unknown property {field!r} of an Activity definition")
        if item is None:
            raise Invalid(f"{path}.{field}", "properties cannot be null")
    for field in ("name", "description"):
        if field in definition:
            check_language_map(definition[field], f"{path}.{field}")
    for field in ("type", "moreInfo"):
        if field in definition:
            check_iri(definition[field], f"{path}.{field}")
    if "extensions" in definition:
        check_extensions(definition["extensions"], f"{path}.extensions")
    _check_interaction(definition, path)


def _check_interaction(definition: dict[str, Any], path: str) -> None:
    kind = definition.get("interactionType")
    used = [f for f in (*_COMPONENT_LISTS, "correctResponsesPattern") if f in definition]
    if kind is None:
        if used:
            raise Invalid(f"{path}.{used[0]}", f"{used[0]} needs an interactionType")
        return
    if not isinstance(kind, str) or kind not in _INTERACTIONS:
        raise Invalid(f"{path}.interactionType", f"unknown interactionType {kind!r}")
    for field in used:
        if field != "correctResponsesPattern" and field not in _INTERACTIONS[kind]:
            raise Invalid(f"{path}.{field}", f"{field} is not used by a {kind!r} interaction")
    if "correctResponsesPattern" in definition:
        pattern = definition["correctResponsesPattern"]
        if not isinstance(pattern, list):
            raise Invalid(f"{path}.correctResponsesPattern", "correctResponsesPattern must be an array of strings")
        for i, item in enumerate(pattern):
            expect_string(item, f"{path}.correctResponsesPattern[{i}]")
    for field in _COMPONENT_LISTS:
        if field in definition:
            _check_components(definition[field], f"{path}.{field}")


def _check_components(value: Any, path: str) -> None:
    if not isinstance(value, list):
        raise Invalid(path, "interaction components must be an array")
    seen: set[str] = set()
    for i, item in enumerate(value):
        where = f"{path}[{i}]"
        component = expect_object(item, where)
        for field in component:
            if field not in ("id", "description"):
                raise Invalid(f"{where}.{field}", f"unknown property {field!r} of an interaction component")
        ident = expect_string(component.get("id"), f"{where}.id")
        if ident in seen:
            raise Invalid(f"{where}.id", f"interaction component ids must be unique, {ident!r} is repeated")
        seen.add(ident)
        if "description" in component:
            check_language_map(component["description"], f"{where}.description")
