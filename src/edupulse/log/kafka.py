"""The scale-out event log: Apache Kafka, with ids and payloads indexed in PostgreSQL.

Records go to Kafka through an idempotent producer (``enable.idempotence``, ``acks=all``)
into the partition ``partition_for`` computes, so a key lands where the embedded log
puts it. What Kafka cannot do alone lives in PostgreSQL (``kafka_index.py``): refusing a
repeated id, keeping payloads beside records, and the committed end of each partition.

An append runs in one PostgreSQL transaction (appends that other threads make meanwhile
wait and then share the next one, ``log/group_commit.py``): lock the partitions it touches, claim its
new ids (a concurrent append of the same id waits on the unique index, then sees it),
produce the new records and wait for their delivery reports, store their positions and
payloads, advance the committed ends, NOTIFY, commit. ``read`` returns only records
below the committed end, so no reader sees a record before its payload and id are
stored; ``wait`` listens for the notifications, so it wakes on any process's appends.

If the process dies, or PostgreSQL fails, after Kafka acknowledged the records but
before the transaction committed, the records stay in Kafka while their ids are not
stored, and the caller got no answer; its retry appends them again. The next append to
the partition (holding its lock) finds the offsets between the old committed end and
its own records that it did not place, and records them as orphans in the same
transaction that moves the end past them; readers skip them. So an event is readable
once, whatever crashed (``tests/test_log_kafka.py``), and offsets keep their meaning:
a partition's offsets are increasing, with a gap where an orphan was.

Retention uses Kafka's own ``deleteRecords``; topics are created with time and size
retention off, so only ``apply_retention`` drops records. Ids are kept for good, as in
the embedded log. Kafka timestamps have milliseconds, so each record also carries its
microsecond timestamp in a header.
"""

from __future__ import annotations

import bisect
import concurrent.futures
import logging
import threading
import time
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any

import psycopg
from confluent_kafka import KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic, OffsetSpec, ResourceType
from psycopg import sql

from edupulse.config import KafkaSettings, PostgresSettings
from edupulse.errors import ConfigError, NotFoundError, TransientError
from edupulse.log.base import Appended, LogRecord, Record, partition_for
from edupulse.log.group_commit import GroupCommit
from edupulse.log.kafka_append import AppendPlan, plan_append
from edupulse.log.kafka_errors import retriable, translated
from edupulse.log.kafka_index import Conn, Index, create_schema
from edupulse.log.kafka_reader import TS_HEADER, PartitionReader
from edupulse.postgres import check_schema, open_pool

__all__ = ["KafkaLog"]

logger = logging.getLogger(__name__)

_TIMEOUT_S = 30.0
_TOPIC_CONFIG = {  # only apply_retention drops records; any event time is accepted
    "retention.ms": "-1",
    "retention.bytes": "-1",
    "message.timestamp.type": "CreateTime",
    "message.timestamp.after.max.ms": str(2**63 - 1),
    "message.timestamp.before.max.ms": str(2**63 - 1),
}
_RETRIES = 40
_OFFSETS_TIMEOUT_S = 5.0  # one attempt at listing offsets; a retry asks for fresh metadata first


