"""The ``format`` of statements returned: ``exact`` (as stored), ``ids`` (identifiers only)
or ``canonical`` (one language per language map, canonical activity definitions).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from edupulse.lrs.validate.agents import IFI_FIELDS

__all__ = ["Format", "canonical", "ids_only", "pick_language"]

Format = Literal["exact", "ids", "canonical"]
Definitions = Callable[[str], dict[str, Any] | None]
_LANGUAGE_MAPS = ("name", "description", "display")


def ids_only(stmt: dict[str, Any]) -> dict[str, Any]:
    """A statement whose agents, groups, activities and verb keep only what identifies them."""
    out = dict(stmt)
    out["actor"] = _agent_ids(stmt["actor"])
    out["verb"] = {"id": stmt["verb"]["id"]}
    out["object"] = _object_ids(stmt["object"])
    if "authority" in stmt:
        out["authority"] = _agent_ids(stmt["authority"])
    if "context" in stmt:
        out["context"] = _context_ids(stmt["context"])
    return out


def _agent_ids(agent: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in agent.items() if k in IFI_FIELDS or k == "objectType"}
    if "member" in agent and not any(k in agent for k in IFI_FIELDS):
        out["member"] = [_agent_ids(m) for m in agent["member"]]
    return out


def _object_ids(obj: dict[str, Any]) -> dict[str, Any]:
    kind = obj.get("objectType", "Activity")
    if kind == "Activity":
        return {"id": obj["id"]}
    if kind in ("Agent", "Group"):
        return _agent_ids(obj)
    if kind == "SubStatement":
        sub = dict(obj)
        sub["actor"] = _agent_ids(obj["actor"])
        sub["verb"] = {"id": obj["verb"]["id"]}
        sub["object"] = _object_ids(obj["object"])
        if "context" in obj:
            sub["context"] = _context_ids(obj["context"])
        return sub
    return obj


def _context_ids(context: dict[str, Any]) -> dict[str, Any]:
    out = dict(context)
    for field in ("instructor", "team"):
        if field in context:
            out[field] = _agent_ids(context[field])
    if "contextActivities" in context:
        out["contextActivities"] = {
            k: [_object_ids(a) for a in (v if isinstance(v, list) else [v])]
            for k, v in context["contextActivities"].items()
        }
    return out


def pick_language(value: dict[str, str], accept: list[str]) -> dict[str, str]:
    """One entry of a language map: the first accepted language present, else the first entry."""
    for tag in accept:
        if tag == "*":
            break
        for key, text in value.items():
            if key.lower() == tag or key.lower().split("-")[0] == tag:
                return {key: text}
    for key, text in value.items():
        return {key: text}
    return {}


def canonical(stmt: dict[str, Any], accept: list[str], definitions: Definitions) -> dict[str, Any]:
    """A statement in canonical format: canonical activity definitions, one language per map."""
    return _walk(stmt, accept, definitions)  # type: ignore[no-any-return]


def _walk(value: Any, accept: list[str], definitions: Definitions) -> Any:
    if isinstance(value, list):
        return [_walk(v, accept, definitions) for v in value]
    if not isinstance(value, dict):
        return value
    if value.get("objectType", "Activity") == "Activity" and "id" in value and "definition" in value:
        value = {**value, "definition": definitions(value["id"]) or value["definition"]}
    out: dict[str, Any] = {}
    for key, item in value.items():
        if key in _LANGUAGE_MAPS and isinstance(item, dict):
            out[key] = pick_language(item, accept)
        elif key == "extensions":
            out[key] = item
        else:
            out[key] = _walk(item, accept, definitions)
    return out
