"""The lakehouse: lake write throughput, a cohort query over 10,000,000 events, and a
1,000,000-event replay read partly from the lake and partly from the log.

``write`` and ``replay`` share one fixture: a data directory whose log holds ``--events``
events (built as ``bench/replay.py`` builds it: the 22,000 real statements through the
real ingest path, then copies of them as new cohorts of learners).

- ``write``: the lake sink appends the whole log to the Delta events table, in commits
  of ``lake.flush_records`` records (events/s, peak RSS); baseline in the same run:
  reading and decoding the same log without writing (bench/replay.py's ``decode``).
- ``replay``: the lake is compacted (``edupulse lake compact``: the sink's commits leave
  one small file per date and course each); the live runtime (live batch sizes)
  processes the log into state; the lake holds every event; log retention then drops
  the oldest 70 % of every partition; then ``edupulse.replay.replay`` rebuilds the state,
  reading offsets below the log's start from the lake and the rest from the log. Every
  view row must equal the live state's.
- ``cohort``: ``--cohort-events`` synthetic events are generated with numpy and Arrow
  straight into a Delta table partitioned like the events table (200,000 learners, 20
  courses, 10 weeks; not through ingest: it would take most of an hour) and compacted;
  then one cohort query (active learners per course, first-activity week and week since)
  runs in DuckDB over the Delta table (``edupulse.lake.sql``) and in pandas (the Delta table read with
  deltalake into a DataFrame), each in its own process, so each peak RSS is its own.
  The two results must be equal.

    .venv/bin/python bench/lake.py [--part write,replay,cohort] [--events 1000000] [--cohort-events 10000000]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from _common import STATEMENTS, busy_core_seconds, emit, load_statements, machine, scratch_dir, wait_for_quiet
from edupulse.config import Settings
from edupulse.memory import peak_rss_mib

CHILD_TIMEOUT_S = 1800
WEEK_US = 7 * 86_400_000_000
COHORT_SQL = """
WITH firsts AS (
    SELECT course, learner, min(event_time_us) // 604800000000 AS cohort_week FROM events GROUP BY course, learner
), weeks AS (
    SELECT DISTINCT e.course, e.learner, f.cohort_week, e.event_time_us // 604800000000 - f.cohort_week AS week
    FROM events e JOIN firsts f ON e.course = f.course AND e.learner = f.learner
)
SELECT course, cohort_week, week, count(*) AS learners
FROM weeks GROUP BY course, cohort_week, week ORDER BY course, cohort_week, week
"""


def settings_for(data_dir: Path, partitions: int = 8) -> Settings:
    return Settings(data_dir=data_dir, log={"partitions": partitions})


# -- children ------------------------------------------------------------------------------


def child_write(data_dir: Path) -> dict[str, Any]:
    import pyarrow as pa  # noqa: PLC0415

    from edupulse.lake.writer import LakeWriter  # noqa: PLC0415
    from edupulse.log.sqlite import SqliteLog  # noqa: PLC0415

    pa.array([0])  # pyarrow's first conversion imports pandas if installed (2 s here): not the sink's cost
    settings = settings_for(data_dir)
    log = SqliteLog(data_dir / "log.db")
    started = time.perf_counter()
    events = commits = 0
    try:
        writer = LakeWriter(log, settings)
        while rows := writer.run_once(force=True):
            events += rows
            commits += 1
    finally:
        log.close()
    seconds = time.perf_counter() - started
    return {
        "events": events,
        "commits": commits,
        "seconds": round(seconds, 2),
        "events_per_second": round(events / seconds),
    }


def child_decode(data_dir: Path) -> dict[str, Any]:
    from edupulse.log.sqlite import SqliteLog  # noqa: PLC0415
    from replay import scan  # noqa: PLC0415

    log = SqliteLog(data_dir / "log.db")
    started = time.perf_counter()
    try:
        events = scan(log, 50_000, decode=True)
    finally:
        log.close()
    seconds = time.perf_counter() - started
    return {"events": events, "seconds": round(seconds, 2), "events_per_second": round(events / seconds)}


def child_duckdb(lake: Path) -> dict[str, Any]:
    from edupulse.lake.sql import query  # noqa: PLC0415

    settings = Settings(data_dir=lake.parent, lake={"path": lake})
    started = time.perf_counter()
    rows = query(settings, COHORT_SQL).to_pylist()
    return {"seconds": round(time.perf_counter() - started, 2), "rows": rows}


def child_pandas(lake: Path) -> dict[str, Any]:
    from deltalake import DeltaTable  # noqa: PLC0415

    started = time.perf_counter()
    df = DeltaTable(str(lake / "events")).to_pandas(columns=["course", "learner", "event_time_us"])
    df["week_abs"] = df["event_time_us"] // WEEK_US
    df["cohort_week"] = df.groupby(["course", "learner"])["week_abs"].transform("min")
    df["week"] = df["week_abs"] - df["cohort_week"]
    weeks = df[["course", "learner", "cohort_week", "week"]].drop_duplicates()
    out = weeks.groupby(["course", "cohort_week", "week"]).size().reset_index(name="learners")
    out = out.sort_values(["course", "cohort_week", "week"])
    rows = [
        {"course": c, "cohort_week": int(k), "week": int(w), "learners": int(n)}
        for c, k, w, n in out.itertuples(index=False)
    ]
    return {"seconds": round(time.perf_counter() - started, 2), "rows": rows}


CHILDREN = {"write": child_write, "decode": child_decode, "duckdb": child_duckdb, "pandas": child_pandas}


def run_child(kind: str, path: Path) -> dict[str, Any]:
    """One measurement in a fresh process; notes what else the machine was doing meanwhile."""
    busy = wait_for_quiet()
    machine_cpu, children = busy_core_seconds(), _children_cpu()
    cmd = [sys.executable, __file__, "--child", kind, "--path", str(path)]
    out = subprocess.run(cmd, check=True, capture_output=True, timeout=CHILD_TIMEOUT_S)
    own = _children_cpu() - children
    result: dict[str, Any] = json.loads(out.stdout)
    result["cpu_s"] = round(own, 2)
    result["machine_busy_before"] = busy
    result["other_processes_cpu_s"] = round(max(0.0, busy_core_seconds() - machine_cpu - own), 2)
    return result


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


# -- write and replay ----------------------------------------------------------------------


def views_of(data_dir: Path) -> dict[str, list[dict[str, Any]]]:
    from edupulse.insights.engagement import COURSE_VIEW, LEARNER_VIEW  # noqa: PLC0415
    from edupulse.stream.store.sqlite import SqliteStore  # noqa: PLC0415

    store = SqliteStore(data_dir / "state.db")
    try:
        return {v.name: store.select(v.name, {}, order_by=v.key[-1]) for v in (LEARNER_VIEW, COURSE_VIEW)}
    finally:
        store.close()


def compact_lake(settings: Settings) -> dict[str, Any]:
    """``edupulse lake compact``, as operations would run it: the sink's many small files into few."""
    from deltalake import DeltaTable  # noqa: PLC0415

    from edupulse.lake.maintenance import compact  # noqa: PLC0415

    table = str(settings.lake_path / "events")
    before = len(DeltaTable(table).file_uris())
    started = time.perf_counter()
    compact(settings)
    seconds = time.perf_counter() - started
    return {"files_before": before, "files_after": len(DeltaTable(table).file_uris()), "seconds": round(seconds, 1)}


