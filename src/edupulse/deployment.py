"""The composition root: build the log, state store and runtime a configuration asks for.

Only the embedded deployment exists so far: SQLite files under ``data_dir``. The
scale-out deployment (Kafka and PostgreSQL) plugs in here, behind the same protocols.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from edupulse.config import Settings
from edupulse.doorbell import Doorbell
from edupulse.errors import ConfigError, EdupulseError
from edupulse.insights import default_operators
from edupulse.log.base import EventLog
from edupulse.log.sqlite import SqliteLog
from edupulse.lrs.statements import StatementIngest
from edupulse.privacy.credentials import Credentials
from edupulse.stream.runtime import EVENTS_TOPIC, Runtime
from edupulse.stream.store.base import Commit, StateStore
from edupulse.stream.store.sqlite import SqliteStore

if TYPE_CHECKING:
    from edupulse.lake.writer import LakeWriter

__all__ = ["Deployment", "ProcessLock"]

logger = logging.getLogger(__name__)

CommitHook = Callable[[Commit], None]

LOG_FILE = "log.db"
STATE_FILE = "state.db"
AUTH_FILE = "auth.db"
LOCK_FILE = "processor.lock"
RETENTION_INTERVAL_S = 60.0


class ProcessLock:
    """An exclusive lock on a data directory's processing: one processor at a time."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / LOCK_FILE
        self._fd: int | None = None

    def acquire(self) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise ConfigError(
                f"another edupulse process is already processing {self.path.parent}; "
                "stop it first (or point --data-dir elsewhere)"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd

    def held_elsewhere(self) -> bool:
        """True if another process holds the lock (a processor is running)."""
        if self._fd is not None:
            return False
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        else:
            fcntl.flock(fd, fcntl.LOCK_UN)
            return False
        finally:
            os.close(fd)

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


class Deployment:
    """The stores and services of one configuration, opened together and closed together."""

    def __init__(self, settings: Settings, *, state_file: str = STATE_FILE) -> None:
        self.settings = settings
        data_dir = settings.data_dir
        data_dir.mkdir(parents=True, exist_ok=True)
        self.log: EventLog = SqliteLog(data_dir / LOG_FILE)
        self.log.ensure_topic(EVENTS_TOPIC, settings.log.partitions)
        self.store: StateStore = SqliteStore(data_dir / state_file, changes_kept=settings.runtime.changes_kept)
        self.credentials = Credentials(data_dir / AUTH_FILE)
        self.ingest = StatementIngest(
            self.log, unknown_verbs=settings.ingest.unknown_verbs, max_batch=settings.ingest.max_batch
        )
        self.operators = default_operators(allowed_lateness_us=settings.runtime.allowed_lateness_us)
        self.store.setup([view for op in self.operators for view in op.views])
        self._worker: threading.Thread | None = None
        self.lake: LakeWriter | None = None
        self._runtime: Runtime | None = None
        self._lock = ProcessLock(data_dir)
        self._stopping = threading.Event()
        # Wake-ups across processes: API processes ring ``appended`` after each ingest,
        # the processor rings ``committed`` after each commit.
        self.appended = Doorbell(data_dir / "bells" / "appended")
        self.committed = Doorbell(data_dir / "bells" / "committed")

    def runtime(self, *, batch_size: int | None = None, on_commit: CommitHook | None = None) -> Runtime:
        """A runtime over this deployment's log and store."""
        cfg = self.settings.runtime
        return Runtime(
            self.log,
            self.store,
            self.operators,
            batch_size=batch_size or cfg.live_batch_size,
            max_batch_size=cfg.live_max_batch_size,
            on_commit=on_commit,
        )

    def start_processing(self) -> Runtime:
        """Run the live runtime over every partition in a background thread."""
        self._lock.acquire()
        self._stopping.clear()  # a deployment may process again after stop_processing()
        runtime = self.runtime(on_commit=lambda _: self.committed.ring())
        runtime.assign_all()
        idle = self.settings.runtime.idle_wait_ms / 1000

        def run() -> None:
            try:
                runtime.run_forever(idle, wait=self.appended.wait)
            except Exception:
                logger.exception("the stream runtime stopped on an error")
                raise

        self._runtime = runtime
        self._worker = threading.Thread(target=run, name="stream-runtime", daemon=True)
        self._worker.start()
        if self.settings.lake.enabled:  # the lake sink: a consumer of its own, in a thread beside the runtime
            from edupulse.lake.writer import LakeWriter  # noqa: PLC0415 - pyarrow/deltalake load only when on

            self.lake = LakeWriter(self.log, self.settings)
            self.lake.start()
        if self.settings.log.retention_hours or self.settings.log.retention_records:
            self._maintenance = threading.Thread(target=self._retention_loop, name="log-retention", daemon=True)
            self._maintenance.start()
        return runtime

    def apply_retention(self) -> int:
        """Drop log records past the retention settings, never one not yet processed."""
        cfg = self.settings.log
        committed = self.store.committed_offsets(EVENTS_TOPIC)
        if self.lake is not None:  # nor one the lake does not hold yet
            for part, offset in self.lake.offsets(EVENTS_TOPIC).items():
                committed[part] = min(offset, committed.get(part, 0))
        return self.log.apply_retention(
            EVENTS_TOPIC,
            max_age_us=int(cfg.retention_hours * 3_600_000_000) if cfg.retention_hours else None,
            max_records=cfg.retention_records,
            now_us=time.time_ns() // 1000,
            keep_from=[committed.get(p, 0) for p in range(self.log.partitions(EVENTS_TOPIC))],
        )

    def _retention_loop(self) -> None:
        while self._runtime is not None and self._runtime.alive:
            try:
                self.apply_retention()
            except EdupulseError:
                logger.exception("log retention failed; retrying later")
            self._stopping.wait(RETENTION_INTERVAL_S)

    @property
    def processing(self) -> Runtime | None:
        return self._runtime

    @property
    def processing_alive(self) -> bool:
        """True while a runtime runs (and its lake sink, if on): this process's threads, or a processor process."""
        if self._worker is not None:
            return self._worker.is_alive() and (self.lake is None or self.lake.alive)
        return self._lock.held_elsewhere()

    def stop_processing(self) -> None:
        """Stop the runtime thread after its current batch, and free the processing lock."""
        self._stopping.set()
        if self.lake is not None:
            self.lake.stop()
            self.lake = None
        if self._runtime is not None:
            self._runtime.stop()
        if self._worker is not None:
            self._worker.join(timeout=30)
            if self._worker.is_alive():  # keep the lock: a second processor must not start beside it
                logger.error("the stream runtime did not stop within 30 s; keeping the processing lock")
                return
        self._runtime = self._worker = None
        self._lock.release()

    def close(self) -> None:
        self.stop_processing()
        self.appended.close()
        self.committed.close()
        self.log.close()
        self.store.close()
        self.credentials.close()

    def __enter__(self) -> Deployment:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()
