"""Aliases of model versions (``champion``, ``challenger``): where every worker reads which
version to serve.

An alias is the top of a stack of changes, kept append-only by the backend: ``promote``
pushes a version, ``rollback`` pops the top (back to the version before it), ``clear``
pushes "none". So a rollback is always "back to the previous champion", however many
promotions and rollbacks came before, and the whole history stays readable.

Backends (``Registry``): the data directory (embedded, ``ml.registry.files``) and a
PostgreSQL table in the deployment's schema (scale-out, ``ml.registry.postgres``).
Versions themselves are stored apart (``ml.registry.store``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, Protocol

import msgspec

__all__ = ["ALIASES", "CHALLENGER", "CHAMPION", "AliasChange", "ChangeKind", "Registry", "alias_stacks"]

CHAMPION = "champion"
CHALLENGER = "challenger"
ALIASES = (CHAMPION, CHALLENGER)
ChangeKind = Literal["promote", "rollback", "clear"]


class AliasChange(msgspec.Struct, frozen=True):
    """One change of one alias of a model (``version`` "" for rollback and clear)."""

    seq: int
    name: str
    alias: str
    kind: ChangeKind
    version: str
    actor: str
    at_us: int


class Registry(Protocol):
    """Where aliases live: an append-only list of changes per model name."""

    def changes(self, name: str) -> list[AliasChange]:
        """Every alias change of ``name``, oldest first."""

    def append(self, name: str, alias: str, kind: ChangeKind, version: str, actor: str) -> AliasChange:
        """Record one change (atomically: concurrent writers are serialised)."""

    def stamp(self, name: str) -> str:
        """A token that changes whenever an alias of ``name`` changes; cheap (a stat, one row)."""

    def close(self) -> None: ...


def alias_stacks(changes: Sequence[AliasChange]) -> dict[str, list[str]]:
    """Each alias's stack of versions after ``changes`` ("" on top: cleared)."""
    stacks: dict[str, list[str]] = {}
    for change in changes:
        stack = stacks.setdefault(change.alias, [])
        if change.kind == "rollback":
            if stack:
                stack.pop()
        else:
            stack.append(change.version if change.kind == "promote" else "")
    return stacks
