"""What a stored statement is found by: its agents and activities, direct or related.

Agents are keyed by their identifier (``mbox:...``, ``sha1:...``, ``openid:...``,
``account:{homePage}|{name}``); a Group's members are indexed with the group.
"Direct" means the actor or object (what the ``agent`` and ``activity`` parameters
match); the rest is "related" (``related_agents`` / ``related_activities``).

``IndexKeys`` finds them part by part (actor, object, authority, context) and remembers
the keys of each part object it has seen: the checks hand out the same decoded part for
every statement that repeats it byte for byte (``validate.cache``), so the keys of a
repeated actor or object are found once.
"""

from __future__ import annotations

from typing import Any

__all__ = ["IndexKeys", "Keys", "activities_of", "agent_key", "agents_of"]

VOIDED_VERB = "http://adlnet.gov/expapi/verbs/voided"

Keys = tuple[tuple[str, bool], ...]  # (agent key or activity id, direct)
_NONE: tuple[Keys, Keys] = ((), ())


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


def _agents(agent: Any, direct: bool) -> Keys:
    return tuple((k, direct) for k in _keys(agent))


def _object_keys(obj: Any, *, sub: bool = False) -> tuple[Keys, Keys]:
    """(agents, activities) of a statement's object; a sub-statement's count as related."""
    obj = obj or {}
    kind = obj.get("objectType", "Activity")
    if kind == "Activity":
        return (), ((obj["id"], not sub),)
    if kind in ("Agent", "Group"):
        return _agents(obj, not sub), ()
    if kind == "SubStatement" and not sub:
        actor = _agents(obj.get("actor"), False)
        agents, activities = _object_keys(obj.get("object"), sub=True)
        context_agents, context_activities = _context_keys(obj.get("context"))
        return actor + agents + context_agents, activities + context_activities
    return _NONE


def _context_keys(context: Any) -> tuple[Keys, Keys]:
    """(agents, activities) of a context, all related."""
    context = context or {}
    agents: list[tuple[str, bool]] = []
    for field in ("instructor", "team"):
        agents += _agents(context.get(field), False)
    for entry in context.get("contextAgents") or ():
        agents += _agents(entry.get("agent"), False)
    for entry in context.get("contextGroups") or ():
        agents += _agents(entry.get("group"), False)
    activities = []
    for value in (context.get("contextActivities") or {}).values():
        activities += [(act["id"], False) for act in (value if isinstance(value, list) else [value])]
    return tuple(agents), tuple(activities)


def agents_of(stmt: dict[str, Any]) -> list[tuple[str, bool]]:
    """Every agent of a statement as (key, direct)."""
    found = [*_agents(stmt.get("actor"), True), *_object_keys(stmt.get("object"))[0]]
    return [*found, *_agents(stmt.get("authority"), False), *_context_keys(stmt.get("context"))[0]]


def activities_of(stmt: dict[str, Any]) -> list[tuple[str, bool]]:
    """Every activity id of a statement as (id, direct)."""
    return [*_object_keys(stmt.get("object"))[1], *_context_keys(stmt.get("context"))[1]]


class IndexKeys:
    """The agents and activities of statements, remembered per part object (bounded)."""

    def __init__(self, max_entries: int = 10_000) -> None:
        self.max_entries = max_entries  # distinct contexts are held too: keep the memory small
        self._seen: dict[int, tuple[Any, tuple[Keys, Keys]]] = {}

    def of(self, stmt: dict[str, Any]) -> tuple[list[tuple[str, bool]], list[tuple[str, bool]]]:
        """(agents, activities) of a completed statement; a key may repeat (the store ignores repeats)."""
        seen = self._seen
        agents: list[tuple[str, bool]] = []
        activities: list[tuple[str, bool]] = []
        for name, keys_of in _PARTS:
            part = stmt.get(name)
            if part is None:
                continue
            hit = seen.get(id(part))
            if hit is None or hit[0] is not part:  # the part is held here, so its id is not reused
                if len(seen) >= self.max_entries:
                    seen.clear()
                hit = seen[id(part)] = (part, keys_of(part))
            agents += hit[1][0]
            activities += hit[1][1]
        return agents, activities


def _actor_keys(actor: Any) -> tuple[Keys, Keys]:
    return _agents(actor, True), ()


def _authority_keys(authority: Any) -> tuple[Keys, Keys]:
    return _agents(authority, False), ()


_PARTS = (("actor", _actor_keys), ("object", _object_keys), ("authority", _authority_keys), ("context", _context_keys))


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
