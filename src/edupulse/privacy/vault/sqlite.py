"""The identity vault in ``vault.db`` under the data directory (the embedded deployment).

``secure_delete`` is on: a deleted row's bytes are overwritten with zeros, and an
erasure ends with a checkpoint that truncates the write-ahead log, so a shredded key
leaves no copy in the file or its WAL.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path

from edupulse.privacy.vault.base import VaultRow
from edupulse.sqlite_tx import immediate

__all__ = ["SqliteVaultRows"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS identities (
    pseudonym TEXT PRIMARY KEY, tenant TEXT NOT NULL, key_id TEXT NOT NULL,
    wrapped_key BLOB NOT NULL, identity BLOB NOT NULL, created_us INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS tombstones (
    pseudonym TEXT PRIMARY KEY, tenant TEXT NOT NULL, erased_us INTEGER NOT NULL) WITHOUT ROWID;
"""


class SqliteVaultRows:
    """Vault rows in one SQLite file; safe to share between threads and processes."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA secure_delete=ON")
        self._conn.executescript(_SCHEMA)
        self._lock = threading.Lock()

    def wrapped_keys(self, pseudonyms: Sequence[str]) -> dict[str, tuple[str, bytes]]:
        out: dict[str, tuple[str, bytes]] = {}
        with self._lock:
            for start in range(0, len(pseudonyms), 500):
                chunk = list(pseudonyms[start : start + 500])
                marks = ",".join("?" * len(chunk))
                query = f"SELECT pseudonym, key_id, wrapped_key FROM identities WHERE pseudonym IN ({marks})"  # noqa: S608
                for pseudonym, kid, wrapped in self._conn.execute(query, chunk):
                    out[pseudonym] = (kid, wrapped)
        return out

    def insert(self, rows: Sequence[VaultRow]) -> None:
        values = [(r.pseudonym, r.tenant, r.key_id, r.wrapped_key, r.identity, r.created_us) for r in rows]
        with self._lock, immediate(self._conn) as cur:
            cur.executemany("INSERT OR IGNORE INTO identities VALUES (?, ?, ?, ?, ?, ?)", values)

    def row(self, pseudonym: str) -> VaultRow | None:
        query = "SELECT tenant, key_id, wrapped_key, identity, created_us FROM identities WHERE pseudonym = ?"
        with self._lock:
            found = self._conn.execute(query, (pseudonym,)).fetchone()
        if found is None:
            return None
        return VaultRow(found[0], pseudonym, found[1], found[2], found[3], found[4])

    def erase(self, tenant: str, pseudonym: str, erased_us: int) -> bool:
        with self._lock:
            with immediate(self._conn) as cur:
                deleted = cur.execute("DELETE FROM identities WHERE pseudonym = ?", (pseudonym,)).rowcount
                cur.execute("INSERT OR REPLACE INTO tombstones VALUES (?, ?, ?)", (pseudonym, tenant, erased_us))
            self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return deleted > 0

    def tombstones(self) -> dict[str, int]:
        with self._lock:
            return dict(self._conn.execute("SELECT pseudonym, erased_us FROM tombstones").fetchall())

    def all_keys(self) -> list[tuple[str, str, bytes]]:
        with self._lock:
            return list(self._conn.execute("SELECT pseudonym, key_id, wrapped_key FROM identities").fetchall())

    def rewrap(self, updates: Sequence[tuple[str, str, bytes]]) -> None:
        values = [(kid, wrapped, pseudonym) for pseudonym, kid, wrapped in updates]
        with self._lock:
            with immediate(self._conn) as cur:
                cur.executemany("UPDATE identities SET key_id = ?, wrapped_key = ? WHERE pseudonym = ?", values)
            self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # no old wrapping left in the WAL

    def close(self) -> None:
        with self._lock:
            self._conn.close()
