"""The composition root: build the log, state store and runtime a configuration asks for.

Two deployments, one code path (``settings.deployment``):

- ``embedded``: SQLite files under ``data_dir``; one processor at a time, held by a
  file lock; processes wake each other with doorbells.
- ``scaleout``: Kafka for the log, PostgreSQL for state, views, offsets, the log's index
  and credentials. Any number of worker processes join one consumer group and Kafka
  assigns them the partitions; API processes are wakened by PostgreSQL notifications.
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
from typing import TYPE_CHECKING, Protocol

from edupulse.alerts import AlertLedger
from edupulse.alerts.aggregates import AggregateWatcher, aggregate_lease
from edupulse.alerts.senders import configured_senders
from edupulse.config import Settings
from edupulse.doorbell import Doorbell
from edupulse.errors import ConfigError, EdupulseError
from edupulse.insights import standard_operators
from edupulse.insights.rule_file import configured_rules
from edupulse.log.base import EventLog
from edupulse.log.kafka import KafkaLog
from edupulse.log.sqlite import SqliteLog
from edupulse.lrs.service import Lrs
from edupulse.lrs.statements import StatementIngest
from edupulse.lrs.store.sqlite import SqliteLrsStore
from edupulse.privacy.credentials import Credentials, CredentialStore
from edupulse.privacy.credentials.postgres import PostgresCredentials
from edupulse.privacy.log import ProtectedLog
from edupulse.privacy.pseudonyms import identifier_of, is_pseudonym
from edupulse.privacy.setup import open_protector
from edupulse.privacy.vault.service import IdentityVault
from edupulse.roster.base import RosterStore
from edupulse.roster.oneroster import mask_roster_people
from edupulse.roster.postgres import PostgresRoster
from edupulse.roster.sqlite import SqliteRoster
from edupulse.stream.group import GroupWorker
from edupulse.stream.log_sender import LOG_TOPICS, LogSender
from edupulse.stream.outbox import OutboxRelay, Sender
from edupulse.stream.runtime import EVENTS_TOPIC, Runtime
from edupulse.stream.store.base import Commit, StateStore
from edupulse.stream.store.postgres import PostgresStore
from edupulse.stream.store.sqlite import SqliteStore

if TYPE_CHECKING:
    from edupulse.lake.writer import LakeWriter

__all__ = ["Bell", "Deployment", "ProcessLock", "open_credentials", "open_roster"]

logger = logging.getLogger(__name__)

CommitHook = Callable[[Commit], None]

LOG_FILE = "log.db"
STATE_FILE = "state.db"
AUTH_FILE = "auth.db"
LRS_FILE = "lrs.db"
ALERTS_FILE = "alerts.db"
ROSTER_FILE = "roster.db"
LOCK_FILE = "processor.lock"
RETENTION_INTERVAL_S = 60.0
# Offline commands (replay, retention, lake sync) wait this long for a processor that is
# stopping (a server just shut down) to let go of the data directory.
STOPPING_GRACE_S = 15.0
RELAY_INTERVAL_S = 0.5  # how often the outbox relay looks for alerts to deliver


class ProcessLock:
    """An exclusive lock on a data directory's processing: one processor at a time."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / LOCK_FILE
        self._fd: int | None = None

    def acquire(self, *, wait_s: float = 0.0) -> None:
        """Take the lock; ``wait_s`` gives a processor that is stopping time to let go of it."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        deadline = time.monotonic() + wait_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() < deadline:
                    time.sleep(0.1)
                    continue
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


class Bell(Protocol):
    """A cross-process wake-up: ``ring`` after a change, ``wait`` for one."""

    def ring(self) -> None: ...

    def wait(self, timeout_s: float) -> bool: ...

    def close(self) -> None: ...


class _Silent:
    """A wake-up nobody needs to send: Kafka workers learn of appends from the log itself."""

    def ring(self) -> None:
        pass

    def wait(self, timeout_s: float) -> bool:
        time.sleep(timeout_s)
        return False

    def close(self) -> None:
        pass


class _StoreChanges:
    """Waits for commits of any worker through the store's notifications (PostgreSQL NOTIFY)."""

    def __init__(self, store: PostgresStore) -> None:
        self._store = store

    def wait(self, timeout_s: float) -> bool:
        return self._store.wait_for_changes(timeout_s)

    def ring(self) -> None:
        pass  # PostgreSQL notifies in the commit's own transaction

    def close(self) -> None:
        pass