def write_and_replay(data_dir: Path, events: int, parts: set[str]) -> dict[str, Any]:
    from edupulse.deployment import Deployment  # noqa: PLC0415
    from edupulse.replay import replay  # noqa: PLC0415
    from edupulse.stream.runtime import EVENTS_TOPIC  # noqa: PLC0415
    from replay import build_fixture  # noqa: PLC0415

    out: dict[str, Any] = {"fixture": build_fixture(data_dir, load_statements("lake", STATEMENTS), events, 8)}
    write = run_child("write", data_dir)
    decode = run_child("decode", data_dir)
    out["write"] = {
        "lake": write,
        "baseline_read_decode": decode,
        "write_to_decode_ratio": round(write["events_per_second"] / decode["events_per_second"], 3),
        "lake_mib": round(sum(f.stat().st_size for f in (data_dir / "lake").rglob("*") if f.is_file()) / 2**20),
    }
    if "replay" not in parts:
        return out
    settings = settings_for(data_dir)
    out["compact"] = compact_lake(settings)
    started = time.perf_counter()
    with Deployment(settings) as dep:
        runtime = dep.runtime()  # live batch sizes, a commit per batch
        runtime.assign_all()
        processed = runtime.run_until_caught_up().events
        live_seconds = time.perf_counter() - started
        ends = dep.log.end_offsets(EVENTS_TOPIC)
        keep = min(ends) * 3 // 10
        dropped = dep.log.apply_retention(EVENTS_TOPIC, max_age_us=None, max_records=keep, now_us=0, keep_from=ends)
        in_log = sum(ends) - sum(dep.log.start_offsets(EVENTS_TOPIC))
    live = views_of(data_dir)
    report = replay(settings)
    replayed = views_of(data_dir)
    out["replay"] = {
        "live_events": processed,
        "live_seconds": round(live_seconds, 1),
        "dropped_from_log": dropped,
        "still_in_log": in_log,
        "replayed_events": report.events,
        "replay": {"seconds": report.seconds, "events_per_second": report.events_per_second, "workers": report.workers},
        "view_rows": {name: len(rows) for name, rows in live.items()},
        "equal_to_live": replayed == live,
    }
    return out


