"""Promote, roll back and read aliases: the operations every backend shares.

``champion`` is what the stream serves. A model with no champion yet serves its newest
version (``latest``, what ``edupulse train`` wrote), so deployments from before aliases
keep working; the first promotion takes over from then on.
"""

from __future__ import annotations

from pathlib import Path

from edupulse.errors import ConflictError, NotFoundError
from edupulse.ml.registry.base import ALIASES, CHALLENGER, CHAMPION, AliasChange, Registry, alias_stacks
from edupulse.ml.registry.store import latest_version, read_card

__all__ = ["aliases", "clear", "promote", "resolve", "rollback"]


def aliases(registry: Registry, name: str) -> dict[str, str]:
    """The version each alias of ``name`` names now (aliases cleared or never set are absent)."""
    return {alias: stack[-1] for alias, stack in alias_stacks(registry.changes(name)).items() if stack and stack[-1]}


def resolve(registry: Registry, root: Path, name: str, alias: str = CHAMPION) -> str | None:
    """The version ``alias`` names; for the champion, failing one, the newest stored version."""
    version = aliases(registry, name).get(alias)
    if version is None and alias == CHAMPION:
        return latest_version(root, name)
    return version


def _check_alias(alias: str) -> None:
    if alias not in ALIASES:
        raise NotFoundError(f"unknown alias {alias!r}: use one of {', '.join(ALIASES)}")


def promote(
    registry: Registry, root: Path, name: str, version: str, *, alias: str = CHAMPION, actor: str = "cli"
) -> AliasChange:
    """Point ``alias`` at a stored ``version``. A challenger promoted to champion stops being the challenger."""
    _check_alias(alias)
    read_card(root, name, version)  # raises NotFoundError, naming what is stored
    current = aliases(registry, name)
    if current.get(alias) == version:
        raise ConflictError(f"{name} {version} is already the {alias}")
    change = registry.append(name, alias, "promote", version, actor)
    if alias == CHAMPION and current.get(CHALLENGER) == version:
        registry.append(name, CHALLENGER, "clear", "", actor)
    return change


def rollback(registry: Registry, name: str, *, alias: str = CHAMPION, actor: str = "cli") -> str:
    """Put back the version ``alias`` named before its last promotion; returns it."""
    _check_alias(alias)
    stack = alias_stacks(registry.changes(name)).get(alias, [])
    if len(stack) < 2 or not stack[-2]:
        raise ConflictError(f"{name} has no previous {alias} to roll back to")
    registry.append(name, alias, "rollback", "", actor)
    return stack[-2]


def clear(registry: Registry, name: str, *, alias: str = CHALLENGER, actor: str = "cli") -> None:
    """Make ``alias`` name no version (the challenger after it lost)."""
    _check_alias(alias)
    registry.append(name, alias, "clear", "", actor)
