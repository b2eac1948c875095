"""The identity vault's storage seam: rows of wrapped keys and sealed identities, and tombstones.

A backend stores bytes it cannot read: every learner's data key is wrapped by the
master key, and their identity sealed by that data key (``privacy.vault.service``).
Backends: ``sqlite`` (embedded) and ``postgres`` (scale-out); both pass the same
contract tests.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import msgspec

__all__ = ["VaultRow", "VaultRows"]


class VaultRow(msgspec.Struct, frozen=True):
    """One learner: their wrapped data key (and the id of the key that wrapped it) and sealed identity."""

    tenant: str
    pseudonym: str
    key_id: str
    wrapped_key: bytes
    identity: bytes
    created_us: int


class VaultRows(Protocol):
    def wrapped_keys(self, pseudonyms: Sequence[str]) -> dict[str, tuple[str, bytes]]:
        """``{pseudonym: (key id, wrapped key)}`` of those that have a row."""

    def insert(self, rows: Sequence[VaultRow]) -> None:
        """Add rows; a pseudonym that already has one keeps it (the first writer wins)."""

    def row(self, pseudonym: str) -> VaultRow | None:
        """The learner's row, if any."""

    def erase(self, tenant: str, pseudonym: str, erased_us: int) -> bool:
        """Delete the row and record the tombstone, in one transaction; True if a row was deleted."""

    def tombstones(self) -> dict[str, int]:
        """``{pseudonym: erased_us}`` of every erased learner."""

    def all_keys(self) -> list[tuple[str, str, bytes]]:
        """``(pseudonym, key id, wrapped key)`` of every row, for rotation."""

    def rewrap(self, updates: Sequence[tuple[str, str, bytes]]) -> None:
        """Replace wrapped keys ``(pseudonym, key id, wrapped key)``, all in one transaction."""

    def close(self) -> None:
        """Release the connection(s)."""