class KafkaLog:
    """An ``EventLog`` on Kafka brokers plus a PostgreSQL schema; safe to share between threads."""

    def __init__(
        self,
        bootstrap_servers: str,
        dsn: str,
        *,
        schema: str = "edupulse_log",
        replication_factor: int = 1,
        client_id: str = "edupulse",
        pool_size: int = 8,
        timeout_s: float = 10.0,
        topic_prefix: str = "",
    ) -> None:
        self.bootstrap_servers = bootstrap_servers
        self.topic_prefix = topic_prefix
        self.dsn = dsn
        self.replication_factor = replication_factor
        self.schema = check_schema(schema)
        self.created_topics: list[str] = []  # by this handle, in order
        self._index = Index(schema)
        base = {"bootstrap.servers": bootstrap_servers, "client.id": client_id}
        self._admin = AdminClient(base)
        self._check_brokers(timeout_s)
        self._pool = open_pool(dsn, size=pool_size, name=f"kafka-log-{schema}", timeout_s=timeout_s)
        with self._kafka_errors("create the log's index in PostgreSQL"), self._pool.connection() as conn:
            create_schema(conn, schema)
        self._producer = Producer(
            {
                **base,
                "enable.idempotence": True,
                "acks": "all",
                "linger.ms": 1,
                "delivery.timeout.ms": int(_TIMEOUT_S * 1000),
            }
        )
        self._reader = PartitionReader(
            {
                **base,
                "group.id": f"{client_id}-reader",  # required by librdkafka; never joined, nothing committed
                "enable.auto.commit": False,
                "enable.auto.offset.store": False,
                "auto.offset.reset": "earliest",
                "allow.auto.create.topics": False,
                "fetch.wait.max.ms": 20,
                "enable.partition.eof": False,
            }
        )
        self._partitions: dict[str, int] = {}
        self._visible: dict[str, dict[int, int]] = {}
        self._orphans: dict[str, dict[int, list[tuple[int, int]]]] = {}
        self._read_lock = threading.Lock()
        self._listen_lock = threading.Lock()
        self._listener: Conn | None = None
        self._closed = False
        # Appends of concurrent threads (an API's requests) share one transaction: each
        # append locks every partition it touches, so alone they would queue one by one.
        self._grouped: GroupCommit[Record, Appended] = GroupCommit(self._append)

    @classmethod
    def from_settings(cls, kafka: KafkaSettings, postgres: PostgresSettings, **kwargs: Any) -> KafkaLog:
        return cls(
            kafka.bootstrap_servers,
            postgres.dsn,
            replication_factor=kafka.replication_factor,
            pool_size=postgres.pool_size,
            topic_prefix=kafka.topic_prefix,
            **kwargs,
        )

    def physical(self, topic: str) -> str:
        """The name a topic has on the brokers: ``topic_prefix`` + ``topic``."""
        return self.topic_prefix + topic

    # -- connections and errors -----------------------------------------------------

    def _check_brokers(self, timeout_s: float) -> None:
        with self._kafka_errors("reach the brokers"):
            self._admin.list_topics(timeout=timeout_s)

    def _kafka_errors(self, doing: str) -> AbstractContextManager[None]:
        return translated(self.bootstrap_servers, self.dsn, doing)

    # -- topics ---------------------------------------------------------------------

    def ensure_topic(self, topic: str, partitions: int) -> None:
        topic = self.topic_prefix + topic
        if partitions < 1:
            raise ConfigError(f"topic {topic!r} needs at least one partition, got {partitions}")
        new = NewTopic(topic, partitions, self.replication_factor, config=_TOPIC_CONFIG)
        with self._kafka_errors(f"create topic {topic!r}"):
            future = self._admin.create_topics([new], operation_timeout=_TIMEOUT_S)[topic]
            try:
                future.result(timeout=_TIMEOUT_S)
                self.created_topics.append(topic)
            except KafkaException as exc:
                if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                    raise
                self._check_config(topic)
        self._await_metadata(topic)

    def _check_config(self, topic: str) -> None:
        """Warn if a topic made elsewhere lets Kafka drop or re-time records behind edupulse's back."""
        resource = ConfigResource(ResourceType.TOPIC, topic)
        [future] = self._admin.describe_configs([resource], request_timeout=_TIMEOUT_S).values()
        found = {name: entry.value for name, entry in future.result(timeout=_TIMEOUT_S).items()}
        wrong = {k: found.get(k) for k in ("retention.ms", "retention.bytes", "message.timestamp.type")}
        wrong = {k: v for k, v in wrong.items() if v != _TOPIC_CONFIG[k]}
        if wrong:
            logger.warning(
                "topic %s was not created by edupulse and has %s; edupulse expects %s (Kafka's own retention "
                "would drop records the pipeline has not processed): change it with kafka-configs",
                topic,
                wrong,
                {k: _TOPIC_CONFIG[k] for k in wrong},
            )

    def _await_metadata(self, topic: str) -> None:
        """Wait until the brokers' metadata shows the topic with a leader for every partition."""
        for _ in range(200):
            try:
                self._partitions.pop(topic, None)
                self._partition_count(topic)
                return
            except NotFoundError:
                threading.Event().wait(0.05)
        raise TransientError(f"topic {topic!r} was created but its metadata did not appear")

    def partitions(self, topic: str) -> int:
        return self._partition_count(self.topic_prefix + topic)

    def _partition_count(self, topic: str) -> int:
        known = self._partitions.get(topic)
        if known is not None:
            return known
        with self._kafka_errors(f"describe topic {topic!r}"):
            meta = self._admin.list_topics(topic=topic, timeout=_TIMEOUT_S).topics.get(topic)
        if meta is None or meta.error is not None or not meta.partitions:
            raise NotFoundError(f"topic {topic!r} does not exist; start the pipeline once to create it")
        if any(p.leader < 0 for p in meta.partitions.values()):
            raise NotFoundError(f"topic {topic!r} has partitions without a leader yet")
        self._partitions[topic] = len(meta.partitions)
        return len(meta.partitions)

    # -- writing --------------------------------------------------------------------

    def append(self, topic: str, records: Sequence[Record], *, atomic: bool = False) -> list[Appended]:
        topic = self.topic_prefix + topic
        if not records:
            return []
        if atomic:  # all or nothing for this caller alone: never grouped with others
            return self._append(topic, records, atomic=True)
        return self._grouped(topic, records)

    def _append(self, topic: str, records: Sequence[Record], *, atomic: bool = False) -> list[Appended]:
        n = self._partition_count(topic)
        with self._kafka_errors(f"append to topic {topic!r}"), self._pool.connection() as conn, conn.transaction():
            self._index.lock_partitions(conn, topic, (partition_for(r.key, n) for r in records))
            plan = plan_append(self._index, conn, topic, records)
            if atomic and plan.has_conflict:
                raise psycopg.Rollback  # the claimed ids go back; nothing was produced
            positions = self._produce(topic, n, plan)
            self._store(conn, topic, plan, positions)
            self._index.notify(conn, topic)
        if atomic and plan.has_conflict:
            return plan.aborted()
        return plan.result(positions)

    def _produce(self, topic: str, partitions: int, plan: AppendPlan) -> list[tuple[int, int]]:
        """Send the plan's new records and wait for Kafka to acknowledge every one; their positions.

        Appends of other threads share the producer: each waits for its own delivery
        reports only, whichever thread's poll serves them.
        """
        if not plan.new:
            return []
        reports: list[KafkaError | tuple[int, int] | None] = [None] * len(plan.new)
        left = [len(plan.new)]
        done = threading.Event()

        def delivered(i: int) -> Any:
            def callback(err: KafkaError | None, msg: Any) -> None:
                reports[i] = err if err is not None else (msg.partition(), msg.offset())
                left[0] -= 1
                if not left[0]:
                    done.set()

            return callback

        for i, rec in enumerate(plan.new):
            self._send(topic, partition_for(rec.key, partitions), rec, delivered(i))
        deadline = time.monotonic() + _TIMEOUT_S
        while not done.is_set() and time.monotonic() < deadline:
            self._producer.poll(0.002)
        out: list[tuple[int, int]] = []
        for report in reports:
            if not isinstance(report, tuple):
                raise KafkaException(report or KafkaError(KafkaError._MSG_TIMED_OUT))
            out.append(report)
        return out

    def _send(self, topic: str, partition: int, rec: Record, callback: Any) -> None:
        while True:
            try:
                self._producer.produce(
                    topic,
                    value=rec.value,
                    key=rec.key,
                    partition=partition,
                    timestamp=max(rec.timestamp_us // 1000, 1),
                    headers=[(TS_HEADER, rec.timestamp_us.to_bytes(8, "big", signed=True))],
                    on_delivery=callback,
                )
                return
            except BufferError:  # the producer's queue is full: let it drain
                self._producer.poll(0.01)

    def _store(self, conn: Conn, topic: str, plan: AppendPlan, positions: list[tuple[int, int]]) -> None:
        ends: dict[int, int] = {}
        for part, off in positions:
            ends[part] = max(ends.get(part, 0), off + 1)
        self._index.place_ids(conn, topic, plan.placed_ids(positions))
        self._index.add_payloads(conn, topic, plan.payload_rows(positions))
        self._index.add_orphans(conn, topic, _unplaced(self._index.committed_ends(conn, topic), positions))
        self._index.advance(conn, topic, ends)

    # -- reading --------------------------------------------------------------------

    def read(self, topic: str, partition: int, offset: int, max_records: int) -> list[LogRecord]:
        topic = self.topic_prefix + topic
        with self._read_lock, self._kafka_errors(f"read topic {topic!r}"):
            while True:
                end = self._visible_end(topic, partition, offset)
                records = self._reader.read(topic, partition, offset, max_records, end)
                orphans = self._orphans.get(topic, {}).get(partition)
                if not orphans or not records:
                    return records
                kept = [r for r in records if not _within(orphans, r.offset)]
                if kept:
                    return kept
                offset = records[-1].offset + 1  # nothing but orphans: read on past them

    def _visible_end(self, topic: str, partition: int, offset: int) -> int:
        """The committed end of a partition, asked again only once a read reaches the one known.

        The orphans are asked after the ends, so they cover every offset below the ends.
        """
        ends = self._visible.get(topic, {})
        if offset >= ends.get(partition, 0):
            with self._pool.connection() as conn:
                ends = self._visible[topic] = self._index.committed_ends(conn, topic)
                self._orphans[topic] = self._index.orphans(conn, topic)
        return ends.get(partition, 0)

    def read_payloads(self, topic: str, partition: int, offsets: Sequence[int]) -> dict[int, bytes]:
        topic = self.topic_prefix + topic
        if not offsets:
            return {}
        with self._kafka_errors(f"read payloads of topic {topic!r}"), self._pool.connection() as conn:
            return self._index.payloads(conn, topic, partition, offsets)

    def end_offsets(self, topic: str) -> list[int]:
        topic = self.topic_prefix + topic
        return self._offsets(topic, OffsetSpec.latest())

    def start_offsets(self, topic: str) -> list[int]:
        topic = self.topic_prefix + topic
        return self._offsets(topic, OffsetSpec.earliest())

    def _offsets(self, topic: str, spec: OffsetSpec) -> list[int]:
        n = self._partition_count(topic)
        wanted = {TopicPartition(topic, p): spec for p in range(n)}
        with self._kafka_errors(f"list the offsets of topic {topic!r}"):
            for attempt in range(_RETRIES):
                try:
                    futures = self._admin.list_offsets(wanted, request_timeout=_OFFSETS_TIMEOUT_S)
                    found = {
                        tp.partition: int(f.result(timeout=_OFFSETS_TIMEOUT_S + 1).offset) for tp, f in futures.items()
                    }
                    return [found[p] for p in range(n)]
                except (KafkaException, concurrent.futures.TimeoutError) as exc:
                    # A new topic's leaders settle within moments; after a broker restart a
                    # request sent to a stale leader may go unanswered until the metadata is asked again.
                    if attempt == _RETRIES - 1 or (isinstance(exc, KafkaException) and not retriable(exc)):
                        raise
                    threading.Event().wait(0.05)
                    self._refresh_metadata(topic)
        raise AssertionError("unreachable")

    def _refresh_metadata(self, topic: str) -> None:
        """Ask the brokers for the topic's leaders and epochs again.

        The admin client sends offset requests with the leader epochs it cached; after a
        broker restart the broker refuses them as fenced, and librdkafka would learn the
        new epochs only at its periodic refresh (``topic.metadata.refresh.interval.ms``,
        5 minutes): until then every offset request, so the pipeline status, fails.
        """
        try:
            self._admin.list_topics(topic=topic, timeout=_TIMEOUT_S)
        except KafkaException as exc:  # the brokers are still away: the next attempt says so
            logger.debug("refreshing the metadata of %s failed: %s", topic, exc)

    def wait(self, timeout_s: float) -> bool:
        """Block until an append, by any process, may have committed since the last wait.

        Appends announce themselves with a PostgreSQL NOTIFY on commit; the first wait of a
        handle starts listening, and what arrives between two waits ends the next at once.
        """
        with self._listen_lock:
            if self._closed:
                return False
            try:
                conn = self._listening()
                return any(True for _ in conn.notifies(timeout=timeout_s, stop_after=1))
            except psycopg.Error as exc:
                if self._closed:
                    return False
                raise TransientError(f"lost the PostgreSQL connection that waits for appends: {exc}") from exc

    def _listening(self) -> Conn:
        conn = self._listener
        if conn is None or conn.closed or conn.broken:
            conn = self._listener = psycopg.connect(self.dsn, autocommit=True, connect_timeout=10)
            conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self._index.channel)))
        return conn

    def forget(self, topic: str, partitions: Sequence[int]) -> None:
        """Stop fetching partitions this process no longer reads (a worker lost them)."""
        topic = self.topic_prefix + topic
        with self._read_lock, self._kafka_errors(f"release partitions of topic {topic!r}"):
            self._reader.forget(topic, list(partitions))

    # -- retention and lifecycle ----------------------------------------------------

    def apply_retention(
        self,
        topic: str,
        *,
        max_age_us: int | None,
        max_records: int | None,
        now_us: int,
        keep_from: Sequence[int] | None = None,
    ) -> int:
        topic = self.topic_prefix + topic
        starts, ends = self._offsets(topic, OffsetSpec.earliest()), self._offsets(topic, OffsetSpec.latest())
        cuts: dict[int, int] = {}
        for part, end in enumerate(ends):
            first = end - max_records if max_records is not None else 0
            if max_age_us is not None:
                first = max(first, self._first_young(topic, part, now_us - max_age_us, starts[part], end))
            if keep_from is not None:
                first = min(first, keep_from[part])
            if min(first, end) > starts[part]:
                cuts[part] = min(first, end)
        if not cuts:
            return 0
        self._delete_records(topic, cuts)
        dropped = sum(cut - starts[part] for part, cut in cuts.items())
        logger.info("retention dropped %d records from topic %s", dropped, topic)
        return dropped

    def _first_young(self, topic: str, partition: int, cutoff_us: int, start: int, end: int) -> int:
        """The first offset whose timestamp is at or after ``cutoff_us`` (``end`` if none)."""
        with self._read_lock, self._kafka_errors(f"look up times in topic {topic!r}"):
            offset = self._reader.offset_for_time(topic, partition, max(cutoff_us // 1000, 0), _TIMEOUT_S)
            if offset < 0:
                return end
            offset = max(offset, start)
            while offset < end:  # the Kafka timestamp has milliseconds: step over the same millisecond
                batch = self._reader.read(topic, partition, offset, 1000, end)
                if not batch:
                    return end
                for rec in batch:
                    if rec.timestamp_us >= cutoff_us:
                        return rec.offset
                offset = batch[-1].offset + 1
            return end

    def _delete_records(self, topic: str, cuts: dict[int, int]) -> None:
        with self._kafka_errors(f"delete old records of topic {topic!r}"):
            futures = self._admin.delete_records(
                [TopicPartition(topic, p, off) for p, off in cuts.items()], request_timeout=_TIMEOUT_S
            )
            for future in futures.values():
                future.result(timeout=_TIMEOUT_S)
            with self._pool.connection() as conn, conn.transaction():
                for part, off in cuts.items():
                    self._index.drop_payloads(conn, topic, part, off)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._producer.flush(_TIMEOUT_S)
        with self._read_lock:
            self._reader.close()
        self._pool.close()
        with self._listen_lock:
            if self._listener is not None:
                self._listener.close()


def _unplaced(ends: dict[int, int], positions: Sequence[tuple[int, int]]) -> list[tuple[int, int, int]]:
    """(partition, first, next) ranges between each partition's committed end and the last of
    ``positions`` that ``positions`` do not hold: what appends that never committed left in Kafka."""
    placed: dict[int, list[int]] = {}
    for part, off in positions:
        placed.setdefault(part, []).append(off)
    out = []
    for part, offsets in sorted(placed.items()):
        at = ends.get(part, 0)
        for off in sorted(offsets):
            if off > at:
                out.append((part, at, off))
            at = max(at, off + 1)
    return out


def _within(ranges: Sequence[tuple[int, int]], offset: int) -> bool:
    """True if ``offset`` falls in one of the sorted ``[first, next)`` ranges."""
    i = bisect.bisect_right(ranges, (offset, 2**63)) - 1
    return i >= 0 and ranges[i][0] <= offset < ranges[i][1]
