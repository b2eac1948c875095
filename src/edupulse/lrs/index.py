"""What a stored statement is found by: its agents and activities, direct or related.

Agents are keyed by their identifier (``mbox:...``, ``sha1:...``, ``openid:...``,
``account:{homePage}|{name}``); a Group's members are indexed with the group.
"Direct" means the actor or object (what the ``agent`` and ``activity`` parameters
match); the rest is "related" (``related_agents`` / ``related_activities``).
"""

from __future__ import annotations

from typing import Any

__all__ = ["activities_of", "agent_key", "agents_of"]

VOIDED_VERB = "http://adlnet.gov/expapi/verbs/voided"


def agent_key(agent: dict[str, Any]) -> str | None:
    """The identifier key of an Agent or identified Group; None for an anonymous Group."""
    if "mbox" in agent:
        return f"mbox:{agent['mbox']}"
    if "mbox_sha1sum" in agent:
        return f"sha1:{agent['mbox_sha1sum']}"
    if "openid" in agent:
        return f"openid:{agent['openid']}"
    account = agent.get("account")
    if isinstance(account, dict):
        return f"account:{account.get('homePage')}|{account.get('name')}"
    return None


def _keys(agent: Any) -> list[str]:
    if not isinstance(agent, dict):
        return []
    keys = [k for k in [agent_key(agent)] if k is not None]
    for member in agent.get("member") or ():
        if isinstance(member, dict):
            keys.extend(k for k in [agent_key(member)] if k is not None)
    return keys


def agents_of(stmt: dict[str, Any], *, sub: bool = False) -> list[tuple[str, bool]]:
    """Every agent of a statement as (key, direct)."""
    direct = not sub
    found = [(k, direct) for k in _keys(stmt.get("actor"))]
    obj = stmt.get("object") or {}
    if obj.get("objectType") in ("Agent", "Group"):
        found += [(k, direct) for k in _keys(obj)]
    elif obj.get("objectType") == "SubStatement":
        found += agents_of(obj, sub=True)
    found += [(k, False) for k in _keys(stmt.get("authority"))]
    context = stmt.get("context") or {}
    for field in ("instructor", "team"):
        found += [(k, False) for k in _keys(context.get(field))]
    for entry in context.get("contextAgents") or ():
        found += [(k, False) for k in _keys(entry.get("agent"))]
    for entry in context.get("contextGroups") or ():
        found += [(k, False) for k in _keys(entry.get("group"))]
    return found


def activities_of(stmt: dict[str, Any], *, sub: bool = False) -> list[tuple[str, bool]]:
    """Every activity id of a statement as (id, direct)."""
    found: list[tuple[str, bool]] = []
    obj = stmt.get("object") or {}
    kind = obj.get("objectType", "Activity")
    if kind == "Activity":
        found.append((obj["id"], not sub))
    elif kind == "SubStatement":
        found += activities_of(obj, sub=True)
    context_activities = (stmt.get("context") or {}).get("contextActivities") or {}
    for value in context_activities.values():
        for act in value if isinstance(value, list) else [value]:
            found.append((act["id"], False))
    return found


def all_activities(stmt: dict[str, Any]) -> list[dict[str, Any]]:
    """Every Activity object of a statement (object, context, sub-statement), for definitions."""
    found: list[dict[str, Any]] = []
    obj = stmt.get("object") or {}
    kind = obj.get("objectType", "Activity")
    if kind == "Activity":
        found.append(obj)
    elif kind == "SubStatement":
        found += all_activities(obj)
    context_activities = (stmt.get("context") or {}).get("contextActivities") or {}
    for value in context_activities.values():
        found += value if isinstance(value, list) else [value]
    return found
