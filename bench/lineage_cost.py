"""Lineage: what recording it costs a commit, SQLite and PostgreSQL.

The same commits (120 rows of the ``learner_course`` view and 120 state keys each, one
partition) go into two fresh stores, one asking for lineage (a ``commits`` row and the
stamp on every view row) and one not, in alternating rounds of 100 commits so that the
machine's load falls on both alike. Reported: the median process CPU time and wall time
of ``commit``. Against the code before lineage existed, run the same script with
``PYTHONPATH`` pointing at a checkout of that commit's ``src`` (``lineage_code`` is then
false, and both stores run the old commit path).

    .venv/bin/python bench/lineage_cost.py [--rounds 10] [--postgres]
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

import psycopg

from _common import emit, machine, scratch_dir
from edupulse.insights.engagement import LEARNER_VIEW
from edupulse.stream.store import base
from edupulse.stream.store.base import Commit, StateStore
from edupulse.stream.store.sqlite import SqliteStore

ROWS = 120
DSN = "postgresql://edupulse@127.0.0.1:15432/edupulse"
LINEAGE: Any = getattr(base, "Lineage", None)
CODE = None if LINEAGE is None else LINEAGE({"edupulse": "0.1.0", "engagement": "1"}, {"mastery": "bkt"})


def _commit(i: int, lineage: bool) -> Commit:
    rows = [
        {"tenant": "t", "course": f"c{j % 7}", "learner": f"l{(i * ROWS + j) % 5000}", "events": i, "attempts": j}
        for j in range(ROWS)
    ]
    extra = {"lineage": CODE} if lineage and CODE is not None else {}
    state = {("op", f"k{j}"): b"x" * 40 for j in range(ROWS)}
    return Commit("events", 0, i + 1, views={LEARNER_VIEW.name: rows}, state=state, **extra)


def _stores(root: Any, postgres: bool) -> dict[str, StateStore]:
    if not postgres:
        return {"off": SqliteStore(root / "off.db"), "on": SqliteStore(root / "on.db")}
    from edupulse.stream.store.postgres import PostgresStore  # noqa: PLC0415

    with psycopg.connect(DSN, autocommit=True) as conn:
        for name in ("off", "on"):
            conn.execute(f"DROP SCHEMA IF EXISTS bench_lineage_{name} CASCADE")
    return {name: PostgresStore(DSN, schema=f"bench_lineage_{name}") for name in ("off", "on")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=10, help="alternating rounds of 100 commits per store")
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL (the test server) instead of SQLite")
    args = parser.parse_args()
    times: dict[str, tuple[list[float], list[float]]] = {"off": ([], []), "on": ([], [])}
    with scratch_dir("edupulse-lineage-") as root:
        stores = _stores(root, args.postgres)
        for store in stores.values():
            store.setup([LEARNER_VIEW])
        for rnd in range(args.rounds):
            for name in ("off", "on") if rnd % 2 else ("on", "off"):
                for i in range(rnd * 100, rnd * 100 + 100):
                    commit = _commit(i, lineage=name == "on")
                    cpu, wall = time.process_time(), time.perf_counter()
                    stores[name].commit(commit)
                    times[name][0].append(time.process_time() - cpu)
                    times[name][1].append(time.perf_counter() - wall)
        for store in stores.values():
            store.close()
    if args.postgres:
        with psycopg.connect(DSN, autocommit=True) as conn:
            for name in ("off", "on"):
                conn.execute(f"DROP SCHEMA IF EXISTS bench_lineage_{name} CASCADE")
    emit(
        {
            "benchmark": "lineage_cost",
            "machine": machine(),
            "store": "postgres" if args.postgres else "sqlite",
            "lineage_code": LINEAGE is not None,
            **{
                f"lineage_{name}": {
                    "cpu_ms_median": round(statistics.median(cpu) * 1e3, 3),
                    "wall_ms_median": round(statistics.median(wall) * 1e3, 3),
                }
                for name, (cpu, wall) in times.items()
            },
        }
    )


if __name__ == "__main__":
    main()
