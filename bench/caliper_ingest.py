"""Caliper ingest in process: events per second of checking and mapping, and of the whole path to the log.

The events are the Caliper 1.2 specification's example events (``caliperEvent*.json`` in
../shared/data/caliper_v1p2, 53 of them, every event type), copied with fresh ids up to
``--events``, in envelopes of ``--batch`` events. Figures, best of ``--repeats`` runs:

- ``json_decode``: ``msgspec.json.decode`` of each envelope, untyped (the baseline);
- ``ingest_cpu``: ``CaliperIngest.ingest`` with a log that stores nothing: envelope
  decoding, every check, the mapping, the digests and the records;
- ``ingest_total_wall``: ``CaliperIngest.ingest`` on a fresh ``SqliteLog`` (fsync'd).

    .venv/bin/python bench/caliper_ingest.py [--events 20000] [--batch 100] [--repeats 5]
"""

from __future__ import annotations

import argparse
import json
import time
import uuid
from collections.abc import Callable, Sequence

import msgspec

from _common import SHARED_DATA, emit, machine, scratch_dir, skip
from edupulse.log.base import Appended, Record
from edupulse.log.sqlite import SqliteLog
from edupulse.lrs.caliper import CaliperIngest
from edupulse.stream.runtime import EVENTS_TOPIC

V1P2 = "http://purl.imsglobal.org/ctx/caliper/v1p2"
BENCHMARK = "caliper_ingest"


class NullLog:
    """An EventLog that stores nothing: every record is new."""

    def append(self, topic: str, records: Sequence[Record], *, atomic: bool = False) -> list[Appended]:
        return [Appended("appended", 0, i) for i in range(len(records))]


def envelopes(n_events: int, batch: int) -> list[bytes]:
    directory = SHARED_DATA / "caliper_v1p2"
    examples = [json.loads(p.read_bytes()) for p in sorted(directory.glob("caliperEvent*.json"))]
    if not examples:
        skip(BENCHMARK, f"no Caliper examples in {directory}")
    events = [examples[i % len(examples)] | {"id": f"urn:uuid:{uuid.uuid4()}"} for i in range(n_events)]
    return [
        json.dumps(
            {"sensor": "https://example.edu/s", "sendTime": "2024-01-01T00:00:00Z", "dataVersion": V1P2, "data": chunk}
        ).encode()
        for chunk in (events[i : i + batch] for i in range(0, n_events, batch))
    ]


def best_of(repeats: int, run: Callable[[], None], clock: Callable[[], float]) -> float:
    times = []
    for _ in range(repeats):
        started = clock()
        run()
        times.append(clock() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    bodies = envelopes(args.events, args.batch)
    null = CaliperIngest(NullLog(), max_batch=args.batch)  # type: ignore[arg-type]

    def decode() -> None:
        for b in bodies:
            msgspec.json.decode(b)

    def ingest_cpu() -> None:
        for b in bodies:
            null.ingest(b, tenant="bench")

    def ingest_total() -> None:
        with scratch_dir("caliper-bench-") as tmp:
            log = SqliteLog(tmp / "log.db")
            log.ensure_topic(EVENTS_TOPIC, 8)
            ingest = CaliperIngest(log, max_batch=args.batch)
            for b in bodies:
                ingest.ingest(b, tenant="bench")
            log.close()

    seconds = {
        "json_decode": best_of(args.repeats, decode, time.process_time),
        "ingest_cpu": best_of(args.repeats, ingest_cpu, time.process_time),
        "ingest_total_wall": best_of(args.repeats, ingest_total, time.perf_counter),
    }
    emit(
        {
            "benchmark": BENCHMARK,
            "events": args.events,
            "batch": args.batch,
            "events_per_s": {k: round(args.events / v) for k, v in seconds.items()},
            "us_per_event": {k: round(v / args.events * 1e6, 1) for k, v in seconds.items()},
            "ratio_ingest_cpu_over_json_decode": round(seconds["ingest_cpu"] / seconds["json_decode"], 2),
            "machine": machine(),
        }
    )


if __name__ == "__main__":
    main()
