"""Actors: Agents and Groups, their inverse functional identifiers (IFIs) and accounts."""

from __future__ import annotations

import re
from typing import Any

from edupulse.lrs.validate.values import Invalid, check_iri, expect_object, expect_string

__all__ = ["IFI_FIELDS", "check_actor", "check_agent", "check_group"]

IFI_FIELDS = ("mbox", "mbox_sha1sum", "openid", "account")
_AGENT_FIELDS = frozenset(("objectType", "name", *IFI_FIELDS))
_GROUP_FIELDS = _AGENT_FIELDS | {"member"}
_MAILTO = re.compile(r"^mailto:[^@\s]+@[^@\s]+$")
_SHA1 = re.compile(r"^[0-9a-fA-F]{40}$")


def check_actor(value: Any, path: str) -> dict[str, Any]:
    """An Agent or a Group (by ``objectType``)."""
    actor = expect_object(value, path)
    if actor.get("objectType") == "Group":
        check_group(actor, path)
    else:
        check_agent(actor, path)
    return actor


def check_agent(value: Any, path: str) -> None:
    agent = expect_object(value, path)
    kind = agent.get("objectType", "Agent")
    if kind != "Agent":
        raise Invalid(f"{path}.objectType", f"an Agent's objectType must be 'Agent', got {kind!r}")
    _check_fields(agent, _AGENT_FIELDS, path)
    if _check_ifis(agent, path) == 0:
        raise Invalid(path, "the Agent has no identifier: it needs one of mbox, mbox_sha1sum, openid or account")


def check_group(value: Any, path: str, *, members_required: bool = False) -> None:
    group = expect_object(value, path)
    if group.get("objectType") != "Group":
        raise Invalid(f"{path}.objectType", "a Group must have objectType 'Group'")
    _check_fields(group, _GROUP_FIELDS, path)
    identified = _check_ifis(group, path) == 1
    members = group.get("member")
    if members is None:
        if not identified or members_required:
            raise Invalid(f"{path}.member", "an anonymous Group must list its members")
        return
    if not isinstance(members, list):
        raise Invalid(f"{path}.member", "member must be an array of Agents")
    if not identified and not members:
        raise Invalid(f"{path}.member", "an anonymous Group must have at least one member")
    for i, member in enumerate(members):
        check_agent(member, f"{path}.member[{i}]")


def _check_fields(obj: dict[str, Any], allowed: frozenset[str], path: str) -> None:
    for field, value in obj.items():
        if field not in allowed:
            raise Invalid(f"{path}.{field}", f"unknown property {field!r}")
        if value is None:
            raise Invalid(f"{path}.{field}", "properties cannot be null")
    if "name" in obj:
        expect_string(obj["name"], f"{path}.name")


def _check_ifis(obj: dict[str, Any], path: str) -> int:
    """How many identifiers ``obj`` has (0 or 1), each checked; more than one is an error."""
    present = [f for f in IFI_FIELDS if f in obj]
    if len(present) > 1:
        raise Invalid(path, f"exactly one identifier is allowed, got {', '.join(present)}")
    if not present:
        return 0
    field = present[0]
    value, where = obj[field], f"{path}.{field}"
    if field == "mbox":
        if _MAILTO.match(expect_string(value, where)) is None:
            raise Invalid(where, f"mbox must be a mailto: IRI of an email address, got {value!r}")
    elif field == "mbox_sha1sum":
        if _SHA1.match(expect_string(value, where)) is None:
            raise Invalid(where, "mbox_sha1sum must be the 40 hex digits of a SHA-1")
    elif field == "openid":
        check_iri(value, where)
    else:
        _check_account(value, where)
    return 1


def _check_account(value: Any, path: str) -> None:
    account = expect_object(value, path)
    for field in account:
        if field not in ("homePage", "name"):
            raise Invalid(f"{path}.{field}", f"unknown property {field!r} (an account has homePage and name)")
    if "homePage" not in account or "name" not in account:
        raise Invalid(path, "an account needs both homePage and name")
    check_iri(account["homePage"], f"{path}.homePage")
    expect_string(account["name"], f"{path}.name")