# -- cohort --------------------------------------------------------------------------------


def generate(lake: Path, n: int, seed: int = 7) -> dict[str, Any]:
    """``n`` synthetic events straight into a Delta table, in chunks of one million."""
    import numpy as np  # noqa: PLC0415
    import pyarrow as pa  # noqa: PLC0415
    import pyarrow.compute as pc  # noqa: PLC0415
    from deltalake import write_deltalake  # noqa: PLC0415

    rng = np.random.default_rng(seed)
    start_us = 1_788_739_200_000_000  # 2026-09-07, a Monday
    courses = pa.array([f"https://example.edu/courses/c{i:02d}" for i in range(20)])
    verbs = pa.array(["viewed", "answered", "completed", "experienced", "attempted"])
    started = time.perf_counter()
    for first in range(0, n, 1_000_000):
        size = min(1_000_000, n - first)
        learner_ids = rng.integers(0, 200_000, size)
        # A learner starts in one of the first weeks and is active for a while after.
        joined = (learner_ids % 5) * WEEK_US
        times = start_us + joined + rng.integers(0, 5 * WEEK_US, size)
        course_idx = pa.array((learner_ids * 7 + rng.integers(0, 2, size)) % 20, pa.int32())
        course = pa.DictionaryArray.from_arrays(course_idx, courses).cast(pa.string())
        learner = pc.binary_join_element_wise("learner-", pa.array(learner_ids).cast(pa.string()), "")
        event_time = pa.array(times, pa.int64())
        date = pc.strftime(event_time.cast(pa.timestamp("us", tz="UTC")), format="%Y-%m-%d")
        table = pa.table(
            {
                "event_id": pc.binary_join_element_wise(
                    "e-", pa.array(np.arange(first, first + size)).cast(pa.string()), ""
                ),
                "tenant": pa.array(["default"] * size),
                "learner": learner,
                "verb": pa.DictionaryArray.from_arrays(pa.array(rng.integers(0, 5, size), pa.int32()), verbs).cast(
                    pa.string()
                ),
                "course": course,
                "event_time_us": event_time,
                "date": date,
            }
        )
        write_deltalake(str(lake / "events"), table, mode="append", partition_by=["date", "course"])
    seconds = time.perf_counter() - started
    files = sum(1 for _ in (lake / "events").rglob("*.parquet"))
    mib = sum(f.stat().st_size for f in (lake / "events").rglob("*.parquet")) / 2**20
    return {"events": n, "seconds": round(seconds, 1), "files": files, "mib": round(mib)}


def cohort(root: Path, n: int) -> dict[str, Any]:
    lake = root / "lake"
    generated = generate(lake, n)
    compacted = compact_lake(Settings(data_dir=root, lake={"path": lake}))
    duck = run_child("duckdb", lake)
    pandas = run_child("pandas", lake)
    equal = duck.pop("rows") == pandas.pop("rows")
    return {
        "generated": generated,
        "compact": compacted,
        "duckdb": duck,
        "pandas": pandas,
        "results_equal": equal,
        "duckdb_speedup": round(pandas["seconds"] / duck["seconds"], 2),
        "duckdb_memory_ratio": round(duck["peak_rss_mib"] / pandas["peak_rss_mib"], 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--part", default="write,replay,cohort", help="comma-separated: write, replay, cohort")
    parser.add_argument("--events", type=int, default=1_000_000, help="events in the write/replay fixture's log")
    parser.add_argument("--cohort-events", type=int, default=10_000_000, help="synthetic events for the cohort query")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directories")
    parser.add_argument("--child", choices=sorted(CHILDREN), help=argparse.SUPPRESS)
    parser.add_argument("--path", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        result = CHILDREN[args.child](args.path)
        result["peak_rss_mib"] = round(peak_rss_mib(), 1)
        print(json.dumps(result))
        return
    parts = set(args.part.split(","))
    out: dict[str, Any] = {"benchmark": "lake", "machine": machine()}
    if parts & {"write", "replay"}:
        with scratch_dir("edupulse-lake-", args.keep) as root:
            out.update(write_and_replay(root / "data", args.events, parts))
    if "cohort" in parts:
        with scratch_dir("edupulse-cohort-", args.keep) as root:
            out["cohort"] = cohort(root, args.cohort_events)
    emit(out)


if __name__ == "__main__":
    main()