def open_credentials(settings: Settings) -> CredentialStore:
    """The API keys of a deployment: a SQLite file under ``data_dir``, or PostgreSQL (scale-out)."""
    if settings.deployment == "scaleout":
        pg = settings.postgres
        return PostgresCredentials(pg.dsn, schema=pg.schema_name, pool_size=min(2, pg.pool_size))
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return Credentials(settings.data_dir / AUTH_FILE)


def open_roster(settings: Settings) -> RosterStore:
    """The roster and audit log of a deployment: a SQLite file under ``data_dir``, or PostgreSQL (scale-out)."""
    if settings.deployment == "scaleout":
        pg = settings.postgres
        return PostgresRoster(pg.dsn, schema=pg.schema_name, pool_size=min(2, pg.pool_size))
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return SqliteRoster(settings.data_dir / ROSTER_FILE)


def _scaleout_stores(settings: Settings) -> tuple[EventLog, PostgresStore, CredentialStore]:
    """Kafka for the log (its id index and payloads in PostgreSQL), PostgreSQL for the rest."""
    pg = settings.postgres
    log = KafkaLog.from_settings(settings.kafka, pg, schema=f"{pg.schema_name}_log")
    try:
        store = PostgresStore(
            pg.dsn,
            schema=pg.schema_name,
            pool_size=pg.pool_size,
            changes_kept=settings.runtime.changes_kept,
            synchronous_commit=pg.synchronous_commit,
        )
        try:
            credentials = open_credentials(settings)
        except BaseException:
            store.close()
            raise
    except BaseException:
        log.close()
        raise
    return log, store, credentials


