"""The ingest path in process: microseconds per statement of each stage, no HTTP, no runtime.

Every stage runs on the 22,000 statements in request bodies of ``--batch`` statements, and
each figure is compared with the plain msgspec JSON decode of the same bodies, measured in
the same run, so figures from a busy machine or another CPU stay comparable:

- ``json_decode``: ``msgspec.json.decode`` of each body, untyped (the baseline);
- ``decode_check``: ``decode_statements``: typed decoding and the checks;
- ``map``: verb look-up, ``to_event`` and ``encode_event`` of every decoded statement;
- ``digest``: the idempotency digest of every decoded statement;
- ``ingest_cpu``: ``StatementIngest.ingest`` with a log that stores nothing (all of the above,
  plus building the records);
- ``append_cpu``, ``append_wall``: ``SqliteLog.append`` of the ready records, one append
  per body, on a fresh log;
- ``ingest_total_cpu``, ``ingest_total_wall``: ``StatementIngest.ingest`` on a fresh
  ``SqliteLog``: the whole path, in sequence. ``ratio`` is its CPU over ``json_decode``.

CPU stages report the best of ``--repeats`` runs; log stages report wall time and the CPU
time of the whole process (writer and background threads included), best of
``--log-repeats`` runs. The prepared data is frozen out of the garbage collector
(``gc.freeze``), so collections only ever walk what a stage itself allocates.

    .venv/bin/python bench/ingest_path.py [--batch 1000] [--repeats 7] [--log-repeats 5]
"""

from __future__ import annotations

import argparse
import gc
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import msgspec

from _common import (
    STATEMENTS,
    busy_core_seconds,
    chunks,
    emit,
    json_array,
    load_statements,
    machine,
    scratch_dir,
    wait_for_quiet,
)
from edupulse.errors import InvalidEventError
from edupulse.events.model import encode_event
from edupulse.events.vocabulary import Verb
from edupulse.events.xapi import Statement, decode_statements, digest, id_text, to_event, verb_of
from edupulse.log.base import Appended, Record
from edupulse.log.sqlite import SqliteLog
from edupulse.lrs.statements import StatementIngest
from edupulse.stream.runtime import EVENTS_TOPIC

PARTITIONS = 8  # the default of ``log.partitions``
TENANT = "bench"


class NullLog:
    """An EventLog that stores nothing: every record is new."""

    def append(self, topic: str, records: Sequence[Record], *, atomic: bool = False) -> list[Appended]:
        return [Appended("appended", 0, i) for i in range(len(records))]


def best_of(repeats: int, run: Callable[[], None]) -> float:
    """The shortest process CPU time of ``repeats`` runs, in seconds."""
    times = []
    for _ in range(repeats):
        started = time.process_time()
        run()
        times.append(time.process_time() - started)
    return min(times)


def decoded(bodies: Sequence[bytes]) -> list[tuple[Statement, bytes]]:
    out = []
    for body in bodies:
        for item in decode_statements(body):
            if isinstance(item.statement, InvalidEventError):
                raise SystemExit(f"ingest_path: the data set holds a bad statement: {item.statement}")
            if item.statement.id is None:
                raise SystemExit(f"ingest_path: statement {item.index} of a body has no id")
            out.append((item.statement, item.raw))
    return out


def mapped(stmt: Statement, raw: bytes, stored_us: int) -> Record:
    """The record ingest appends for a statement: the event, and the statement as its payload."""
    verb = verb_of(stmt.verb) or Verb.OTHER
    event = to_event(stmt, b"", tenant=TENANT, event_id=id_text(stmt.id), stored_us=stored_us, verb=verb)
    return Record(
        event.partition_key, encode_event(event), stored_us, f"{TENANT}:{id_text(stmt.id)}", digest(stmt), raw
    )


