"""Blue/green backfill: rebuild the state with new operator code while live processing goes on.

The live runtime keeps processing into the current state (blue) while the new state
(green) is built beside it by replay's parallel workers, from the lake and the log,
with the operators this code ships (a new operator version, new views). Then green
catches up with the log in a few passes, still beside the live runtime. Only for the
last pass is live processing paused: green processes the few records that came in
meanwhile, is closed, and replaces the state file in one atomic rename, and the
runtime resumes on it. Ingest never stops (it only appends to the log); the views
answer from blue until the rename and from green after it.

This runs inside the process that processes (``processing = thread``, or a processor
process); an API process of its own keeps reading blue until it is restarted.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import msgspec

from edupulse.config import Settings
from edupulse.deployment import STATE_FILE, Deployment
from edupulse.log.base import EventLog
from edupulse.privacy.setup import open_value_opener, read_tombstones
from edupulse.replay import (
    OperatorChain,
    ReplayReport,
    build_state,
    open_replay_log,
    remove_state,
    standard_operators,
    swap_in,
)
from edupulse.stream.runtime import Runtime
from edupulse.stream.store.sqlite import SqliteStore

__all__ = ["BackfillReport", "backfill_and_swap"]

logger = logging.getLogger(__name__)
CATCH_UP_PASSES = 3


class BackfillReport(msgspec.Struct):
    """What a blue/green backfill did: the build, the catch-up, and how long live processing paused."""

    build: ReplayReport
    caught_up_events: int
    paused_ms: float


def _catch_up(settings: Settings, green: SqliteStore, log: EventLog, operators: OperatorChain) -> int:
    erased = read_tombstones(settings)
    opener = open_value_opener(settings)
    batch = settings.runtime.replay_batch_size
    runtime = Runtime(log, green, operators(settings), batch_size=batch, erased=erased, opener=opener)
    try:
        runtime.assign_all()
        return runtime.run_until_caught_up().events
    finally:
        if opener is not None:
            opener.vault.close()


def backfill_and_swap(
    deployment: Deployment, *, operators: OperatorChain = standard_operators, workers: int | None = None
) -> BackfillReport:
    """Build green with ``operators`` beside live processing, catch it up, pause briefly, swap it in, resume.

    From then on the deployment runs ``operators`` live.
    """
    settings = deployment.settings
    target = settings.data_dir / STATE_FILE
    green_path = settings.data_dir / (STATE_FILE + ".green")
    was_processing = deployment.processing is not None
    log = open_replay_log(settings)
    try:
        built = build_state(settings, green_path, previous=target, workers=workers, operators=operators)
        green = SqliteStore(green_path, changes_kept=settings.runtime.changes_kept)
        try:
            caught = sum(_catch_up(settings, green, log, operators) for _ in range(CATCH_UP_PASSES))
            paused = time.perf_counter()
            deployment.stop_processing()
            green.continue_changes_after(max(deployment.store.last_change(), green.last_change()))
            caught += _catch_up(settings, green, log, operators)
        finally:
            green.close()
        _swap(deployment, green_path, target)
        deployment.operators = list(operators(settings))
        if was_processing:
            deployment.start_processing()
        paused_ms = (time.perf_counter() - paused) * 1000
    finally:
        log.close()
        remove_state(green_path)
    logger.info("blue/green swap done: %d events rebuilt, live paused %.0f ms", built.events, paused_ms)
    return BackfillReport(built, caught, round(paused_ms, 1))


def _swap(deployment: Deployment, green_path: Path, target: Path) -> None:
    blue = deployment.store
    blue.close()  # the last connection's close checkpoints and removes its write-ahead log
    swap_in(green_path, target)
    deployment.store = SqliteStore(target, changes_kept=deployment.settings.runtime.changes_kept)
