"""The LRS write path from several processes at once, in process (no HTTP, no processor).

Each of ``--processes`` processes opens its own ``SqliteLog`` and ``SqliteLrsStore`` on
the same two files, as the API worker processes of ``edupulse serve`` do, and writes its
share of the 22,000 statements (request bodies of ``--batch``) with
``StatementWriter.write``: every check, the log append (fsync'd) and the store write.
Reported per process count, alternating the counts ``--repeats`` times on fresh files:
statements per second (first process started to last one done, the best run) and CPU
per statement of the writing processes (their own CPU, all threads, the best run).

    .venv/bin/python bench/ingest_processes.py [--processes 1 2] [--batch 1000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import multiprocessing
import time
from collections.abc import Sequence
from multiprocessing.queues import Queue
from pathlib import Path
from typing import Any

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
from edupulse.log.sqlite import SqliteLog
from edupulse.lrs.store.sqlite import SqliteLrsStore
from edupulse.lrs.writer import StatementWriter
from edupulse.stream.runtime import EVENTS_TOPIC

PARTITIONS = 8  # the default of ``log.partitions``
AUTHORITY = {"objectType": "Agent", "name": "bench", "account": {"homePage": "https://edupulse.dev/keys", "name": "k"}}


def writer_process(data: Path, bodies: Sequence[bytes], start: Any, results: Queue[float]) -> None:
    log, store = SqliteLog(data / "log.db"), SqliteLrsStore(data / "lrs.db")
    writer = StatementWriter(log, store)
    start.wait()
    cpu = time.process_time()
    for body in bodies:
        writer.write(body, tenant="bench", authority=AUTHORITY, v2=False)
    results.put(time.process_time() - cpu)
    log.close()
    store.close()


def run(root: Path, bodies: Sequence[bytes], processes: int) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the writers) for one run on fresh files."""
    data = Path(root) / f"run-{time.monotonic_ns()}"
    data.mkdir()
    log = SqliteLog(data / "log.db")
    log.ensure_topic(EVENTS_TOPIC, PARTITIONS)
    log.close()
    SqliteLrsStore(data / "lrs.db").close()
    ctx = multiprocessing.get_context("spawn")
    start, results = ctx.Event(), ctx.Queue()
    procs = [
        ctx.Process(target=writer_process, args=(data, bodies[i::processes], start, results)) for i in range(processes)
    ]
    for proc in procs:
        proc.start()
    time.sleep(2.0)  # every process has imported and opened its files
    started = time.perf_counter()
    start.set()
    cpu = sum(results.get(timeout=600) for _ in procs)
    wall = time.perf_counter() - started
    for proc in procs:
        proc.join(timeout=60)
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=STATEMENTS, help="NDJSON(.gz) of xAPI statements")
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2], help="process counts to compare")
    parser.add_argument("--batch", type=int, default=1000, help="statements per request body")
    parser.add_argument("--repeats", type=int, default=3, help="runs per process count (alternating)")
    args = parser.parse_args()
    statements = load_statements("ingest_processes", args.data)
    bodies = [json_array(c) for c in chunks(statements, args.batch)]
    n = len(statements)
    busy_before = wait_for_quiet()
    machine_cpu = busy_core_seconds()
    runs: dict[int, list[tuple[float, float]]] = {p: [] for p in args.processes}
    with scratch_dir("edupulse-ingest-processes-") as root:
        for _ in range(args.repeats):
            for processes in args.processes:
                runs[processes].append(run(root, bodies, processes))
    result: dict[str, Any] = {
        "benchmark": "ingest_processes",
        "machine": machine(),
        "statements": n,
        "batch": args.batch,
        "by_processes": {
            str(p): {
                "statements_per_second": round(n / min(w for w, _ in r)),
                "runs_per_second": [round(n / w) for w, _ in r],
                "cpu_us_per_statement": round(min(c for _, c in r) / n * 1e6, 1),
                "runs_cpu_us_per_statement": [round(c / n * 1e6, 1) for _, c in r],
            }
            for p, r in runs.items()
        },
        "machine_busy_before": busy_before,
        "machine_cpu_s": round(busy_core_seconds() - machine_cpu, 1),
    }
    emit(result)


if __name__ == "__main__":
    main()