def cpu_stages(bodies: Sequence[bytes], repeats: int) -> dict[str, float]:
    """Seconds of CPU of each in-memory stage over all bodies; every result is dropped at once."""
    items = decoded(bodies)
    plain = msgspec.json.Decoder()
    stored_us = time.time_ns() // 1000
    ingest = StatementIngest(NullLog())  # type: ignore[arg-type]  # only append is used
    gc.collect()
    gc.freeze()  # the prepared data is not the stages' garbage to collect

    def json_decode() -> None:
        for body in bodies:
            plain.decode(body)

    def decode_check() -> None:
        for body in bodies:
            for _ in decode_statements(body):
                pass

    def map_all() -> None:
        for stmt, _ in items:
            _map_only(stmt, stored_us)

    def digest_all() -> None:
        for stmt, _ in items:
            digest(stmt)

    def ingest_all() -> None:
        for body in bodies:
            ingest.ingest(body, tenant=TENANT)

    stages = {"json_decode": json_decode, "decode_check": decode_check, "map": map_all, "digest": digest_all}
    return {name: best_of(repeats, run) for name, run in (stages | {"ingest_cpu": ingest_all}).items()}


def _map_only(stmt: Statement, stored_us: int) -> bytes:
    verb = verb_of(stmt.verb) or Verb.OTHER
    return encode_event(to_event(stmt, b"", tenant=TENANT, event_id=id_text(stmt.id), stored_us=stored_us, verb=verb))


def log_stage(root: Path, bodies: Sequence[bytes], repeats: int, *, whole_path: bool) -> dict[str, float]:
    """Best wall and CPU seconds of appending every body to a fresh log (or ingesting it)."""
    items = decoded(bodies)
    stored_us = time.time_ns() // 1000
    per_body = [[mapped(s, r, stored_us) for s, r in chunk] for chunk in chunks(items, len(items) // len(bodies))]
    walls, cpus = [], []
    gc.collect()
    gc.freeze()
    for _ in range(repeats):
        log = SqliteLog(root / f"{uuid.uuid4().hex}.sqlite")
        try:
            log.ensure_topic(EVENTS_TOPIC, PARTITIONS)
            ingest = StatementIngest(log)
            cpu, wall = time.process_time(), time.perf_counter()
            if whole_path:
                for body in bodies:
                    ingest.ingest(body, tenant=TENANT)
            else:
                for records in per_body:
                    log.append(EVENTS_TOPIC, records)
            walls.append(time.perf_counter() - wall)
            cpus.append(time.process_time() - cpu)
        finally:
            log.close()
    return {"wall": min(walls), "cpu": min(cpus)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=STATEMENTS, help="NDJSON(.gz) of xAPI statements")
    parser.add_argument("--batch", type=int, default=1000, help="statements per body (and per append)")
    parser.add_argument("--repeats", type=int, default=7, help="runs of each in-memory stage (best kept)")
    parser.add_argument("--log-repeats", type=int, default=5, help="runs of each log stage (best kept)")
    args = parser.parse_args()

    statements = load_statements("ingest_path", args.data)
    bodies = [json_array(c) for c in chunks(statements, args.batch)]
    n = len(statements)
    busy_before = wait_for_quiet()
    machine_cpu, own_cpu = busy_core_seconds(), time.process_time()
    seconds = cpu_stages(bodies, args.repeats)
    with scratch_dir("edupulse-ingest-path-") as root:
        append = log_stage(root, bodies, args.log_repeats, whole_path=False)
        whole = log_stage(root, bodies, args.log_repeats, whole_path=True)
    others = busy_core_seconds() - machine_cpu - (time.process_time() - own_cpu)
    seconds |= {"append_cpu": append["cpu"], "append_wall": append["wall"]}
    seconds |= {"ingest_total_cpu": whole["cpu"], "ingest_total_wall": whole["wall"]}
    us = {stage: round(s / n * 1e6, 2) for stage, s in seconds.items()}
    base = seconds["json_decode"]
    result: dict[str, Any] = {
        "benchmark": "ingest_path",
        "machine": machine(),
        "statements": n,
        "batch": args.batch,
        "us_per_statement": us,
        "ratio": round(seconds["ingest_total_cpu"] / base, 2),
        "ratio_to_json_decode": {stage: round(s / base, 2) for stage, s in seconds.items() if stage != "json_decode"},
        "machine_busy_before": busy_before,
        "other_processes_cpu_s": round(max(0.0, others), 2),
    }
    emit(result)


if __name__ == "__main__":
    main()
