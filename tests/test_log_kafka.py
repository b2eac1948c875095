"""What the Kafka log does beyond the shared contract: its errors, and what it keeps from readers.

The contract tests (tests/contract) run the same behaviour on every backend.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator

import psycopg
import psycopg.sql
import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

from edupulse.config import KafkaSettings, PostgresSettings
from edupulse.errors import ConfigError, TransientError
from edupulse.log.base import Record, partition_for
from edupulse.log.ids import id_keys
from edupulse.log.kafka import KafkaLog
from edupulse.log.kafka_index import MIGRATIONS
from edupulse.postgres import migrate
from tests.conftest import free_port
from tests.services import kafka_servers, postgres_dsn, track


@pytest.fixture
def kafka_log() -> Iterator[KafkaLog]:
    log = track(KafkaLog(kafka_servers(), postgres_dsn(), schema=f"test_kafka_{uuid.uuid4().hex[:12]}"))
    yield log
    log.close()


def test_unreachable_brokers_are_a_transient_error_that_says_how_to_start_kafka() -> None:
    with pytest.raises(TransientError, match=r"scripts/services/kafka\.sh up"):
        KafkaLog(f"127.0.0.1:{free_port()}", "postgresql://nobody@127.0.0.1:1/none", timeout_s=1.0)


def test_unreachable_postgres_is_an_error_that_says_how_to_start_it() -> None:
    servers = kafka_servers()
    with pytest.raises(ConfigError, match=r"scripts/services/postgres\.sh up"):
        KafkaLog(servers, f"postgresql://edupulse@127.0.0.1:{free_port()}/edupulse")


def test_from_settings_uses_the_kafka_and_postgres_settings() -> None:
    kafka = KafkaSettings(bootstrap_servers=kafka_servers(), replication_factor=1)
    log = track(KafkaLog.from_settings(kafka, PostgresSettings(dsn=postgres_dsn()), schema="test_kafka_settings"))
    try:
        assert (log.bootstrap_servers, log.dsn) == (kafka.bootstrap_servers, postgres_dsn())
    finally:
        log.close()


def test_a_record_in_kafka_whose_append_did_not_commit_is_not_read(kafka_log: KafkaLog) -> None:
    """The crash window: Kafka has the record, PostgreSQL never committed its append."""
    topic = f"kafka-{uuid.uuid4().hex[:12]}"
    kafka_log.ensure_topic(topic, 1)
    [first] = kafka_log.append(topic, [Record(b"k", b"committed", 1, payload=b"p")])
    stray = Producer({"bootstrap.servers": kafka_log.bootstrap_servers})
    stray.produce(topic, value=b"not committed", key=b"k", partition=0)
    assert stray.flush(10) == 0

    assert kafka_log.end_offsets(topic) == [2]  # Kafka's own end counts it
    assert [r.value for r in kafka_log.read(topic, 0, 0, 100)] == [b"committed"]
    assert kafka_log.read(topic, 0, 1, 100) == []
    assert kafka_log.read_payloads(topic, 0, [0, 1]) == {first.offset: b"p"}


def test_an_append_retried_after_a_crash_past_kafka_is_read_once(kafka_log: KafkaLog) -> None:
    """PostgreSQL fails after Kafka acknowledged an append; the caller retries: one copy is readable."""
    topic = f"kafka-{uuid.uuid4().hex[:12]}"
    kafka_log.ensure_topic(topic, 1)
    kafka_log.append(topic, [Record(b"k", b"before", 1, id="a")])
    batch = [Record(b"k", b"retried-1", 2, id="b"), Record(b"k", b"retried-2", 3, id="c")]
    place = kafka_log._index.place_ids

    def crash(*args: object) -> None:
        raise psycopg.OperationalError("server closed the connection unexpectedly")

    kafka_log._index.place_ids = crash  # type: ignore[method-assign]
    with pytest.raises(TransientError):
        kafka_log.append(topic, batch)
    kafka_log._index.place_ids = place  # type: ignore[method-assign]
    assert kafka_log.end_offsets(topic) == [3]  # Kafka holds the orphaned copies

    retried = kafka_log.append(topic, batch)
    assert [(a.status, a.offset) for a in retried] == [("appended", 3), ("appended", 4)]
    kafka_log.append(topic, [Record(b"k", b"after", 4, id="d")])

    reader = track(KafkaLog(kafka_servers(), postgres_dsn(), schema=kafka_log.schema))
    try:
        seen = [(r.offset, r.value) for r in reader.read(topic, 0, 0, 100)]
        assert seen == [(0, b"before"), (3, b"retried-1"), (4, b"retried-2"), (5, b"after")]
        assert [r.value for r in reader.read(topic, 0, 1, 1)] == [b"retried-1"]  # reads on past orphans
    finally:
        reader.close()


def test_concurrent_appends_share_transactions_and_store_each_id_once(kafka_log: KafkaLog) -> None:
    topic = f"kafka-{uuid.uuid4().hex[:12]}"
    kafka_log.ensure_topic(topic, 4)
    answers: dict[int, list[tuple[str, int, int]]] = {}

    def send(n: int) -> None:  # every caller also repeats one id all the others send
        records = [Record(f"l{n}-{i}".encode(), f"{n}-{i}".encode(), 1, id=f"{n}-{i}") for i in range(50)]
        records.append(Record(b"shared", b"shared", 1, id="shared"))
        answers[n] = [(a.status, a.partition, a.offset) for a in kafka_log.append(topic, records)]

    threads = [threading.Thread(target=send, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)

    assert sorted(answers) == list(range(8))
    shared = [a[-1] for a in answers.values()]
    assert len({pos[1:] for pos in shared}) == 1  # every caller points at the one stored copy
    assert sorted(status for status, _, _ in shared) == ["appended"] + ["duplicate"] * 7
    positions = [pos[1:] for a in answers.values() for pos in a[:-1]]
    assert len(set(positions)) == 8 * 50 and all(s == "appended" for a in answers.values() for s, _, _ in a[:-1])
    stored = [r for p in range(4) for r in kafka_log.read(topic, p, 0, 1000)]
    assert len(stored) == 8 * 50 + 1


def test_reading_past_the_end_returns_at_once(kafka_log: KafkaLog) -> None:
    topic = f"kafka-{uuid.uuid4().hex[:12]}"
    kafka_log.ensure_topic(topic, 2)
    kafka_log.append(topic, [Record(b"k", b"v", 1)])
    part = partition_for(b"k", 2)
    kafka_log.read(topic, part, 0, 10)

    began = time.monotonic()
    for _ in range(100):  # the idle partitions of a worker are asked again and again
        assert kafka_log.read(topic, part, 1, 10) == []
        assert kafka_log.read(topic, 1 - part, 0, 10) == []
    assert time.monotonic() - began < 2.0


def test_reads_go_on_back_and_forward_as_the_runtime_asks(kafka_log: KafkaLog) -> None:
    """Sequential reads continue from the consumer's position; a rollback reads back, a skip reads ahead."""
    topic = f"kafka-{uuid.uuid4().hex[:12]}"
    kafka_log.ensure_topic(topic, 1)
    kafka_log.append(topic, [Record(b"k", str(i).encode(), i) for i in range(50)])

    def offsets(start: int, n: int) -> list[int]:
        return [r.offset for r in kafka_log.read(topic, 0, start, n)]

    assert offsets(0, 5) == [0, 1, 2, 3, 4]
    assert offsets(5, 5) == [5, 6, 7, 8, 9]
    assert offsets(2, 3) == [2, 3, 4]  # back, as after a failed commit
    assert offsets(40, 3) == [40, 41, 42]
    assert offsets(1, 2) == [1, 2]
    assert offsets(48, 10) == [48, 49]
    assert [r.value for r in kafka_log.read(topic, 0, 0, 100)] == [str(i).encode() for i in range(50)]


