"""Per-source credentials: a public key and a secret, stored only as a hash.

Secrets are 256 random bits, so a plain SHA-256 is enough to make the stored hash
useless to a thief (there is nothing to guess); verification compares in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import sqlite3
import threading
import time
from pathlib import Path
from typing import Literal

import msgspec

from edupulse.errors import AuthError, ConfigError, ForbiddenError

__all__ = ["Credentials", "NewKey", "Principal", "Scope"]

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


def _hash(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


class Credentials:
    """The credential table, in ``auth.db`` under the data directory."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS api_keys (key TEXT PRIMARY KEY, name TEXT NOT NULL, tenant TEXT NOT NULL,"
            " scopes TEXT NOT NULL, secret_hash BLOB NOT NULL, created_us INTEGER NOT NULL,"
            " revoked_us INTEGER)"
        )
        self._lock = threading.Lock()
        # Verified keys are remembered briefly, so a revocation by another process
        # takes effect within CACHE_SECONDS.
        self._cache: dict[tuple[str, bytes], tuple[Principal, float]] = {}

    def create(self, name: str, *, tenant: str, scopes: tuple[str, ...] = ("ingest", "read")) -> NewKey:
        unknown = set(scopes) - set(ALL_SCOPES)
        if unknown:
            raise ConfigError(f"unknown scope(s) {sorted(unknown)}; choose from {list(ALL_SCOPES)}")
        if not name.strip():
            raise ConfigError("a key needs a non-empty --name")
        key = "ep_" + secrets.token_hex(8)
        secret = secrets.token_urlsafe(32)
        with self._lock:
            self._conn.execute(
                "INSERT INTO api_keys VALUES (?, ?, ?, ?, ?, ?, NULL)",
                (key, name, tenant, " ".join(sorted(scopes)), _hash(secret), time.time_ns() // 1000),
            )
        return NewKey(key, secret, name, tenant, sorted(scopes))

    def verify(self, key: str, secret: str) -> Principal:
        """The principal of a key and secret, or AuthError."""
        digest = _hash(secret)
        cached = self._cache.get((key, digest))
        if cached is not None and cached[1] > time.monotonic():
            return cached[0]
        with self._lock:
            row = self._conn.execute(
                "SELECT name, tenant, scopes, secret_hash FROM api_keys WHERE key=? AND revoked_us IS NULL", (key,)
            ).fetchone()
        if row is None or not hmac.compare_digest(row[3], digest):
            raise AuthError("unknown key or wrong secret; create credentials with `edupulse keys create`")
        principal = Principal(key, row[0], row[1], frozenset(row[2].split()))
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[(key, digest)] = (principal, time.monotonic() + CACHE_SECONDS)
        return principal

    def revoke(self, key: str) -> bool:
        with self._lock:
            changed = self._conn.execute(
                "UPDATE api_keys SET revoked_us=? WHERE key=? AND revoked_us IS NULL", (time.time_ns() // 1000, key)
            ).rowcount
        self._cache = {k: v for k, v in self._cache.items() if k[0] != key}
        return bool(changed)

    def list(self) -> list[dict[str, object]]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT key, name, tenant, scopes, created_us, revoked_us FROM api_keys ORDER BY created_us"
            ).fetchall()
        return [
            {"key": k, "name": n, "tenant": t, "scopes": s.split(), "created_us": c, "revoked": r is not None}
            for k, n, t, s, c, r in rows
        ]

    def close(self) -> None:
        self._conn.close()
