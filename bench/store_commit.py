"""State-store commits: events per second through a real Runtime, SQLite vs PostgreSQL.

One log fixture (the 22,000 real statements, then copies as new cohorts of learners, as
``bench/replay.py`` builds it) is processed by the default operators into a fresh
store, once per store and batch size, one commit per batch:

- ``live``: batches of 256 records (``runtime.live_batch_size``), a commit each;
- ``replay``: batches of 50,000 records (``runtime.replay_batch_size``), a commit each.

PostgreSQL runs twice: as configured by default (``synchronous_commit`` off, the
durability of the SQLite store's ``synchronous=NORMAL``), and waiting for the WAL flush
of every commit (``postgres.synchronous_commit=true``).

The operators' work is the same for both stores, so the ratio of the rates shows what
the store costs; the time inside ``commit`` is reported on its own too. PostgreSQL is
the project's test server (``scripts/services/postgres.sh up``), in a schema of its own
that is dropped afterwards; without a server the PostgreSQL rows are skipped.

    .venv/bin/python bench/store_commit.py [--events 200000] [--partitions 4] [--runs 3]
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from _common import STATEMENTS, emit, load_statements, machine, scratch_dir, skip, wait_for_quiet
from edupulse.insights import default_operators
from edupulse.log.sqlite import SqliteLog
from edupulse.stream.runtime import EVENTS_TOPIC, Runtime
from edupulse.stream.store.base import Commit, StateStore
from edupulse.stream.store.postgres import PostgresStore
from edupulse.stream.store.sqlite import SqliteStore
from replay import build_fixture

DSN = os.environ.get("EDUPULSE_TEST_POSTGRES_DSN", "postgresql://edupulse@127.0.0.1:15432/edupulse")
SCHEMA = "bench_store_commit"
MODES = {"live": 256, "replay": 50_000}


def _drop_schema(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(SCHEMA)))


def _postgres_reachable(dsn: str) -> str | None:
    try:
        psycopg.connect(dsn, connect_timeout=3).close()
    except psycopg.Error as exc:
        return f"PostgreSQL not reachable at {dsn}: {exc}; start it with scripts/services/postgres.sh up"
    return None


class TimedCommits:
    """Wraps a store's ``commit`` to add up the time spent in it."""

    def __init__(self, store: StateStore) -> None:
        self.seconds = 0.0
        self.commits = 0
        inner: Callable[[Commit], None] = store.commit

        def commit(commit: Commit) -> None:
            started = time.perf_counter()
            inner(commit)
            self.seconds += time.perf_counter() - started
            self.commits += 1

        store.commit = commit  # type: ignore[method-assign]


def run_once(log: SqliteLog, open_store: Callable[[], StateStore], batch: int) -> dict[str, Any]:
    store = open_store()
    try:
        timed = TimedCommits(store)
        runtime = Runtime(log, store, default_operators(allowed_lateness_us=48 * 3_600_000_000), batch_size=batch)
        runtime.assign_all()
        busy_before = wait_for_quiet()
        started = time.perf_counter()
        events = runtime.run_until_caught_up().events
        seconds = time.perf_counter() - started
    finally:
        store.close()
    return {
        "events": events,
        "seconds": round(seconds, 3),
        "events_per_second": round(events / seconds, 1),
        "commits": timed.commits,
        "commit_ms_mean": round(timed.seconds / max(1, timed.commits) * 1000, 3),
        "commits_share_of_time": round(timed.seconds / seconds, 3),
        "machine_busy_before": busy_before,
    }


def store_openers(root: Path, with_postgres: bool) -> dict[str, Callable[[], StateStore]]:
    """How to open a fresh, empty store of each kind."""
    numbers = itertools.count()

    def fresh_sqlite() -> StateStore:
        return SqliteStore(root / f"state-{next(numbers)}.db")

    def fresh_postgres(synchronous_commit: bool = False) -> StateStore:
        _drop_schema(DSN)
        return PostgresStore(DSN, schema=SCHEMA, pool_size=2, synchronous_commit=synchronous_commit)

    if not with_postgres:
        return {"sqlite": fresh_sqlite}
    return {
        "sqlite": fresh_sqlite,
        "postgres": fresh_postgres,
        "postgres_synchronous_commit": lambda: fresh_postgres(synchronous_commit=True),
    }


def measure(log: SqliteLog, root: Path, runs: int, with_postgres: bool) -> dict[str, Any]:
    results: dict[str, Any] = {}
    stores = store_openers(root, with_postgres)
    for mode, batch in MODES.items():
        rows = {name: [run_once(log, open_store, batch) for _ in range(runs)] for name, open_store in stores.items()}
        summary: dict[str, Any] = {"batch": batch}
        for name, measured in rows.items():
            summary[name] = {
                "events_per_second": round(statistics.median(r["events_per_second"] for r in measured), 1),
                "commit_ms_mean": round(statistics.median(r["commit_ms_mean"] for r in measured), 3),
                "runs": measured,
            }
        if with_postgres:
            for name in ("postgres", "postgres_synchronous_commit"):
                ratio = summary[name]["events_per_second"] / summary["sqlite"]["events_per_second"]
                summary[f"{name}_to_sqlite"] = round(ratio, 3)
        results[mode] = summary
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=200_000, help="events in the log fixture")
    parser.add_argument("--partitions", type=int, default=4, help="partitions of the events topic")
    parser.add_argument("--runs", type=int, default=3, help="runs per store and mode (the median is reported)")
    parser.add_argument("--data", type=Path, default=STATEMENTS, help="the statements (NDJSON, .gz allowed)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory")
    args = parser.parse_args()

    statements = load_statements("store_commit", args.data)
    problem = _postgres_reachable(DSN)
    if problem is not None and os.environ.get("EDUPULSE_TEST_SERVICES") == "required":
        skip("store_commit", problem)
    if problem is not None:
        print(problem, file=sys.stderr)
    with scratch_dir("edupulse-bench-store-", args.keep) as root:
        fixture = build_fixture(root / "data", statements, args.events, args.partitions)
        log = SqliteLog(root / "data" / "log.db")
        try:
            results = measure(log, root, args.runs, with_postgres=problem is None)
        finally:
            log.close()
            if problem is None:
                _drop_schema(DSN)
    emit(
        {
            "benchmark": "store_commit",
            "machine": machine(),
            "fixture": fixture,
            "postgres": None if problem else DSN,
            "topic": EVENTS_TOPIC,
            **results,
        }
    )


if __name__ == "__main__":
    main()
