"""Rebuild all state from the log, at full speed, through the same operators.

Partitions are independent (a learner's events never leave theirs), so a replay splits
them over worker processes, one per core by default. Each worker rebuilds its
partitions into a file of its own; the files are then merged into a new state file
(their rows are disjoint by construction) and swapped in with one atomic rename
(blue/green): a reader sees the old state or the new, never a half-built one.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import msgspec

from edupulse.config import Settings
from edupulse.deployment import LOG_FILE, STATE_FILE, ProcessLock
from edupulse.errors import TerminalError, TransientError
from edupulse.insights import default_operators
from edupulse.log.sqlite import SqliteLog
from edupulse.memory import peak_rss_mib
from edupulse.ml.mastery_model import load_model
from edupulse.stream.runtime import EVENTS_TOPIC, Runtime
from edupulse.stream.store.sqlite import SqliteStore

__all__ = ["ReplayReport", "replay"]

Progress = Callable[[int], None]


class ReplayReport(msgspec.Struct):
    """What a replay did, and how fast. Memory is the sum of every process's peak."""

    events: int
    seconds: float
    events_per_second: float
    peak_rss_mib: float
    workers: int


class _Part(msgspec.Struct):
    events: int
    peak_rss_mib: float


def replay(
    settings: Settings,
    *,
    workers: int | None = None,
    progress: Progress | None = None,
    total: Progress | None = None,
) -> ReplayReport:
    """Rebuild ``state.db`` from every record still in the log."""
    data_dir = settings.data_dir
    lock = ProcessLock(data_dir)
    lock.acquire()
    target = data_dir / STATE_FILE
    building = data_dir / (STATE_FILE + ".replay")
    try:
        groups = _plan(settings, workers, total)
        parts = [building.with_name(f"{building.name}.{i}") for i in range(len(groups))]
        for path in (building, *parts):
            _remove_db(path)
        started = time.perf_counter()
        results = _run(settings, groups, parts, progress)
        _merge(settings, building, parts, previous=target)
        seconds = time.perf_counter() - started
        for suffix in ("-wal", "-shm"):  # a stale write-ahead log must never meet the new file
            Path(f"{target}{suffix}").unlink(missing_ok=True)
        os.replace(building, target)
    finally:
        for path in (building, *building.parent.glob(building.name + ".*")):
            _remove_db(path)  # a failed replay leaves the old state as it was, and no debris
        lock.release()
    events = sum(r.events for r in results)
    peak = peak_rss_mib() + sum(r.peak_rss_mib for r in results if len(results) > 1)
    rate = events / seconds if seconds > 0 else 0.0
    return ReplayReport(events, round(seconds, 3), round(rate, 1), round(peak, 1), len(groups))


def _plan(settings: Settings, workers: int | None, total: Progress | None) -> list[list[int]]:
    """Partitions per worker: one worker per core, but never more than there is work for."""
    log = SqliteLog(settings.data_dir / LOG_FILE)
    try:
        ends = log.end_offsets(EVENTS_TOPIC)
        backlog = sum(ends) - sum(log.start_offsets(EVENTS_TOPIC))
    finally:
        log.close()
    if total is not None:
        total(backlog)
    wanted = workers or (os.cpu_count() or 1)
    if workers is None and backlog < MIN_EVENTS_PER_WORKER * 2:
        wanted = 1
    n = max(1, min(wanted, len(ends)))
    return [list(range(i, len(ends), n)) for i in range(n)]


MIN_EVENTS_PER_WORKER = 100_000  # below this, starting a process costs more than it saves


def _run(settings: Settings, groups: list[list[int]], parts: list[Path], progress: Progress | None) -> list[_Part]:
    if len(groups) == 1:
        return [_rebuild(settings, groups[0], parts[0], progress)]
    ctx = multiprocessing.get_context("spawn")  # no threads or open files cross into the workers
    messages: multiprocessing.Queue[tuple[str, int, object]] = ctx.Queue()
    workers = [
        ctx.Process(target=_worker, args=(i, settings, group, part, messages), name=f"edupulse-replay-{i}")
        for i, (group, part) in enumerate(zip(groups, parts, strict=True))
    ]
    for proc in workers:
        proc.start()
    try:
        return _collect(messages, workers, progress)
    finally:
        for proc in workers:
            if proc.is_alive():
                proc.terminate()
            proc.join(timeout=10)


def _collect(
    messages: multiprocessing.Queue[tuple[str, int, object]],
    workers: Sequence[multiprocessing.process.BaseProcess],
    progress: Progress | None,
) -> list[_Part]:
    """Relay the workers' progress until each has sent its result (or one failed)."""
    results: dict[int, _Part] = {}
    while len(results) < len(workers):
        try:
            kind, index, value = messages.get(timeout=0.5)
        except queue.Empty:
            if all(p.is_alive() for i, p in enumerate(workers) if i not in results):
                continue
            try:  # its last words may still be in the pipe
                kind, index, value = messages.get(timeout=2)
            except queue.Empty:  # killed, or out of memory: it could not say so itself
                raise TransientError("a replay worker died; the old state is untouched, run replay again") from None
        if kind == "progress" and progress is not None:
            progress(int(value))  # type: ignore[call-overload]
        elif kind == "done":
            results[index] = msgspec.convert(value, _Part)
        elif kind == "error":
            raise TerminalError(f"replay worker {index} failed: {value}")
    return [results[i] for i in range(len(workers))]


def _worker(
    index: int,
    settings: Settings,
    partitions: list[int],
    path: Path,
    messages: multiprocessing.Queue[tuple[str, int, object]],
) -> None:
    try:
        part = _rebuild(settings, partitions, path, lambda n: messages.put(("progress", index, n)))
    except Exception as exc:  # the parent reports it; a traceback here would be lost
        messages.put(("error", index, f"{type(exc).__name__}: {exc}"))
        raise
    messages.put(("done", index, msgspec.to_builtins(part)))


def _rebuild(settings: Settings, partitions: Sequence[int], path: Path, progress: Progress | None) -> _Part:
    log = SqliteLog(settings.data_dir / LOG_FILE)
    store = SqliteStore(path, serving=False)
    try:
        operators = default_operators(
            allowed_lateness_us=settings.runtime.allowed_lateness_us, mastery=load_model(settings.data_dir)
        )
        runtime = Runtime(log, store, operators, batch_size=settings.runtime.replay_batch_size)
        runtime.assign(partitions)
        stats = runtime.run_until_caught_up(progress, checkpoint_every_batch=False)
    finally:
        store.close()
        log.close()
    return _Part(stats.events, peak_rss_mib())


def _merge(settings: Settings, building: Path, parts: list[Path], *, previous: Path) -> None:
    store = SqliteStore(building, changes_kept=settings.runtime.changes_kept)
    try:
        store.absorb(parts)
        if previous.exists():
            # Live streams resume by change number: keep numbering after the old state's.
            old = SqliteStore(previous)
            try:
                store.continue_changes_after(old.last_change())
            finally:
                old.close()
    finally:
        store.close()


def _remove_db(path: Path) -> None:
    for suffix in ("-wal", "-shm", ""):
        Path(str(path) + suffix).unlink(missing_ok=True)
