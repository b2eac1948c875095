"""Rebuild all state from the log, at full speed, through the same operators.

The new state is built in a separate file while the old one stays readable, then
swapped in with one atomic rename (blue/green): a reader sees the old state or the
new, never a half-built one.
"""

from __future__ import annotations

import os
import resource
import time
from collections.abc import Callable
from pathlib import Path

import msgspec

from edupulse.config import Settings
from edupulse.deployment import LOG_FILE, STATE_FILE, ProcessLock
from edupulse.insights import default_operators
from edupulse.log.sqlite import SqliteLog
from edupulse.stream.runtime import BatchStats, Runtime
from edupulse.stream.store.sqlite import SqliteStore

__all__ = ["ReplayReport", "replay"]


class ReplayReport(msgspec.Struct):
    """What a replay did, and how fast."""

    events: int
    seconds: float
    events_per_second: float
    peak_rss_mib: float


def replay(
    settings: Settings,
    *,
    progress: Callable[[int], None] | None = None,
    total: Callable[[int], None] | None = None,
) -> ReplayReport:
    """Rebuild ``state.db`` from every record still in the log."""
    data_dir = settings.data_dir
    lock = ProcessLock(data_dir)
    lock.acquire()
    target = data_dir / STATE_FILE
    building = data_dir / (STATE_FILE + ".replay")
    try:
        _remove_db(building)
        stats, seconds = _rebuild(settings, building, progress=progress, total=total)
        for suffix in ("-wal", "-shm"):  # a stale write-ahead log must never meet the new file
            Path(f"{target}{suffix}").unlink(missing_ok=True)
        os.replace(building, target)
    finally:
        _remove_db(building)  # a failed replay leaves the old state as it was, and no debris
        lock.release()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rate = stats.events / seconds if seconds > 0 else 0.0
    return ReplayReport(stats.events, round(seconds, 3), round(rate, 1), round(peak, 1))


def _rebuild(
    settings: Settings,
    path: Path,
    *,
    progress: Callable[[int], None] | None,
    total: Callable[[int], None] | None,
) -> tuple[BatchStats, float]:
    log = SqliteLog(settings.data_dir / LOG_FILE)
    store = SqliteStore(path, changes_kept=settings.runtime.changes_kept)
    try:
        lateness = int(settings.runtime.allowed_lateness_hours * 3_600_000_000)
        runtime = Runtime(
            log, store, default_operators(allowed_lateness_us=lateness), batch_size=settings.runtime.replay_batch_size
        )
        runtime.assign_all()
        if total is not None:
            total(sum(runtime.lag().values()))
        started = time.perf_counter()
        stats = runtime.run_until_caught_up(progress)
        return stats, time.perf_counter() - started
    finally:
        store.close()
        log.close()


def _remove_db(path: Path) -> None:
    for suffix in ("-wal", "-shm", ""):
        Path(str(path) + suffix).unlink(missing_ok=True)
