"""The Kafka event log on the local single-broker Kafka and PostgreSQL: appends and reads per second.

- ``append_batch``: records/s appending ``--batch`` records per call from one thread, with
  ids, digests and payloads (as ingest stores them);
- ``append_small``: calls/s of single-record appends from ``--threads`` threads at once;
- ``read``: records/s reading every partition back from offset 0, ``--read-batch`` per read,
  as the runtime does.

Needs ``scripts/services/kafka.sh up`` and ``scripts/services/postgres.sh up``.

    .venv/bin/python bench/kafka_log.py [--records 20000] [--batch 500] [--threads 8]
"""

from __future__ import annotations

import argparse
import os
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

from edupulse.log.base import Record
from edupulse.log.kafka import KafkaLog

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
    args = parser.parse_args()
    servers = os.environ.get("EDUPULSE_TEST_KAFKA", "127.0.0.1:59092")
    dsn = os.environ.get("EDUPULSE_TEST_POSTGRES_DSN", "postgresql://edupulse@127.0.0.1:55432/edupulse")
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
    reader.close()
    log.close()


if __name__ == "__main__":
    main()
