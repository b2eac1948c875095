"""Per-tenant retention: a tenant's old events leave the log, the lake and the views.

``retention.tenant_days`` names, per tenant, how many days of events to keep, by the
time edupulse stored them (the log record's timestamp, ``log_time_us`` in the lake).
Older events of that tenant, and the alerts, predictions and feature snapshots
relayed onto the log for it, are deleted from the embedded log and from every lake
table, the lake is vacuumed at once so no old file still holds them, and the state
and views are rebuilt by a replay of what remains, through the same operators: every
number served afterwards derives from the retained events only.

Run it with processing stopped (``edupulse retention apply``); it takes the
processing lock. Kafka cannot delete single records: there, the topic's own time
retention bounds the log, and this deletes from the lake and rebuilds the views.
"""

from __future__ import annotations

import time

from edupulse.config import Settings
from edupulse.deployment import LOG_FILE, STOPPING_GRACE_S, ProcessLock
from edupulse.lake.maintenance import DAY_US, RetentionReport, delete_tenant_rows
from edupulse.log.sqlite import SqliteLog
from edupulse.replay import ReplayReport, replay
from edupulse.stream.log_sender import LOG_TOPICS
from edupulse.stream.runtime import EVENTS_TOPIC

__all__ = ["apply_tenant_retention"]


def apply_tenant_retention(
    settings: Settings, *, now_us: int | None = None
) -> tuple[list[RetentionReport], ReplayReport | None]:
    """Apply every tenant's policy; returns what each deleted, and the rebuild's report (None if nothing was)."""
    now = time.time_ns() // 1000 if now_us is None else now_us
    reports = []
    lock = ProcessLock(settings.data_dir)
    lock.acquire(wait_s=STOPPING_GRACE_S)
    try:
        log = SqliteLog(settings.data_dir / LOG_FILE)
        try:
            for tenant, days in sorted(settings.retention.tenant_days.items()):
                before = now - int(days * DAY_US)
                prefix = f"{tenant}\x1f".encode()  # events and the outputs relayed onto the log are keyed by learner
                records = sum(log.delete_keys(t, prefix, before_us=before) for t in (EVENTS_TOPIC, *LOG_TOPICS))
                rows, files = delete_tenant_rows(settings, tenant, before_us=before)
                reports.append(RetentionReport(tenant, days, records, rows, files))
        finally:
            log.close()
    finally:
        lock.release()
    deleted = any(r.log_records or r.lake_rows for r in reports)
    return reports, replay(settings) if deleted else None
