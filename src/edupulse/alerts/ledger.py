"""What happened to alerts after the stream raised them: deliveries and the lifecycle.

One SQLite file beside the state (``alerts.db``), on purpose apart from ``state.db``:
a replay rebuilds ``state.db`` from the log, and with it the outbox, but it must
neither deliver an alert a second time nor forget who acknowledged it. So this file
keeps, per outbox idempotency key, the delivery outcome (delivered, retrying, dead),
and, per alert, the append-only history of people's actions on it.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path
from typing import Literal

import msgspec

__all__ = ["Action", "AlertAction", "AlertLedger", "Delivery", "DeliveryStatus"]

DeliveryStatus = Literal["delivered", "retrying", "dead"]
Action = Literal["acknowledged", "resolved", "reopened", "noted"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS deliveries (
    idempotency_key TEXT PRIMARY KEY,
    topic TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    last_error TEXT,
    next_attempt_us INTEGER NOT NULL,
    updated_us INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS deliveries_status ON deliveries (status, updated_us);
CREATE TABLE IF NOT EXISTS actions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant TEXT NOT NULL,
    alert_id TEXT NOT NULL,
    action TEXT NOT NULL,
    actor TEXT NOT NULL,
    note TEXT,
    at_us INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS actions_alert ON actions (tenant, alert_id, seq);
"""


class Delivery(msgspec.Struct, frozen=True):
    """Where delivering one outbox message stands."""

    idempotency_key: str
    topic: str
    status: DeliveryStatus
    attempts: int
    last_error: str | None
    next_attempt_us: int
    updated_us: int


class AlertAction(msgspec.Struct, frozen=True):
    """One thing a person did to an alert."""

    seq: int
    alert_id: str
    action: Action
    actor: str
    note: str | None
    at_us: int


def _now_us() -> int:
    return time.time_ns() // 1000


class AlertLedger:
    """Delivery outcomes and alert lifecycles, safe across threads and processes."""

    def __init__(self, path: Path) -> None:
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.executescript(_SCHEMA)
        self._lock = threading.Lock()

    # -- deliveries -----------------------------------------------------------------

    def delivery(self, key: str) -> Delivery | None:
        with self._lock:
            row = self._conn.execute("SELECT * FROM deliveries WHERE idempotency_key=?", (key,)).fetchone()
        return None if row is None else Delivery(*row)

    def record_attempt(
        self, key: str, topic: str, *, status: DeliveryStatus, error: str | None = None, next_attempt_us: int = 0
    ) -> Delivery:
        """Count one attempt at a message and what came of it."""
        now = _now_us()
        with self._lock:
            self._conn.execute(
                "INSERT INTO deliveries VALUES (?, ?, ?, 1, ?, ?, ?) ON CONFLICT (idempotency_key) DO UPDATE SET "
                "status=excluded.status, attempts=attempts + 1, last_error=excluded.last_error, "
                "next_attempt_us=excluded.next_attempt_us, updated_us=excluded.updated_us",
                (key, topic, status, error, next_attempt_us, now),
            )
            row = self._conn.execute("SELECT * FROM deliveries WHERE idempotency_key=?", (key,)).fetchone()
        return Delivery(*row)

    def deliveries(self, status: DeliveryStatus | None = None, *, limit: int = 100) -> list[Delivery]:
        """The newest delivery records, optionally of one status (``dead``: the dead letters)."""
        sql = "SELECT * FROM deliveries"
        params: tuple[object, ...] = ()
        if status is not None:
            sql += " WHERE status=?"
            params = (status,)
        with self._lock:
            rows = self._conn.execute(sql + " ORDER BY updated_us DESC LIMIT ?", (*params, limit)).fetchall()
        return [Delivery(*r) for r in rows]

    def delivery_counts(self) -> dict[str, int]:
        with self._lock:
            rows = self._conn.execute("SELECT status, count(*) FROM deliveries GROUP BY status").fetchall()
        return {status: int(n) for status, n in rows}

    # -- lifecycle --------------------------------------------------------------------

    def act(self, tenant: str, alert_id: str, action: Action, actor: str, note: str | None = None) -> AlertAction:
        """Append one action to an alert's history."""
        now = _now_us()
        with self._lock:
            cur = self._conn.execute(
                "INSERT INTO actions (tenant, alert_id, action, actor, note, at_us) VALUES (?, ?, ?, ?, ?, ?)",
                (tenant, alert_id, action, actor, note, now),
            )
            seq = int(cur.lastrowid or 0)
        return AlertAction(seq, alert_id, action, actor, note, now)

    def history(self, tenant: str, alert_ids: list[str]) -> dict[str, list[AlertAction]]:
        """Every action on these alerts, oldest first."""
        out: dict[str, list[AlertAction]] = {a: [] for a in alert_ids}
        for start in range(0, len(alert_ids), 500):
            chunk = alert_ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            sql = (
                "SELECT seq, alert_id, action, actor, note, at_us FROM actions "  # noqa: S608 - placeholders only
                f"WHERE tenant=? AND alert_id IN ({marks}) ORDER BY seq"
            )
            with self._lock:
                rows = self._conn.execute(sql, (tenant, *chunk)).fetchall()
            for row in rows:
                out[row[1]].append(AlertAction(*row))
        return out

    def close(self) -> None:
        with self._lock:
            self._conn.close()