def test_a_read_larger_than_a_partition_buffer_returns_every_record_at_once(kafka_log: KafkaLog) -> None:
    """Replay and a worker with a backlog read 8,000 to 50,000 records at a time: the buffer
    that pauses a partition at a few thousand records must not cut such a read short."""
    topic = f"kafka-{uuid.uuid4().hex[:12]}"
    kafka_log.ensure_topic(topic, 1)
    kafka_log.append(topic, [Record(b"k", str(i).encode(), i) for i in range(12_000)])
    assert len(kafka_log.read(topic, 0, 0, 100)) == 100  # the partition is fetched, and its buffer fills
    time.sleep(0.5)

    began = time.monotonic()
    records = kafka_log.read(topic, 0, 100, 20_000)
    assert [r.offset for r in records] == list(range(100, 12_000))
    assert time.monotonic() - began < 5.0  # not the read's 10 s deadline


def test_wait_wakes_on_an_append_through_another_handle(kafka_log: KafkaLog) -> None:
    """A worker process sleeps in wait() until another process (here: another handle) appends."""
    topic = f"kafka-{uuid.uuid4().hex[:12]}"
    kafka_log.ensure_topic(topic, 1)
    other = track(KafkaLog(kafka_log.bootstrap_servers, kafka_log.dsn, schema=kafka_log.schema))
    try:
        assert kafka_log.wait(0.2) is False  # starts listening; nothing appended yet
        timer = threading.Timer(0.3, lambda: other.append(topic, [Record(b"k", b"v", 1)]))
        timer.start()
        began = time.monotonic()
        woke = kafka_log.wait(10.0)
        elapsed = time.monotonic() - began
        timer.join()
    finally:
        other.close()

    assert woke is True
    assert elapsed < 3.0
    assert [r.value for r in kafka_log.read(topic, 0, 0, 10)] == [b"v"]


