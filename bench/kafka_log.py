"""The Kafka event log on the local single-broker Kafka and PostgreSQL: appends and reads per second.

- ``append_batch``: records/s appending ``--batch`` records per call from one thread, with
  ids, digests and payloads (as ingest stores them);
- ``append_small``: calls/s of single-record appends from ``--threads`` threads at once;
- ``read``: records/s reading every partition back from offset 0, ``--read-batch`` per read,
  as the runtime does;
- ``append+read``: one record appended, then read through another handle: the time until
  it is read (p50, p99);
- ``group worker``: one statement ingested, then processed by a consumer-group worker (in a
  thread, SqliteStore): the time until its partition's offset is committed (p50, p99).

Needs ``scripts/services/kafka.sh up`` and ``scripts/services/postgres.sh up``.

    .venv/bin/python bench/kafka_log.py [--records 20000] [--batch 500] [--threads 8]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
from confluent_kafka.admin import AdminClient
from psycopg import sql

from edupulse.insights import default_operators
from edupulse.log.base import Record
from edupulse.log.kafka import KafkaLog
from edupulse.lrs.statements import StatementIngest
from edupulse.stream.group import run_group_worker
from edupulse.stream.store.sqlite import SqliteStore

PARTITIONS = 12


def _records(n: int, prefix: str) -> list[Record]:
    return [
        Record(
            f"learner-{i % 500}".encode(), b"x" * 300, 1_700_000_000_000_000 + i, f"{prefix}-{i}", b"d" * 16, b"p" * 600
        )
        for i in range(n)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--small", type=int, default=400, help="single-record appends in the concurrent stage")
    parser.add_argument("--read-batch", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=200, help="append-then-read rounds")
    args = parser.parse_args()
    servers = os.environ.get("EDUPULSE_TEST_KAFKA", "127.0.0.1:19092")
    dsn = os.environ.get("EDUPULSE_TEST_POSTGRES_DSN", "postgresql://edupulse@127.0.0.1:15432/edupulse")
    run = uuid.uuid4().hex[:10]
    log = KafkaLog(servers, dsn, schema=f"bench_{run}")
    topic = f"bench-{run}"
    log.ensure_topic(topic, PARTITIONS)

    records = _records(args.records, run)
    began = time.perf_counter()
    for i in range(0, len(records), args.batch):
        log.append(topic, records[i : i + args.batch])
    elapsed = time.perf_counter() - began
    print(f"append_batch  {args.records / elapsed:10,.0f} records/s  (batch {args.batch})")

    small = _records(args.small, run + "-s")
    began = time.perf_counter()
    with ThreadPoolExecutor(args.threads) as pool:
        list(pool.map(lambda rec: log.append(topic, [rec]), small))
    elapsed = time.perf_counter() - began
    print(f"append_small  {args.small / elapsed:10,.0f} calls/s    ({args.threads} threads)")

    reader = KafkaLog(servers, dsn, schema=f"bench_{run}", client_id="bench-reader")
    began = time.perf_counter()
    total = 0
    for part in range(PARTITIONS):
        offset = 0
        while batch := reader.read(topic, part, offset, args.read_batch):
            total += len(batch)
            offset = batch[-1].offset + 1
    elapsed = time.perf_counter() - began
    print(f"read          {total / elapsed:10,.0f} records/s  ({total} records, {args.read_batch} per read)")
    _freshness(log, reader, topic, args.rounds)
    _group_freshness(servers, dsn, f"bench_{run}", args.rounds)
    reader.close()
    log.close()
    _drop(servers, dsn, topic, f"bench_{run}")


def _freshness(log: KafkaLog, reader: KafkaLog, topic: str, rounds: int) -> None:
    """One record appended, then read by another handle (as a worker would): time until it is read."""
    waits = []
    for i in range(rounds):
        began = time.perf_counter()
        [app] = log.append(topic, [Record(b"fresh", b"v", i)])
        while not reader.read(topic, app.partition, app.offset, 10):
            pass
        waits.append(time.perf_counter() - began)
    waits.sort()
    p50, p99 = waits[len(waits) // 2] * 1000, waits[int(len(waits) * 0.99)] * 1000
    print(f"append+read   p50 {p50:6.1f} ms  p99 {p99:6.1f} ms  ({rounds} rounds)")


def _group_freshness(servers: str, dsn: str, schema: str, rounds: int) -> None:
    """One statement ingested, then processed and committed by a consumer-group worker in a thread."""
    log = KafkaLog(servers, dsn, schema=schema, client_id="bench-worker")
    topic = f"bench-group-{uuid.uuid4().hex[:8]}"
    log.ensure_topic(topic, PARTITIONS)
    ingest = StatementIngest(log, topic=topic)
    with tempfile.TemporaryDirectory() as tmp:
        store = SqliteStore(Path(tmp) / "state.sqlite")
        stop = threading.Event()
        worker = threading.Thread(
            target=run_group_worker,
            args=(log, store, default_operators(allowed_lateness_us=0)),
            kwargs={"topic": topic, "group_id": f"g-{topic}", "stop_event": stop},
        )
        worker.start()
        waits = []
        for i in range(rounds + 20):  # the first rounds wait for the group to assign the partitions
            body = json.dumps([_statement(i)]).encode()
            began = time.perf_counter()
            assert ingest.ingest(body, tenant="t").stored == 1
            while sum(store.committed_offsets(topic).values()) <= i:  # one new record per round
                time.sleep(0.0002)
            waits.append(time.perf_counter() - began)
        stop.set()
        worker.join(timeout=30)
        store.close()
    log.close()
    waits = sorted(waits[20:])
    p50, p99 = waits[len(waits) // 2] * 1000, waits[int(len(waits) * 0.99)] * 1000
    print(f"group worker  p50 {p50:6.1f} ms  p99 {p99:6.1f} ms  (ingest to committed view, {rounds} rounds)")
    _drop(servers, dsn, topic, None)


def _statement(i: int) -> dict[str, object]:
    return {
        "id": str(uuid.uuid4()),
        "actor": {"objectType": "Agent", "account": {"homePage": "https://example.edu", "name": f"l{i % 50}"}},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/answered", "display": {"en-US": "answered"}},
        "object": {"objectType": "Activity", "id": "https://example.edu/courses/c1/items/1"},
        "timestamp": "2026-09-07T09:00:00+00:00",
    }


def _drop(servers: str, dsn: str, topic: str, schema: str | None) -> None:
    """Leave nothing behind: the topic and the index schema of this run."""
    admin = AdminClient({"bootstrap.servers": servers})
    for future in admin.delete_topics([topic], operation_timeout=30).values():
        future.result(timeout=30)
    if schema is not None:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


if __name__ == "__main__":
    main()
