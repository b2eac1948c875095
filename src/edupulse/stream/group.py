"""Consumer-group workers: Kafka decides which worker process runs which partitions.

Each worker joins the topic's consumer group with a consumer used for membership only:
Kafka's group coordinator assigns the partitions (cooperative-sticky, so a rebalance
moves only the partitions that must move) and the consumer's partitions stay paused,
because the records are read through the same ``EventLog.read`` path as in every
deployment. Nothing is committed to Kafka (``enable.auto.commit`` is off): offsets live
in the state store, in the transaction of the state they produced.

On assignment the worker restores the partitions' operator state and stored offsets
(``Runtime.assign``); its next read of each partition seeks there. Rebalance callbacks
run inside ``poll``, which the loop calls between micro-batches, so a revocation always
comes after the current batch was committed. An idle worker sleeps in ``EventLog.wait``,
which wakes on the PostgreSQL notification every append sends, whichever process made it.
A worker that dies is noticed by the coordinator after ``session_timeout_ms``, and its
partitions move to the others. A worker given an ``instance_id`` is a static member
(KIP-345): started again under the same id within the session timeout, it takes its
partitions back at once, without a rebalance of the others.

A worker that stalls (no poll for ``max_poll_interval_ms``, or cut off from the brokers
past the session timeout) loses its partitions while it may still hold a processed
batch. It cannot commit it: every commit names the offset it builds on
(``Commit.from_offset``), and the store refuses it with ``FencedError`` once the new
owner has committed, so nothing is counted twice. The stale worker drops the batch,
restores from the store, and learns of the revocation at its next poll.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition

from edupulse.errors import EdupulseError, FencedError, TransientError
from edupulse.log.kafka import KafkaLog
from edupulse.stream.operator import Operator
from edupulse.stream.runtime import EVENTS_TOPIC, Runtime
from edupulse.stream.store.base import StateStore

__all__ = ["GroupWorker", "run_group_worker"]

logger = logging.getLogger(__name__)


def _membership_config(servers: str, group_id: str, session_timeout_ms: int, instance_id: str | None) -> dict[str, Any]:
    """The membership consumer's settings; with ``instance_id``, a static member (KIP-345)."""
    config: dict[str, Any] = {
        "bootstrap.servers": servers,
        "group.id": group_id,
        "client.id": f"edupulse-worker-{group_id}",
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "partition.assignment.strategy": "cooperative-sticky",
        "session.timeout.ms": session_timeout_ms,
        "heartbeat.interval.ms": max(session_timeout_ms // 6, 100),
        "allow.auto.create.topics": False,
    }
    if instance_id:
        config["group.instance.id"] = instance_id
    return config


class GroupWorker:
    """One member of a consumer group, running the operators over the partitions it is given."""

    def __init__(
        self,
        log: KafkaLog,
        store: StateStore,
        operators: Sequence[Operator],
        *,
        topic: str = EVENTS_TOPIC,
        group_id: str,
        batch_size: int = 256,
        max_batch_size: int | None = None,
        session_timeout_ms: int = 10_000,
        max_poll_interval_ms: int = 300_000,
        instance_id: str | None = None,
        idle_wait_s: float = 0.1,
    ) -> None:
        self.log = log
        self.topic = topic
        self.runtime = Runtime(log, store, operators, topic=topic, batch_size=batch_size, max_batch_size=max_batch_size)
        self.idle_wait_s = idle_wait_s
        self.owned: set[int] = set()
        self.stray_messages = 0  # records the paused membership consumer delivered anyway (none expected)
        config = _membership_config(log.bootstrap_servers, group_id, session_timeout_ms, instance_id)
        config["max.poll.interval.ms"] = max(max_poll_interval_ms, session_timeout_ms)
        self._consumer = Consumer(config)

    def run(self, stop: threading.Event) -> None:
        """Join the group and process until ``stop`` is set; then leave the group cleanly."""
        self.join()
        try:
            while not stop.is_set():
                self.step(stop)
        finally:
            self.leave()

    def join(self) -> None:
        """Subscribe to the topic; the partitions come with the next polls."""
        self.log.partitions(self.topic)  # NotFoundError now rather than an idle member later
        self._consumer.subscribe(
            [self.log.physical(self.topic)],
            on_assign=self._on_assign,
            on_revoke=self._on_revoke,
            on_lost=self._on_revoke,
        )

    def step(self, stop: threading.Event) -> int:
        """Serve the group, then process one batch of each owned partition (or idle a moment)."""
        self._poll(0)
        events = self._process_once(stop)
        if not events:
            self._idle()
        return events

    def leave(self) -> None:
        """Leave the group (a dynamic member's partitions go to the others at once) and drop them."""
        self._consumer.close()
        self._release(sorted(self.owned))

    def _idle(self) -> None:
        """Nothing to do: sleep until an append is announced (or ``idle_wait_s``, to serve the group)."""
        try:
            self.log.wait(self.idle_wait_s)
        except EdupulseError as exc:
            if not exc.transient:
                raise
            logger.warning("waiting for appends failed, retrying: %s", exc)
            self._poll(self.idle_wait_s)

    def _process_once(self, stop: threading.Event) -> int:
        try:
            return self.runtime.run_once().events
        except FencedError as exc:  # the group gave a partition to another worker: its revocation follows
            logger.info("a commit was refused, another worker owns the partition now: %s", exc)
            return 0
        except EdupulseError as exc:
            if not exc.transient:
                raise
            logger.warning("transient error, retrying: %s", exc)
            stop.wait(self.idle_wait_s)
            return 0

    def _poll(self, timeout_s: float) -> None:
        """Serve the group: rebalance callbacks run here. The paused partitions deliver no records."""
        msg = self._consumer.poll(timeout_s)
        if msg is not None and msg.error() is None:
            self.stray_messages += 1
        elif msg is not None:
            err: KafkaError = msg.error()
            if err.fatal():
                raise TransientError(f"the consumer group member failed: {err.str()}") from KafkaException(err)
            logger.warning("consumer group: %s", err.str())

    # -- rebalance callbacks (called from poll) -------------------------------------

    def _on_assign(self, consumer: Any, partitions: list[TopicPartition]) -> None:
        parts = sorted(tp.partition for tp in partitions)
        consumer.incremental_assign(partitions)  # cooperative: only the added partitions
        if partitions:
            consumer.pause(partitions)
        try:
            self.runtime.assign(parts)
        except EdupulseError as exc:  # the store is away (a restart): restore them at a later pass
            if not exc.transient:
                raise
            logger.warning("could not restore partitions %s yet, retrying: %s", parts, exc)
            self.runtime.restore_later(parts)
        self.owned.update(parts)
        if parts:
            logger.info("assigned partitions %s of %s", parts, self.topic)

    def _on_revoke(self, consumer: Any, partitions: list[TopicPartition]) -> None:
        parts = sorted(tp.partition for tp in partitions)
        self._release(parts)
        if parts:
            logger.info("gave up partitions %s of %s", parts, self.topic)

    def _release(self, parts: list[int]) -> None:
        self.runtime.revoke(parts)
        self.owned.difference_update(parts)
        if parts:
            self.log.forget(self.topic, parts)


def run_group_worker(
    log: KafkaLog,
    store: StateStore,
    operators: Sequence[Operator],
    *,
    topic: str = EVENTS_TOPIC,
    group_id: str,
    stop_event: threading.Event,
    batch_size: int = 256,
    max_batch_size: int | None = None,
    session_timeout_ms: int = 10_000,
    instance_id: str | None = None,
) -> None:
    """Run one group worker until ``stop_event`` is set (the CLI's ``worker`` command calls this)."""
    worker = GroupWorker(
        log,
        store,
        operators,
        topic=topic,
        group_id=group_id,
        batch_size=batch_size,
        max_batch_size=max_batch_size,
        session_timeout_ms=session_timeout_ms,
        instance_id=instance_id,
    )
    worker.run(stop_event)
