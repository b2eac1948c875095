"""The roster and audit log in ``roster.db`` under the data directory (the embedded deployment)."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from edupulse.roster.base import SqlRoster
from edupulse.sqlite_tx import immediate

__all__ = ["SqliteRoster"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS roster_users (tenant TEXT NOT NULL, sourced_id TEXT NOT NULL, role TEXT NOT NULL,
  username TEXT NOT NULL, identifier TEXT NOT NULL, given_name TEXT NOT NULL, family_name TEXT NOT NULL,
  email TEXT NOT NULL, lms_ids TEXT NOT NULL DEFAULT '', PRIMARY KEY (tenant, sourced_id));
CREATE INDEX IF NOT EXISTS roster_users_username ON roster_users (tenant, username);
CREATE TABLE IF NOT EXISTS roster_courses (tenant TEXT NOT NULL, sourced_id TEXT NOT NULL, title TEXT NOT NULL,
  course_code TEXT NOT NULL, PRIMARY KEY (tenant, sourced_id));
CREATE TABLE IF NOT EXISTS roster_classes (tenant TEXT NOT NULL, sourced_id TEXT NOT NULL, title TEXT NOT NULL,
  course_sourced_id TEXT NOT NULL, class_code TEXT NOT NULL, PRIMARY KEY (tenant, sourced_id));
CREATE TABLE IF NOT EXISTS roster_enrollments (tenant TEXT NOT NULL, sourced_id TEXT NOT NULL,
  class_sourced_id TEXT NOT NULL, user_sourced_id TEXT NOT NULL, role TEXT NOT NULL, PRIMARY KEY (tenant, sourced_id));
CREATE INDEX IF NOT EXISTS roster_enrollments_user ON roster_enrollments (tenant, user_sourced_id);
CREATE INDEX IF NOT EXISTS roster_enrollments_class ON roster_enrollments (tenant, class_sourced_id);
CREATE TABLE IF NOT EXISTS roster_agents (tenant TEXT NOT NULL, user_sourced_id TEXT NOT NULL,
  agent_sourced_id TEXT NOT NULL, PRIMARY KEY (tenant, user_sourced_id, agent_sourced_id));
CREATE INDEX IF NOT EXISTS roster_agents_agent ON roster_agents (tenant, agent_sourced_id);
CREATE TABLE IF NOT EXISTS audit_log (seq INTEGER PRIMARY KEY AUTOINCREMENT, at_us INTEGER NOT NULL,
  tenant TEXT NOT NULL, actor TEXT NOT NULL, roles TEXT NOT NULL, action TEXT NOT NULL, subject TEXT NOT NULL,
  purpose TEXT NOT NULL, kind TEXT NOT NULL);
CREATE TRIGGER IF NOT EXISTS audit_log_no_update BEFORE UPDATE ON audit_log
  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_log_no_delete BEFORE DELETE ON audit_log
  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
"""


class SqliteRoster(SqlRoster):
    """The roster tables and the audit log in one SQLite file."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.executescript(SCHEMA)
        columns = {row[1] for row in self._conn.execute("PRAGMA table_info(roster_users)")}
        if "lms_ids" not in columns:  # a roster.db made before LMS ids were kept
            self._conn.execute("ALTER TABLE roster_users ADD COLUMN lms_ids TEXT NOT NULL DEFAULT ''")
        self._lock = threading.Lock()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Cursor]:
        with self._lock, immediate(self._conn) as cur:
            yield cur

    def _fetch(self, sql: str, params: Sequence[object]) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._conn.execute(sql, tuple(params)).fetchall()

    def _execute(self, cursor: Any, sql: str, params: Sequence[object]) -> None:
        cursor.execute(sql, tuple(params))

    def _execute_many(self, cursor: Any, sql: str, rows: Sequence[Sequence[object]]) -> None:
        cursor.executemany(sql, rows)

    def close(self) -> None:
        self._conn.close()
