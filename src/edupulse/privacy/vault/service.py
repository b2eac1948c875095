"""Envelope encryption over the vault's rows.

Each learner has a random 256-bit data key. The vault stores it wrapped (sealed with
AES-GCM) by the master key, with the pseudonym as associated data, and stores the
learner's identity (identifier, name, email) sealed by the data key. Their payloads on
the log are sealed by the same data key (``privacy.protect``). Deleting the row
crypto-shreds all of it: with the data key gone, no copy of a sealed blob, in any
store or backup, opens again.

Rotation re-wraps every data key under a new master key in one transaction; the data
keys themselves, and so every sealed payload, stay as they are.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping

import msgspec

from edupulse.errors import ConfigError
from edupulse.privacy.crypto import Sealer, new_key
from edupulse.privacy.keys import key_id
from edupulse.privacy.vault.base import VaultRow, VaultRows

__all__ = ["Identity", "IdentityVault"]


class Identity(msgspec.Struct, frozen=True, omit_defaults=True):
    """Who a pseudonym is: the identifier it was made from, and direct identifiers seen with it."""

    tenant: str
    identifier: str
    name: str | None = None
    email: str | None = None


_encode = msgspec.json.Encoder().encode
_decode_identity = msgspec.json.Decoder(Identity).decode


class IdentityVault:
    """Pseudonym -> data key and identity, envelope-encrypted; data keys cached per process."""

    def __init__(self, rows: VaultRows, master_key: bytes, *, cache: int = 100_000) -> None:
        self.rows = rows
        self._master = Sealer(master_key)
        self._master_id = key_id(master_key)
        self._sealers: dict[str, Sealer] = {}
        self._cache_size = cache

    def sealers(self, identities: Mapping[str, Identity]) -> dict[str, Sealer]:
        """Each learner's data key (as a Sealer), creating and storing keys for new learners."""
        out = {p: s for p in identities if (s := self._sealers.get(p)) is not None}
        missing = [p for p in identities if p not in out]
        if not missing:
            return out
        found = self.rows.wrapped_keys(missing)
        new = [p for p in missing if p not in found]
        if new:
            now = time.time_ns() // 1000
            self.rows.insert([self._new_row(p, identities[p], now) for p in new])
            found.update(self.rows.wrapped_keys(new))  # another process may have won: use its key
        out.update(self._remember(found))
        return out

    def openers(self, pseudonyms: Iterable[str]) -> dict[str, Sealer]:
        """The data keys of these learners that exist (none is created): an erased learner has none."""
        wanted = set(pseudonyms)
        out = {p: s for p in wanted if (s := self._sealers.get(p)) is not None}
        missing = [p for p in wanted if p not in out]
        if missing:
            out.update(self._remember(self.rows.wrapped_keys(missing)))
        return out

    def _remember(self, found: Mapping[str, tuple[str, bytes]]) -> dict[str, Sealer]:
        """Unwrap data keys and keep them in the process's cache."""
        if len(self._sealers) + len(found) > self._cache_size:
            self._sealers.clear()
        out = {}
        for pseudonym, (kid, wrapped) in found.items():
            self._sealers[pseudonym] = out[pseudonym] = Sealer(self._unwrap(pseudonym, kid, wrapped))
        return out

    def unknown(self, pseudonyms: Iterable[str]) -> set[str]:
        """Those whose data key this process has not loaded yet."""
        return {p for p in pseudonyms if p not in self._sealers}

    def _new_row(self, pseudonym: str, identity: Identity, now_us: int) -> VaultRow:
        data_key = new_key()
        aad = pseudonym.encode()
        sealed = Sealer(data_key).seal(_encode(identity), aad)
        return VaultRow(identity.tenant, pseudonym, self._master_id, self._master.seal(data_key, aad), sealed, now_us)

    def _unwrap(self, pseudonym: str, kid: str, wrapped: bytes) -> bytes:
        if kid != self._master_id:
            raise ConfigError(
                f"the data key of {pseudonym} is wrapped by master key {kid}, but the configured master key is "
                f"{self._master_id}; configure the key it was wrapped with, or finish `edupulse privacy rotate-key`"
            )
        return self._master.open(wrapped, pseudonym.encode())

    def identity(self, pseudonym: str) -> Identity | None:
        """Who the pseudonym is, or None if unknown or erased."""
        row = self.rows.row(pseudonym)
        if row is None:
            return None
        sealer = Sealer(self._unwrap(pseudonym, row.key_id, row.wrapped_key))
        return _decode_identity(sealer.open(row.identity, pseudonym.encode()))

    def sealer(self, pseudonym: str) -> Sealer | None:
        """The learner's data key, or None if they have none (unknown or erased)."""
        cached = self._sealers.get(pseudonym)
        if cached is not None:
            return cached
        found = self.rows.wrapped_keys([pseudonym]).get(pseudonym)
        return None if found is None else Sealer(self._unwrap(pseudonym, *found))

    def forget(self, tenant: str, pseudonym: str, *, erased_us: int | None = None) -> bool:
        """Shred the learner's data key and identity and record their tombstone; True if they had a row."""
        self._sealers.pop(pseudonym, None)
        now = time.time_ns() // 1000 if erased_us is None else erased_us
        return self.rows.erase(tenant, pseudonym, now)

    def tombstones(self) -> dict[str, int]:
        return self.rows.tombstones()

    def rotate(self, new_master: bytes) -> int:
        """Re-wrap every data key under ``new_master``; returns how many. Use the new key from then on."""
        new = Sealer(new_master)
        new_id = key_id(new_master)
        updates = []
        for pseudonym, kid, wrapped in self.rows.all_keys():
            if kid == new_id:
                continue  # already re-wrapped by an earlier, interrupted rotation
            data_key = self._unwrap(pseudonym, kid, wrapped)
            updates.append((pseudonym, new_id, new.seal(data_key, pseudonym.encode())))
        self.rows.rewrap(updates)
        self._master, self._master_id = new, new_id
        return len(updates)

    def close(self) -> None:
        self.rows.close()
