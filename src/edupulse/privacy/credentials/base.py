"""Per-source credentials: a public key and a secret, stored only as a hash.

Secrets are 256 random bits, so a plain SHA-256 is enough to make the stored hash
useless to a thief (there is nothing to guess); verification compares in constant time.
Every backend shares this logic (``CachedCredentials``) and only stores rows.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from typing import Literal, Protocol

import msgspec

from edupulse.errors import AuthError, ConfigError, ForbiddenError

__all__ = [
    "ALL_SCOPES",
    "CACHE_SECONDS",
    "CachedCredentials",
    "CredentialStore",
    "KeyRow",
    "NewKey",
    "Principal",
    "Scope",
    "hash_secret",
]

Scope = Literal["ingest", "read", "admin"]
ALL_SCOPES: tuple[Scope, ...] = ("ingest", "read", "admin")
CACHE_SECONDS = 30.0


class Principal(msgspec.Struct, frozen=True):
    """Who is calling: a source key, its tenant and what it may do."""

    key: str
    name: str
    tenant: str
    scopes: frozenset[str]

    def require(self, scope: Scope) -> None:
        if scope not in self.scopes and "admin" not in self.scopes:
            raise ForbiddenError(f"key {self.name!r} lacks the {scope!r} scope; create a key with --scope {scope}")


class NewKey(msgspec.Struct, frozen=True):
    """A freshly created credential: the only time the secret is shown."""

    key: str
    secret: str
    name: str
    tenant: str
    scopes: list[str]


class KeyRow(msgspec.Struct, frozen=True):
    """A stored credential as a backend keeps it."""

    key: str
    name: str
    tenant: str
    scopes: str  # space-separated, sorted
    secret_hash: bytes
    created_us: int


class CredentialStore(Protocol):
    """The credential seam. Backends: ``credentials.sqlite`` (embedded), ``credentials.postgres``."""

    def create(self, name: str, *, tenant: str, scopes: tuple[str, ...] = ("ingest", "read")) -> NewKey:
        """A new key and secret (the secret is shown only here)."""

    def verify(self, key: str, secret: str) -> Principal:
        """The principal of a key and secret, or AuthError."""

    def revoke(self, key: str) -> bool:
        """Revoke a key; False if it was unknown or already revoked."""

    def list(self) -> list[dict[str, object]]:
        """Every key (never a secret), oldest first."""

    def close(self) -> None:
        """Release connections."""


def hash_secret(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


class CachedCredentials:
    """Creation, verification with a short cache, revocation; subclasses store the rows."""

    def __init__(self) -> None:
        # Verified keys are remembered briefly, so a revocation by another process
        # takes effect within CACHE_SECONDS.
        self._cache: dict[tuple[str, bytes], tuple[Principal, float]] = {}

    def _insert(self, row: KeyRow) -> None:
        raise NotImplementedError

    def _lookup(self, key: str) -> tuple[str, str, str, bytes] | None:
        """Name, tenant, scopes and secret hash of a key that is not revoked."""
        raise NotImplementedError

    def _mark_revoked(self, key: str, now_us: int) -> bool:
        raise NotImplementedError

    def _rows(self) -> list[tuple[str, str, str, str, int, int | None]]:
        """Key, name, tenant, scopes, created and revoked times, oldest first."""
        raise NotImplementedError

    def create(self, name: str, *, tenant: str, scopes: tuple[str, ...] = ("ingest", "read")) -> NewKey:
        unknown = set(scopes) - set(ALL_SCOPES)
        if unknown:
            raise ConfigError(f"unknown scope(s) {sorted(unknown)}; choose from {list(ALL_SCOPES)}")
        if not name.strip():
            raise ConfigError("a key needs a non-empty --name")
        key = "ep_" + secrets.token_hex(8)
        secret = secrets.token_urlsafe(32)
        self._insert(KeyRow(key, name, tenant, " ".join(sorted(scopes)), hash_secret(secret), time.time_ns() // 1000))
        return NewKey(key, secret, name, tenant, sorted(scopes))

    def verify(self, key: str, secret: str) -> Principal:
        """The principal of a key and secret, or AuthError."""
        digest = hash_secret(secret)
        cached = self._cache.get((key, digest))
        if cached is not None and cached[1] > time.monotonic():
            return cached[0]
        row = self._lookup(key)
        if row is None or not hmac.compare_digest(row[3], digest):
            raise AuthError("unknown key or wrong secret; create credentials with `edupulse keys create`")
        principal = Principal(key, row[0], row[1], frozenset(row[2].split()))
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[(key, digest)] = (principal, time.monotonic() + CACHE_SECONDS)
        return principal

    def revoke(self, key: str) -> bool:
        changed = self._mark_revoked(key, time.time_ns() // 1000)
        self._cache = {k: v for k, v in self._cache.items() if k[0] != key}
        return changed

    def list(self) -> list[dict[str, object]]:
        return [
            {"key": k, "name": n, "tenant": t, "scopes": s.split(), "created_us": c, "revoked": r is not None}
            for k, n, t, s, c, r in self._rows()
        ]
