"""Rebuild all state from the log, at full speed, through the same operators.

When the log's retention has dropped old records, and the lake holds them (its events
table exists), the oldest part of each partition is read from the lake and the rest
from the log, in offset order (``lake.source``).

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
from edupulse.deployment import LOG_FILE, STATE_FILE, STOPPING_GRACE_S, ProcessLock
from edupulse.errors import TerminalError, TransientError
from edupulse.insights import standard_operators
from edupulse.lake import EVENTS_TABLE
from edupulse.log.base import EventLog
from edupulse.log.sqlite import SqliteLog
from edupulse.memory import peak_rss_mib
from edupulse.privacy.setup import open_value_opener, read_tombstones
from edupulse.stream.operator import Operator
from edupulse.stream.runtime import EVENTS_TOPIC, Runtime
from edupulse.stream.store.sqlite import SqliteStore

__all__ = [
    "OperatorChain",
    "ReplayReport",
    "build_state",
    "open_replay_log",
    "remove_state",
    "replay",
    "standard_operators",
    "swap_in",
]

Progress = Callable[[int], None]
# Makes the operator chain to rebuild with; a module-level function, so workers can receive it.
OperatorChain = Callable[[Settings], Sequence[Operator]]


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
    """Rebuild ``state.db`` from every record still in the log (and the lake)."""
    data_dir = settings.data_dir
    lock = ProcessLock(data_dir)
    lock.acquire(wait_s=STOPPING_GRACE_S)
    target = data_dir / STATE_FILE
    building = data_dir / (STATE_FILE + ".replay")
    try:
        report = build_state(settings, building, previous=target, workers=workers, progress=progress, total=total)
        swap_in(building, target)
    finally:
        remove_state(building)  # a failed replay leaves the old state as it was, and no debris
        lock.release()
    return report


def build_state(
    settings: Settings,
    building: Path,
    *,
    previous: Path,
    workers: int | None = None,
    progress: Progress | None = None,
    total: Progress | None = None,
    operators: OperatorChain = standard_operators,
) -> ReplayReport:
    """Build a new state file at ``building`` from the log, with change numbers continuing ``previous``'s."""
    groups = _plan(settings, workers, total)
    parts = [building.with_name(f"{building.name}.{i}") for i in range(len(groups))]
    remove_state(building)
    started = time.perf_counter()
    try:
        results = _run(settings, groups, parts, progress, operators)
        _merge(settings, building, parts, previous=previous)
    finally:
        for path in parts:
            _remove_db(path)
    seconds = time.perf_counter() - started
    events = sum(r.events for r in results)
    peak = peak_rss_mib() + sum(r.peak_rss_mib for r in results if len(results) > 1)
    rate = events / seconds if seconds > 0 else 0.0
    return ReplayReport(events, round(seconds, 3), round(rate, 1), round(peak, 1), len(groups))


def swap_in(building: Path, target: Path) -> None:
    """Make a closed, built state file the state, in one atomic rename."""
    for suffix in ("-wal", "-shm"):  # a stale write-ahead log must never meet the new file
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    os.replace(building, target)


def remove_state(path: Path) -> None:
    """Remove a state file being built, with its parts and write-ahead logs."""
    for found in (path, *path.parent.glob(path.name + ".*")):
        _remove_db(found)


def open_replay_log(settings: Settings, partitions: Sequence[int] | None = None) -> EventLog:
    """The log to replay: with a lake events table, its rows first, where the log has dropped them."""
    log = SqliteLog(settings.data_dir / LOG_FILE)
    table = settings.lake_path / EVENTS_TABLE
    if not (table / "_delta_log").is_dir():
        return log
    from edupulse.lake.source import LakeBackedLog  # noqa: PLC0415 - pyarrow/deltalake load only with a lake

    try:
        return LakeBackedLog(log, table, EVENTS_TOPIC, partitions=partitions)
    except BaseException:
        log.close()
        raise


def _plan(settings: Settings, workers: int | None, total: Progress | None) -> list[list[int]]:
    """Partitions per worker: one worker per core, but never more than there is work for."""
    log = open_replay_log(settings)
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


def _run(
    settings: Settings,
    groups: list[list[int]],
    parts: list[Path],
    progress: Progress | None,
    operators: OperatorChain,
) -> list[_Part]:
    if len(groups) == 1:
        return [_rebuild(settings, groups[0], parts[0], progress, operators)]
    ctx = multiprocessing.get_context("spawn")  # no threads or open files cross into the workers
    messages: multiprocessing.Queue[tuple[str, int, object]] = ctx.Queue()
    workers = [
        ctx.Process(target=_worker, args=(i, settings, group, part, messages, operators), name=f"edupulse-replay-{i}")
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


def _worker(  # noqa: PLR0917 - a process target takes its arguments by position
    index: int,
    settings: Settings,
    partitions: list[int],
    path: Path,
    messages: multiprocessing.Queue[tuple[str, int, object]],
    operators: OperatorChain,
) -> None:
    try:
        part = _rebuild(settings, partitions, path, lambda n: messages.put(("progress", index, n)), operators)
    except Exception as exc:  # the parent reports it; a traceback here would be lost
        messages.put(("error", index, f"{type(exc).__name__}: {exc}"))
        raise
    messages.put(("done", index, msgspec.to_builtins(part)))


def _rebuild(
    settings: Settings, partitions: Sequence[int], path: Path, progress: Progress | None, operators: OperatorChain
) -> _Part:
    log = open_replay_log(settings, partitions)
    store = SqliteStore(path, serving=False)
    opener = open_value_opener(settings)
    try:
        erased = read_tombstones(settings)
        batch = settings.runtime.replay_batch_size
        runtime = Runtime(log, store, operators(settings), batch_size=batch, erased=erased, opener=opener)
        runtime.assign(partitions)
        stats = runtime.run_until_caught_up(progress, checkpoint_every_batch=False)
    finally:
        if opener is not None:
            opener.vault.close()
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
