"""Credentials in ``auth.db`` under the data directory (the embedded deployment)."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any

from edupulse.privacy.credentials.base import CachedCredentials, KeyRow

__all__ = ["Credentials", "SqliteCredentials"]


class SqliteCredentials(CachedCredentials):
    """The credential table in one SQLite file."""

    def __init__(self, path: Path | str) -> None:
        super().__init__()
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

    def _insert(self, row: KeyRow) -> None:
        with self._lock:
            self._conn.execute(
                "INSERT INTO api_keys VALUES (?, ?, ?, ?, ?, ?, NULL)",
                (row.key, row.name, row.tenant, row.scopes, row.secret_hash, row.created_us),
            )

    def _lookup(self, key: str) -> tuple[str, str, str, bytes] | None:
        with self._lock:
            row: tuple[str, str, str, bytes] | None = self._conn.execute(
                "SELECT name, tenant, scopes, secret_hash FROM api_keys WHERE key=? AND revoked_us IS NULL", (key,)
            ).fetchone()
        return row

    def _mark_revoked(self, key: str, now_us: int) -> bool:
        with self._lock:
            changed = self._conn.execute(
                "UPDATE api_keys SET revoked_us=? WHERE key=? AND revoked_us IS NULL", (now_us, key)
            ).rowcount
        return bool(changed)

    def _rows(self) -> list[Any]:
        with self._lock:
            return self._conn.execute(
                "SELECT key, name, tenant, scopes, created_us, revoked_us FROM api_keys ORDER BY created_us"
            ).fetchall()

    def close(self) -> None:
        self._conn.close()


Credentials = SqliteCredentials  # the name the embedded deployment and the CLI use