class Deployment:
    """The stores and services of one configuration, opened together and closed together."""

    def __init__(self, settings: Settings, *, state_file: str = STATE_FILE) -> None:
        self.settings = settings
        self.scaleout = settings.deployment == "scaleout"
        data_dir = settings.data_dir
        self.log: EventLog
        self.store: StateStore
        self.credentials: CredentialStore
        self.appended: Bell
        self.committed: Bell
        if self.scaleout:
            self.log, store, self.credentials = _scaleout_stores(settings)
            self.store = store
            self.appended, self.committed = _Silent(), _StoreChanges(store)
        else:
            data_dir.mkdir(parents=True, exist_ok=True)
            self.log = SqliteLog(data_dir / LOG_FILE)
            self.store = SqliteStore(data_dir / state_file, changes_kept=settings.runtime.changes_kept)
            self.credentials = open_credentials(settings)
            # Wake-ups across processes: API processes ring ``appended`` after each ingest,
            # the processor rings ``committed`` after each commit.
            self.appended = Doorbell(data_dir / "bells" / "appended")
            self.committed = Doorbell(data_dir / "bells" / "committed")
        self.raw_log = self.log  # the backend itself (Kafka consumer groups need it)
        self.erased: dict[str, int] = {}
        self.vault: IdentityVault | None = None
        if settings.privacy.pseudonymise:
            try:
                self.log = ProtectedLog(self.log, open_protector(settings), topic=EVENTS_TOPIC)
                self.vault = self.log.protector.vault
                self.erased = self.vault.tombstones()
            except BaseException:
                self.raw_log.close()
                raise
        for topic in (EVENTS_TOPIC, *LOG_TOPICS):  # outputs relayed from the outbox have topics of their own
            self.log.ensure_topic(topic, settings.log.partitions)
        self.ingest = StatementIngest(
            self.log, unknown_verbs=settings.ingest.unknown_verbs, max_batch=settings.ingest.max_batch
        )
        data_dir.mkdir(parents=True, exist_ok=True)  # the LRS store is embedded in every deployment so far
        self.lrs = Lrs(
            self.log,
            SqliteLrsStore(data_dir / LRS_FILE),
            max_batch=settings.ingest.max_batch,
            unknown_verbs=settings.ingest.unknown_verbs,
            max_page=settings.lrs.max_page,
        )
        self.operators = standard_operators(settings)
        self.store.setup([view for op in self.operators for view in op.views])
        self.alerts = AlertLedger(data_dir / ALERTS_FILE)
        self.roster = open_roster(settings)
        if isinstance(self.log, ProtectedLog) and self.log.protector.scrubber is not None:
            mask_roster_people(self.log.protector.scrubber.roster, self.roster.users())  # masked in free text
        self.relay: OutboxRelay | None = None
        self.aggregates: AggregateWatcher | None = None
        self._worker: threading.Thread | None = None
        self.lake: LakeWriter | None = None
        self._runtime: Runtime | None = None
        self._lock = None if self.scaleout else ProcessLock(data_dir)
        self._stopping = threading.Event()

    def note_erased(self, pseudonym: str, erased_us: int) -> None:
        """An erasure happened: this process's runtime skips the learner's earlier events from now on,
        and drops their rows and in-memory state between two batches."""
        self.erased[pseudonym] = erased_us
        if self._runtime is not None:
            self._runtime.forget(pseudonym, erased_us)

    def _privacy_hooks(self, runtime: Runtime) -> Runtime:
        """Sealed event values opened, erasures made by other processes found between batches."""
        if self.vault is not None:
            runtime.opener = self.log.opener if isinstance(self.log, ProtectedLog) else None
            runtime.erasures = self.vault.tombstones
            runtime.erasure_poll_s = self.settings.privacy.erasure_poll_s
        return runtime

    def learner_key(self, tenant: str, learner: str) -> str:
        """How a learner is keyed in views and alerts: their pseudonym, given it or their identifier."""
        if not isinstance(self.log, ProtectedLog) or is_pseudonym(learner):
            return learner
        return self.log.protector.pseudonyms.pseudonym(tenant, identifier_of(learner))

    def runtime(self, *, batch_size: int | None = None, on_commit: CommitHook | None = None) -> Runtime:
        """A runtime over this deployment's log and store."""
        cfg = self.settings.runtime
        runtime = Runtime(
            self.log,
            self.store,
            self.operators,
            batch_size=batch_size or cfg.live_batch_size,
            max_batch_size=cfg.live_max_batch_size,
            on_commit=on_commit,
            erased=self.erased,
        )
        return self._privacy_hooks(runtime)

    def start_processing(self) -> Runtime:
        """Run the live runtime in a background thread.

        Embedded: over every partition, holding the data directory's processing lock.
        Scale-out: as a member of the Kafka consumer group, over the partitions Kafka
        assigns to this process (and reassigns when workers join, leave or die).
        """
        self._stopping.clear()  # a deployment may process again after stop_processing()
        run = self._group_member() if self.scaleout else self._all_partitions()

        def guarded() -> None:
            try:
                run()
            except Exception:
                logger.exception("the stream runtime stopped on an error")
                raise

        self._worker = threading.Thread(target=guarded, name="stream-runtime", daemon=True)
        self._worker.start()
        if self.settings.lake.enabled:  # the lake sink: a consumer of its own, in a thread beside the runtime
            from edupulse.lake.writer import LakeWriter  # noqa: PLC0415 - pyarrow/deltalake load only when on

            self.lake = LakeWriter(self.log, self.settings)
            self.lake.start()
        self.relay = self._start_relay()
        if self.settings.log.retention_hours or self.settings.log.retention_records:
            self._maintenance = threading.Thread(target=self._retention_loop, name="log-retention", daemon=True)
            self._maintenance.start()
        assert self._runtime is not None  # noqa: S101 - both builders set it
        return self._runtime

    def _start_relay(self) -> OutboxRelay:
        """Relay outputs onto their log topics (for the lake), and deliver the alert actions that have a destination.

        Roster seam: pass ``recipients=`` (who counsels a learner) to ``configured_senders``.
        """
        cfg = self.settings.rules
        ruleset = configured_rules(cfg.path)
        senders: dict[str, Sender] = {}
        if ruleset is not None:
            if ruleset.aggregates:  # wall-clock checks over the serving views, beside the relay
                lease = aggregate_lease(self.settings)  # scale-out: one watcher across processes
                self.aggregates = AggregateWatcher(self.store, ruleset.aggregates, lease=lease)
                self.aggregates.start(cfg.aggregate_interval_s)
            senders = configured_senders(cfg, aggregates=ruleset.aggregates)
        to_log = LogSender(self.log, partitions=self.settings.log.partitions)
        relay = OutboxRelay(
            self.store,
            self.alerts,
            senders,
            max_attempts=cfg.max_attempts,
            backoff_s=cfg.backoff_s,
            batch_senders=dict.fromkeys(LOG_TOPICS, to_log),
            keep_delivered_s=self.settings.runtime.outbox_kept_hours * 3600,
        )
        relay.start(RELAY_INTERVAL_S)
        return relay

    def _all_partitions(self) -> Callable[[], None]:
        if self._lock is None:
            raise ConfigError("the embedded runtime needs the data directory's processing lock")
        self._lock.acquire()
        runtime = self.runtime(on_commit=lambda _: self.committed.ring())
        runtime.assign_all()
        self._runtime = runtime
        idle = self.settings.runtime.idle_wait_ms / 1000
        return lambda: runtime.run_forever(idle, wait=self.appended.wait)

    def _group_member(self) -> Callable[[], None]:
        if not isinstance(self.raw_log, KafkaLog):
            raise ConfigError("consumer-group workers need the Kafka log (deployment=scaleout)")
        member = GroupWorker(
            self.raw_log,
            self.store,
            self.operators,
            group_id=self.settings.kafka.group_id,
            batch_size=self.settings.runtime.live_batch_size,
            max_batch_size=self.settings.runtime.live_max_batch_size,
            session_timeout_ms=self.settings.kafka.session_timeout_ms,
            instance_id=self.settings.kafka.instance_id,
        )
        member.runtime.erased = dict(self.erased)
        self._privacy_hooks(member.runtime)
        self._runtime = member.runtime
        return lambda: member.run(self._stopping)

    def apply_retention(self) -> int:
        """Drop log records past the retention settings, never one not yet processed nor one the lake lacks.

        The topics relayed from the outbox (alerts, predictions, feature snapshots) keep the
        same retention; only the lake reads them.
        """
        cfg = self.settings.log
        dropped = 0
        for topic in (EVENTS_TOPIC, *LOG_TOPICS):
            bounds = [self.store.committed_offsets(topic)] if topic == EVENTS_TOPIC else []
            if self.lake is not None:  # nor one the lake does not hold yet
                bounds.append(self.lake.offsets(topic))
            parts = self.log.partitions(topic)
            keep = [min(b.get(p, 0) for b in bounds) for p in range(parts)] if bounds else None
            dropped += self.log.apply_retention(
                topic,
                max_age_us=int(cfg.retention_hours * 3_600_000_000) if cfg.retention_hours else None,
                max_records=cfg.retention_records,
                now_us=time.time_ns() // 1000,
                keep_from=keep,
            )
        # Lineage records of commits whose offsets are all gone go with them.
        self.store.trim_lineage(EVENTS_TOPIC, dict(enumerate(self.log.start_offsets(EVENTS_TOPIC))))
        return dropped

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
        if self._lock is None:  # scale-out workers run elsewhere; their lag shows in the status
            return False
        return self._lock.held_elsewhere()

    def stop_processing(self) -> None:
        """Stop the runtime thread after its current batch, and free the processing lock."""
        self._stopping.set()
        if self.aggregates is not None:
            self.aggregates.stop()
            self.aggregates = None
        if self.relay is not None:
            self.relay.stop()
            self.relay = None
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
        if self._lock is not None:
            self._lock.release()

    def close(self) -> None:
        self.stop_processing()
        self.appended.close()
        self.committed.close()
        self.log.close()
        self.store.close()
        self.credentials.close()
        self.lrs.close()
        self.alerts.close()
        self.roster.close()

    def __enter__(self) -> Deployment:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()
