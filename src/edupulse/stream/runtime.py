"""The batch loop: read a partition's micro-batch, run the operators, commit once.

For each partition the runtime reads from the committed offset, decodes the records,
passes them through every operator in order, and commits the operators' state, view
rows, outbox messages and the next offset in one transaction of the state store. If
the commit fails, the partition's in-memory state is dropped and restored from the
store, so what is in memory never runs ahead of what is committed.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Literal

import msgspec

from edupulse import __version__
from edupulse.errors import EdupulseError
from edupulse.events.model import LearningEvent, decode_event, decode_events
from edupulse.log.base import EventLog, LogRecord
from edupulse.stream.operator import Operator
from edupulse.stream.store.base import Commit, Lineage, OutboxMessage, StateStore

__all__ = ["DEAD_LETTER_TOPIC", "EVENTS_TOPIC", "BatchStats", "Runtime"]

logger = logging.getLogger(__name__)

EVENTS_TOPIC = "learning-events"
DEAD_LETTER_TOPIC = "dead-letters"
Mode = Literal["live", "replay"]
Opener = Callable[[list[LogRecord]], list[LogRecord]]


class BatchStats(msgspec.Struct):
    """What one pass over the partitions did."""

    events: int = 0
    batches: int = 0


def lineage_of(operators: Sequence[Operator]) -> Lineage:
    """The versions a commit records: edupulse's and each operator's code, and the models operators use."""
    versions = {"edupulse": __version__, **{op.name: op.version for op in operators}}
    models = {op.name: str(v) for op in operators if (v := getattr(op, "model_version", None)) is not None}
    return Lineage(versions, models)


class Runtime:
    """Runs operators over the partitions of one topic with exactly-once effects."""

    def __init__(
        self,
        log: EventLog,
        store: StateStore,
        operators: Sequence[Operator],
        *,
        topic: str = EVENTS_TOPIC,
        batch_size: int = 256,
        max_batch_size: int | None = None,
        on_commit: Callable[[Commit], None] | None = None,
        erased: Mapping[str, int] | None = None,
        opener: Opener | None = None,
        erasures: Callable[[], Mapping[str, int]] | None = None,
        erasure_poll_s: float = 2.0,
    ) -> None:
        self.log = log
        self.erased = dict(erased or {})  # tombstones: learner -> erased at (us); older events are skipped
        # Opens event values sealed per learner (privacy.values), dropping those whose key is shredded.
        self.opener = opener
        # Live: where erasures made elsewhere (another process's admin API) are found, between batches.
        self.erasures = erasures
        self.erasure_poll_s = erasure_poll_s
        self._next_poll = 0.0
        self._forgotten: set[str] = set()
        self.erasures_applied = 0  # erasures whose rows this runtime deleted and whose state it reloaded
        self.store = store
        self.operators = list(operators)
        self.topic = topic
        self.batch_size = batch_size
        self.max_batch_size = max(batch_size, max_batch_size or batch_size)
        self._batch: dict[int, int] = {}
        self._on_commit = on_commit
        self._owned: set[int] = set()
        self._offsets: dict[int, int] = {}
        self._committed: dict[int, int] = {}  # what the store holds: each commit builds on it
        self._dead_letters: dict[int, list[OutboxMessage]] = {}
        self._unrestored: set[int] = set()  # owned, but the store could not be read to restore them
        self._stop = threading.Event()
        self.lineage = lineage_of(self.operators)
        store.setup([view for op in self.operators for view in op.views])

    # -- partition ownership --------------------------------------------------------

    def assign(self, partitions: Sequence[int]) -> None:
        """Own these partitions: restore operator state and the stored offset."""
        committed = self.store.committed_offsets(self.topic)
        for part in partitions:
            for op in self.operators:
                op.restore(part, self.store.load_state(op.name, part))
            self._offsets[part] = self._committed[part] = committed.get(part, 0)
            self._owned.add(part)

    def restore_later(self, partitions: Sequence[int]) -> None:
        """Own these partitions, to be restored at the next pass (the store cannot be read now)."""
        self.revoke(partitions)
        self._unrestored.update(partitions)

    def revoke(self, partitions: Sequence[int]) -> None:
        for part in partitions:
            for op in self.operators:
                op.revoke(part)
            self._owned.discard(part)
            self._unrestored.discard(part)
            self._offsets.pop(part, None)
            self._committed.pop(part, None)
            self._batch.pop(part, None)

    def assign_all(self) -> None:
        self.assign(range(self.log.partitions(self.topic)))

    # -- processing -----------------------------------------------------------------

    def process_partition(self, partition: int, *, checkpoint: bool = True) -> int:
        """Process one batch of a partition, and commit it unless told to wait.

        Without ``checkpoint`` the batch's effects stay in memory until ``checkpoint()``
        commits everything since the last commit at once: replay into a new store uses
        this to write each key once instead of once per batch.
        """
        offset = self._offsets[partition]
        size = self._batch.get(partition, self.batch_size)
        records = self.log.read(self.topic, partition, offset, size)
        self._batch[partition] = self._next_batch_size(size, len(records))
        if not records:
            return 0
        try:
            events = self._decode(records)
            if self.erased:
                events = self._unerased(events)
            for op in self.operators:
                op.process(partition, events)
            self._offsets[partition] = records[-1].offset + 1
            if checkpoint:
                self.checkpoint(partition)
        except BaseException:
            self._rollback(partition)
            raise
        return len(records)

    def _unerased(self, events: list[LearningEvent]) -> list[LearningEvent]:
        """Events not of an erased learner (stored before their erasure): no replay brings those back."""
        erased = self.erased
        return [e for e in events if e.learner not in erased or e.stored_time_us > erased[e.learner]]

    def _next_batch_size(self, size: int, got: int) -> int:
        """Adaptive batching: a full batch means a backlog, so read twice as many next time
        (up to ``max_batch_size``): fewer, larger commits clear it with less work per
        record. A short batch means the partition is caught up: back to the small size
        that keeps live latency low."""
        if got < size:
            return self.batch_size
        return min(size * 2, self.max_batch_size)

    def checkpoint(self, partition: int) -> None:
        """Commit the operators' changes, the outbox and the next offset in one transaction."""
        commit = Commit(
            self.topic,
            partition,
            self._offsets[partition],
            from_offset=self._committed[partition],
            lineage=self.lineage,
        )
        commit.outbox.extend(self._dead_letters.pop(partition, []))
        try:
            for op in self.operators:
                flushed = op.flush(partition)
                for key, value in flushed.state.items():
                    commit.state[(op.name, key)] = value
                for view, rows in flushed.views.items():
                    commit.views.setdefault(view, []).extend(rows)
                commit.outbox.extend(flushed.outbox)
            self.store.commit(commit)
        except BaseException:
            self._rollback(partition)
            raise
        self._committed[partition] = commit.next_offset
        if self._on_commit is not None:
            self._on_commit(commit)

    def _rollback(self, partition: int) -> None:
        """Memory must never run ahead of the store: rebuild the partition from it."""
        self._dead_letters.pop(partition, None)
        self.revoke([partition])
        self._unrestored.add(partition)
        self._restore()

    def _restore(self) -> None:
        """Restore dropped partitions, or keep them pending if the store cannot be read now.

        A server that is restarting fails the commit and then the restore; the next pass
        tries again, so a partition is never forgotten.
        """
        if self._unrestored:
            pending = sorted(self._unrestored)
            self.assign(pending)
            self._unrestored.difference_update(pending)

    def _decode(self, records: list[LogRecord]) -> list[LearningEvent]:
        """Decode a batch; a record that cannot be decoded goes to the dead letters, not in a loop."""
        if self.opener is not None:
            records = self.opener(records)
        try:
            return decode_events([r.value for r in records])
        except msgspec.DecodeError:
            pass
        events = []
        for rec in records:
            try:
                events.append(decode_event(rec.value))
            except msgspec.DecodeError as exc:
                logger.error("dead-lettering record %d/%d: %s", rec.partition, rec.offset, exc)
                payload = msgspec.json.encode({"partition": rec.partition, "offset": rec.offset, "error": str(exc)})
                key = f"{self.topic}/{rec.partition}/{rec.offset}"
                dead = OutboxMessage(DEAD_LETTER_TOPIC, key, payload, key)
                self._dead_letters.setdefault(rec.partition, []).append(dead)
        return events

    # -- erasure -------------------------------------------------------------------

    def forget(self, learner: str, erased_us: int) -> None:
        """A learner was erased: skip their events stored before ``erased_us`` from now on, and, at the
        next pass (between batches, so no batch in flight writes them back), delete their rows from the
        store and reload every owned partition's state from it, so no operator holds them in memory."""
        self.erased[learner] = erased_us
        self._forgotten.add(learner)

    def _erase_forgotten(self) -> None:
        if self.erasures is not None and time.monotonic() >= self._next_poll:
            self._next_poll = time.monotonic() + self.erasure_poll_s
            for learner, erased_us in self.erasures().items():
                if self.erased.get(learner) != erased_us:
                    self.forget(learner, erased_us)
        if not self._forgotten:
            return
        for learner in sorted(self._forgotten):
            self.store.erase_learner(learner)
            self._forgotten.discard(learner)
            self.erasures_applied += 1
        owned = sorted(self._owned)
        self.restore_later(owned)
        logger.info("erased learners removed from the store; partitions %s reloaded", owned)

    def run_once(self) -> BatchStats:
        """One batch from every owned partition that has records (after applying erasures made since)."""
        stats = BatchStats()
        self._erase_forgotten()
        self._restore()
        for part in sorted(self._owned):
            n = self.process_partition(part)
            if n:
                stats.events += n
                stats.batches += 1
        return stats

    def run_until_caught_up(
        self, progress: Callable[[int], None] | None = None, *, checkpoint_every_batch: bool = True
    ) -> BatchStats:
        """Process until every owned partition has reached the log's end offset.

        With ``checkpoint_every_batch=False`` (replay into a new store) each partition
        is committed once, when it is caught up.
        """
        total = BatchStats()
        self._restore()
        for part in sorted(self._owned):
            while n := self.process_partition(part, checkpoint=checkpoint_every_batch):
                total.events += n
                total.batches += 1
                if progress is not None:
                    progress(n)
            if not checkpoint_every_batch:
                self.checkpoint(part)
        return total

    def run_forever(self, idle_wait_s: float = 0.05, wait: Callable[[float], bool] | None = None) -> None:
        """Live loop: process whatever arrives, sleep when idle, until ``stop``.

        ``wait`` blocks until new records may have arrived (default: the log's own
        ``wait``, which sees appends made in this process).
        """
        idle = wait or self.log.wait
        while not self._stop.is_set():
            try:
                stats = self.run_once()
            except EdupulseError as exc:
                if not exc.transient:
                    raise
                logger.warning("transient error, retrying: %s", exc)
                self._stop.wait(idle_wait_s)
                continue
            if not stats.events:
                idle(idle_wait_s)

    def stop(self) -> None:
        self._stop.set()

    @property
    def alive(self) -> bool:
        """False once the loop was asked to stop."""
        return not self._stop.is_set()

    def lag(self) -> dict[int, int]:
        """Records not yet processed, per owned partition (all of them while one awaits its restore)."""
        ends = self.log.end_offsets(self.topic)
        return {p: ends[p] - self._offsets.get(p, 0) for p in sorted(self._owned | self._unrestored)}
