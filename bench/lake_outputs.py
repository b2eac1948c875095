"""The lake's output tables: outbox → log topic → Delta table, for predictions-like messages.

``--messages`` JSON predictions (tenant, learner, course, risk, model, event time) are
committed to a fresh embedded state store's outbox in commits of 1,000 (not timed).
Then, each timed:

- ``relay``: the outbox relay (``stream/outbox.py`` with ``stream/log_sender.py``, the
  deployment's page of 1,000) appends them all to the embedded log's ``predictions``
  topic, one pass after another, until none is pending;
- ``sink``: the lake sink appends the topic to the Delta ``predictions`` table
  (``json_rows``, partitioned by date and course), in commits of ``lake.flush_records``;
- ``re_relay``: the same messages re-emitted into a rebuilt outbox (as after a replay or a
  blue/green rebuild) are relayed again; the log must still hold each once.

    .venv/bin/python bench/lake_outputs.py [--messages 200000]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from _common import emit, machine, scratch_dir, wait_for_quiet
from edupulse.alerts import AlertLedger
from edupulse.lake.catalog import table_spec
from edupulse.lake.sink import LakeSink
from edupulse.log.sqlite import SqliteLog
from edupulse.memory import peak_rss_mib
from edupulse.stream.log_sender import PREDICTIONS_TOPIC, LogSender
from edupulse.stream.outbox import OutboxRelay
from edupulse.stream.runtime import EVENTS_TOPIC
from edupulse.stream.store.base import Commit, OutboxMessage
from edupulse.stream.store.sqlite import SqliteStore

PARTITIONS = 8


def messages(n: int) -> list[OutboxMessage]:
    out = []
    for i in range(n):
        learner, course = f"learner-{i % 20_000}", f"https://example.edu/courses/c{i % 20}"
        value = {
            "tenant": "default",
            "learner": learner,
            "course": course,
            "risk": (i % 997) / 997,
            "model": "bench-1",
            "event_time_us": 1_790_000_000_000_000 + i * 1_000_000,
        }
        out.append(OutboxMessage(PREDICTIONS_TOPIC, f"default\x1f{learner}", json.dumps(value).encode(), f"p:{i}"))
    return out


def fill(store: SqliteStore, batch: list[OutboxMessage]) -> None:
    for part, start in enumerate(range(0, len(batch), 1000)):
        store.commit(Commit(EVENTS_TOPIC, part % PARTITIONS, start + 1000, outbox=batch[start : start + 1000]))


def relay_all(store: SqliteStore, log: SqliteLog, root: Path) -> dict[str, Any]:
    ledger = AlertLedger(root / "alerts.db")
    sender = LogSender(log, partitions=PARTITIONS)
    relay = OutboxRelay(store, ledger, {}, max_attempts=5, backoff_s=1, batch_senders={PREDICTIONS_TOPIC: sender})
    busy = wait_for_quiet()
    started, cpu = time.perf_counter(), time.process_time()
    relayed = passes = 0
    while (stats := relay.run_once()).delivered:
        relayed += stats.delivered
        passes += 1
    seconds = time.perf_counter() - started
    ledger.close()
    return {
        "messages": relayed,
        "passes": passes,
        "seconds": round(seconds, 2),
        "per_second": round(relayed / seconds),
        "cpu_s": round(time.process_time() - cpu, 2),
        "machine_busy_before": busy,
    }


def sink_all(log: SqliteLog, root: Path) -> dict[str, Any]:
    sink = LakeSink(log, table_spec(PREDICTIONS_TOPIC), root / "lake", flush_records=50_000)
    busy = wait_for_quiet()
    started, cpu = time.perf_counter(), time.process_time()
    rows = commits = 0
    while n := sink.run_once(force=True):
        rows += n
        commits += 1
    seconds = time.perf_counter() - started
    return {
        "rows": rows,
        "commits": commits,
        "seconds": round(seconds, 2),
        "per_second": round(rows / seconds),
        "cpu_s": round(time.process_time() - cpu, 2),
        "machine_busy_before": busy,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=200_000)
    args = parser.parse_args()
    batch = messages(args.messages)
    out: dict[str, Any] = {"benchmark": "lake_outputs", "machine": machine(), "messages": args.messages}
    with scratch_dir("edupulse-lake-outputs-") as root:
        log = SqliteLog(root / "log.db")
        store = SqliteStore(root / "state.db")
        rebuilt = SqliteStore(root / "rebuilt.db")
        try:
            fill(store, batch)
            out["relay"] = relay_all(store, log, root)
            out["sink"] = sink_all(log, root)
            fill(rebuilt, batch)
            out["re_relay"] = relay_all(rebuilt, log, root)
            out["log_records"] = sum(log.end_offsets(PREDICTIONS_TOPIC))
            out["each_once"] = out["log_records"] == args.messages == out["sink"]["rows"]
        finally:
            store.close()
            rebuilt.close()
            log.close()
    out["peak_rss_mib"] = round(peak_rss_mib(), 1)
    emit(out)


if __name__ == "__main__":
    main()