def test_a_topic_made_elsewhere_with_kafkas_retention_is_reported(
    kafka_log: KafkaLog, caplog: pytest.LogCaptureFixture
) -> None:
    topic = f"kafka-{uuid.uuid4().hex[:12]}"
    admin = AdminClient({"bootstrap.servers": kafka_log.bootstrap_servers})
    admin.create_topics([NewTopic(topic, 2, 1)])[topic].result(timeout=30)  # the broker's defaults
    kafka_log.created_topics.append(topic)  # dropped after the session like the others

    kafka_log.ensure_topic(topic, 2)

    assert "retention.ms" in caplog.text
    assert kafka_log.partitions(topic) == 2


def test_retention_never_drops_what_keep_from_protects(kafka_log: KafkaLog) -> None:
    topic = f"kafka-{uuid.uuid4().hex[:12]}"
    kafka_log.ensure_topic(topic, 1)
    kafka_log.append(topic, [Record(b"k", b"v", i, payload=b"p") for i in range(10)])

    dropped = kafka_log.apply_retention(topic, max_age_us=None, max_records=2, now_us=100, keep_from=[5])

    assert dropped == 5
    assert kafka_log.start_offsets(topic) == [5]
    assert [r.offset for r in kafka_log.read(topic, 0, 0, 100)] == [5, 6, 7, 8, 9]
    assert sorted(kafka_log.read_payloads(topic, 0, range(10))) == [5, 6, 7, 8, 9]


def test_an_index_of_an_earlier_version_is_rekeyed_and_keeps_refusing_its_ids() -> None:
    """Migration 3: the clear ids of ``record_ids`` become keyed hashes; the ids stay idempotent."""
    schema = f"test_kafka_{uuid.uuid4().hex[:12]}"
    topic = f"kafka-{uuid.uuid4().hex[:12]}"
    statement = f"statement-{uuid.uuid4()}"
    with psycopg.connect(postgres_dsn(), autocommit=True) as conn, conn.transaction():
        migrate(conn, schema, "kafka-log", MIGRATIONS[:2])  # the schema as version 2 left it
        conn.execute(
            psycopg.sql.SQL("INSERT INTO {}.record_ids VALUES (%s, %s, %s, 0, 0)").format(
                psycopg.sql.Identifier(schema)
            ),
            (topic, statement, b"digest"),
        )
    log = track(KafkaLog(kafka_servers(), postgres_dsn(), schema=schema))
    try:
        log.ensure_topic(topic, 1)
        again, changed = log.append(
            topic, [Record(b"k", b"v", 1, id=statement, digest=b"digest"), Record(b"k", b"w", 1, id=statement)]
        )
        assert (again.status, again.partition, again.offset) == ("duplicate", 0, 0)
        assert changed.status == "conflict"
        with psycopg.connect(postgres_dsn(), autocommit=True) as conn:
            ident = psycopg.sql.Identifier(schema)
            assert conn.execute("SELECT to_regclass(%s)", (f"{schema}.record_ids",)).fetchone() == (None,)
            keys = conn.execute(psycopg.sql.SQL("SELECT key FROM {}.record_keys").format(ident)).fetchall()
        assert [bytes(k) for (k,) in keys] == id_keys(topic, [statement])
    finally:
        log.close()
