"""Replay: events per second through the whole operator chain, and peak memory.

The fixture is a data directory whose log holds ``--events`` events: the 22,000 real
statements go in once through the real ingest path, then further copies of those
events are appended straight to the log, each copy a new cohort of learners one week
later (fresh event ids). Then, each in its own subprocess so its peak RSS is its own:

- ``read``: read every record of the log in replay-sized batches (the I/O floor);
- ``decode``: read and decode every record to ``LearningEvent`` (the baseline: no operators);
- ``replay``: ``edupulse.replay.replay(settings)``, the whole chain into a new state file;
- ``reads`` (with risk models only): on the replayed state, the latency of a course's
  at-risk page of 50 (``course_at_risk``; its reasons are computed on read) and of a
  learner's profile, with a fresh explainer (the model loaded and the rows explained on
  the first read), then again with the model loaded, then from the explainer's cache;
  and the plain view reads without reasons, for comparison.

With ``--compare-sealed``, two fixtures are built, one with event values sealed per
learner (``privacy.seal_events``, Kafka's default), and their replays alternate, run by
run: the cost of opening sealed values, in CPU seconds and events per second.

With ``--risk-models DATA_DIR`` the at-risk models stored there (``edupulse train risk
--data-dir DATA_DIR``) are copied into the fixture, so the chain runs the risk operator
too; without it, any stored in a reused fixture are removed.

    .venv/bin/python bench/replay.py [--events 1000000] [--runs 3] [--fixture DIR] [--risk-models DATA_DIR]
    .venv/bin/python bench/replay.py --compare-sealed [--events 200000] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
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
from edupulse.config import Settings
from edupulse.deployment import Deployment
from edupulse.events.model import decode_events, encode_event
from edupulse.log.base import LogRecord, Record
from edupulse.log.sqlite import SqliteLog
from edupulse.memory import peak_rss_mib
from edupulse.privacy.log import ProtectedLog
from edupulse.privacy.values import value_aad
from edupulse.privacy.vault.service import Identity, IdentityVault
from edupulse.stream.runtime import EVENTS_TOPIC

TARGET_PER_SECOND = 300_000
WEEK_US = 7 * 86_400_000_000
TENANT = "default"
CHILD_TIMEOUT_S = 1800


SEALED_MARK = "sealed-values"  # a file in a fixture whose event values are sealed


def settings_for(data_dir: Path, partitions: int) -> Settings:
    sealed = (data_dir / SEALED_MARK).exists()
    return Settings(data_dir=data_dir, log={"partitions": partitions}, privacy={"seal_events": sealed})


def sealed_copies(records: list[Record], vault: IdentityVault) -> list[Record]:
    """The copies with their values sealed under their (new) learners' keys, as ingest would seal them."""
    learners = {r.key.rpartition(b"\x1f")[2].decode() for r in records}
    sealers = vault.sealers({p: Identity(TENANT, p) for p in learners})
    out = []
    for rec in records:
        learner = rec.key.rpartition(b"\x1f")[2].decode()
        value = sealers[learner].seal(rec.value, value_aad(learner))
        out.append(msgspec.structs.replace(rec, value=value))
    return out


def all_records(log: SqliteLog, batch: int) -> list[LogRecord]:
    out: list[LogRecord] = []
    for part in range(log.partitions(EVENTS_TOPIC)):
        offset = 0
        while records := log.read(EVENTS_TOPIC, part, offset, batch):
            out.extend(records)
            offset = records[-1].offset + 1
    return out


def payloads_of(log: SqliteLog, records: Sequence[LogRecord]) -> list[bytes | None]:
    """The original statements stored beside the records (the log's payload sidecar)."""
    by_partition: dict[int, list[int]] = {}
    for rec in records:
        by_partition.setdefault(rec.partition, []).append(rec.offset)
    found = {(p, o): v for p, offs in by_partition.items() for o, v in log.read_payloads(EVENTS_TOPIC, p, offs).items()}
    return [found.get((r.partition, r.offset)) for r in records]


def copy_of(records: Sequence[LogRecord], payloads: Sequence[bytes | None], cohort: int) -> list[Record]:
    """The events again, as a new cohort of learners ``cohort`` weeks later, under new ids.

    Each copy carries its original statement in the sidecar, as ingested records do."""
    out = []
    events = decode_events([r.value for r in records])
    for rec, ev, payload in zip(records, events, payloads, strict=True):
        new = msgspec.structs.replace(
            ev,
            event_id=f"{ev.event_id}.{cohort}",
            learner=f"{ev.learner}.{cohort}",
            event_time_us=ev.event_time_us + cohort * WEEK_US,
        )
        out.append(
            Record(new.partition_key, encode_event(new), rec.timestamp_us, f"{TENANT}:{new.event_id}", payload=payload)
        )
    return out


def build_fixture(
    data_dir: Path, statements: Sequence[bytes], events: int, partitions: int, *, sealed: bool = False
) -> dict[str, Any]:
    started = time.perf_counter()
    if sealed:
        data_dir.mkdir(parents=True, exist_ok=True)
        (data_dir / SEALED_MARK).touch()
    with Deployment(settings_for(data_dir, partitions)) as deployment:
        for part in chunks(statements, 5000):
            deployment.ingest.ingest(json_array(part), tenant=TENANT)
        log = deployment.raw_log  # the log itself: copies of events already pseudonymised go on it as they are
        assert isinstance(log, SqliteLog)
        protected = deployment.log
        assert isinstance(protected, ProtectedLog)
        base = protected.opener(all_records(log, 50_000))  # plain values, to copy from
        payloads = payloads_of(log, base)
        written, cohort = len(base), 1
        while written < events:
            batch = copy_of(base, payloads, cohort)[: events - written]
            if sealed:
                batch = sealed_copies(batch, protected.protector.vault)
            log.append(EVENTS_TOPIC, batch)
            written += len(batch)
            cohort += 1
    size = sum(f.stat().st_size for f in data_dir.iterdir() if f.name.startswith("log.db"))
    return {"events": written, "seconds": round(time.perf_counter() - started, 1), "log_mib": round(size / 2**20)}


# -- children: each measurement in its own process ---------------------------------------


def scan(log: SqliteLog, batch: int, *, decode: bool) -> int:
    """Read (and decode) every record, one replay-sized batch at a time; returns how many."""
    count = 0
    for part in range(log.partitions(EVENTS_TOPIC)):
        offset = 0
        while records := log.read(EVENTS_TOPIC, part, offset, batch):
            count += len(decode_events([r.value for r in records])) if decode else len(records)
            offset = records[-1].offset + 1
    return count


def child(kind: str, data_dir: Path, partitions: int) -> dict[str, Any]:
    settings = settings_for(data_dir, partitions)
    started = time.perf_counter()
    if kind == "reads":
        return read_latency(data_dir, partitions)
    if kind == "replay":
        from edupulse.replay import replay  # noqa: PLC0415 - imported in the measured process only

        report: dict[str, Any] = msgspec.to_builtins(replay(settings))
        report["wall_seconds"] = round(time.perf_counter() - started, 3)
        # replay() reports the sum of its processes' peaks (VmHWM): the memory it needs.
        return report
    log = SqliteLog(data_dir / "log.db")
    try:
        events = scan(log, settings.runtime.replay_batch_size, decode=kind == "decode")
    finally:
        log.close()
    seconds = time.perf_counter() - started
    return {"events": events, "seconds": round(seconds, 3), "events_per_second": round(events / seconds, 1)}


def read_latency(data_dir: Path, partitions: int) -> dict[str, Any]:
    """Milliseconds of the at-risk page and the profile: cold, model loaded, cached; and without reasons."""
    from edupulse.insights.risk_explain import RiskExplainer  # noqa: PLC0415 - measured process only
    from edupulse.insights.risk_queries import course_at_risk, learner_profile  # noqa: PLC0415
    from edupulse.insights.risk_views import HISTORY_VIEW, RISK_VIEW  # noqa: PLC0415
    from edupulse.stream.store.sqlite import SqliteStore  # noqa: PLC0415

    store = SqliteStore(data_dir / "state.db")
    try:
        rows = store.select(RISK_VIEW.name, {"tenant": TENANT}, order_by="risk", descending=True, limit=1)
        if not rows:
            return {"skipped": "no risk scores in the fixture's state"}
        course = str(rows[0]["course"])
        explainer = RiskExplainer(data_dir / "models")

        def page(n: int) -> float:
            started = time.perf_counter()
            listing = course_at_risk(store, TENANT, course, explainer=explainer, page=n, page_size=50)
            assert all(r["factors_missing"] is None for r in listing["learners"])
            return round((time.perf_counter() - started) * 1000, 1)

        def plain(n: int) -> float:
            started = time.perf_counter()
            where = {"tenant": TENANT, "course": course}
            store.select(RISK_VIEW.name, where, order_by="risk", descending=True, limit=50, offset=(n - 1) * 50)
            return round((time.perf_counter() - started) * 1000, 1)

        out: dict[str, Any] = {"course": course, "page_size": 50}
        out["at_risk_ms"] = {
            "without_reasons": statistics.median(plain(n) for n in (1, 2, 3)),
            "cold": page(1),
            "model_loaded": statistics.median(page(n) for n in (2, 3, 4)),
            "cached": statistics.median(page(n) for n in (1, 2, 3)),
        }
        learner = str(rows[0]["learner"])
        fresh = RiskExplainer(data_dir / "models")
        timings = []
        for explain_with in (fresh, fresh, fresh):
            started = time.perf_counter()
            profile = learner_profile(store, partitions, TENANT, learner, course, explainer=explain_with, history=100)
            timings.append(round((time.perf_counter() - started) * 1000, 1))
        where = {"tenant": TENANT, "learner": learner, "course": course}
        started = time.perf_counter()
        store.select(HISTORY_VIEW.name, where, order_by="seq", descending=True, limit=100)
        store.get(RISK_VIEW.name, {"tenant": TENANT, "course": course, "learner": learner})
        out["profile_ms"] = {
            "history_rows": len(profile["risk_history"]),
            "cold": timings[0],
            "cached": statistics.median(timings[1:]),
            "risk_rows_without_reasons": round((time.perf_counter() - started) * 1000, 1),
        }
        return out
    finally:
        store.close()


def run_child(kind: str, data_dir: Path, partitions: int) -> dict[str, Any]:
    """One measurement in a fresh process; notes what else the machine was doing meanwhile."""
    cmd = [sys.executable, __file__, "--child", kind, "--fixture", str(data_dir), "--partitions", str(partitions)]
    busy_before = wait_for_quiet()
    machine_cpu, children = busy_core_seconds(), _children_cpu()
    out = subprocess.run(cmd, check=True, capture_output=True, timeout=CHILD_TIMEOUT_S)
    own = _children_cpu() - children
    result = dict(json.loads(out.stdout))
    result["cpu_s"] = round(own, 2)
    result["machine_busy_before"] = busy_before
    result["other_processes_cpu_s"] = round(max(0.0, busy_core_seconds() - machine_cpu - own), 2)
    return result


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def warm_page_cache(data_dir: Path) -> None:
    for path in data_dir.glob("log.db*"):
        with path.open("rb") as handle:
            while handle.read(1 << 24):
                pass


def measure(data_dir: Path, partitions: int, runs: int) -> dict[str, Any]:
    warm_page_cache(data_dir)
    read = [run_child("read", data_dir, partitions) for _ in range(runs)]
    decode = [run_child("decode", data_dir, partitions) for _ in range(runs)]
    replays = [run_child("replay", data_dir, partitions) for _ in range(runs)]
    reads = run_child("reads", data_dir, partitions) if (data_dir / "models" / "risk").exists() else None

    def median(rows: list[dict[str, Any]], field: str = "events_per_second") -> float:
        return round(float(statistics.median(r[field] for r in rows)), 1)

    replay_rate, decode_rate = median(replays), median(decode)
    return {
        "replay": {"events_per_second": replay_rate, "peak_rss_mib": median(replays, "peak_rss_mib"), "runs": replays},
        "baseline_decode": {
            "events_per_second": decode_rate,
            "peak_rss_mib": median(decode, "peak_rss_mib"),
            "runs": decode,
        },
        "baseline_read": {
            "events_per_second": median(read),
            "peak_rss_mib": median(read, "peak_rss_mib"),
            "runs": read,
        },
        "risk_reads": reads,
        "replay_to_decode_ratio": round(replay_rate / decode_rate, 3),
        "operators_share_of_time": round(1 - replay_rate / decode_rate, 3),
        "targets_met": {f"replay >= {TARGET_PER_SECOND}/s": replay_rate >= TARGET_PER_SECOND},
    }


def compare_sealed(root: Path, statements: Sequence[bytes], events: int, partitions: int, runs: int) -> dict[str, Any]:
    """Replays of the same events with plain and with sealed values, alternated run by run."""
    fixtures = {"plain": root / "plain", "sealed": root / "sealed"}
    built = {k: build_fixture(d, statements, events, partitions, sealed=k == "sealed") for k, d in fixtures.items()}
    for data_dir in fixtures.values():
        warm_page_cache(data_dir)
    results: dict[str, list[dict[str, Any]]] = {"plain": [], "sealed": []}
    for _ in range(runs):
        for kind, data_dir in fixtures.items():
            results[kind].append(run_child("replay", data_dir, partitions))

    def median(kind: str, field: str) -> float:
        return round(float(statistics.median(r[field] for r in results[kind])), 2)

    summary = {k: {"cpu_s": median(k, "cpu_s"), "events_per_second": median(k, "events_per_second")} for k in results}
    extra_us = (summary["sealed"]["cpu_s"] - summary["plain"]["cpu_s"]) / built["plain"]["events"] * 1e6
    return {"fixtures": built, "median": summary, "extra_cpu_us_per_event": round(extra_us, 2), "runs": results}


def use_risk_models(data_dir: Path, source: Path | None) -> str | None:
    """Put ``source``'s stored risk models in the fixture (or none); returns their version."""
    target = data_dir / "models" / "risk"
    shutil.rmtree(target, ignore_errors=True)
    if source is None:
        return None
    shutil.copytree(source / "models" / "risk", target)
    return (target / "latest").read_text().strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=STATEMENTS, help="NDJSON(.gz) of xAPI statements")
    parser.add_argument("--events", type=int, default=1_000_000, help="events in the fixture's log")
    parser.add_argument("--partitions", type=int, default=8, help="partitions of the fixture's log")
    parser.add_argument("--runs", type=int, default=3, help="runs of each measurement (median reported)")
    parser.add_argument("--fixture", type=Path, help="reuse (or build once into) this data directory")
    parser.add_argument("--keep", action="store_true", help="keep the temporary fixture")
    parser.add_argument("--risk-models", type=Path, help="a data directory whose stored risk models to run")
    parser.add_argument("--compare-sealed", action="store_true", help="replay plain and sealed values, alternated")
    parser.add_argument("--child", choices=["read", "decode", "replay", "reads"], help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        result = child(args.child, args.fixture, args.partitions)
        result.setdefault("peak_rss_mib", round(peak_rss_mib(), 1))  # VmHWM: this process image's own peak
        print(json.dumps(result))
        return
    statements = load_statements("replay", args.data)
    head = {"benchmark": "replay", "machine": machine(), "partitions": args.partitions}
    if args.compare_sealed:
        with scratch_dir("edupulse-replay-sealed-", args.keep) as root:
            emit({**head, **compare_sealed(root, statements, args.events, args.partitions, args.runs)})
        return
    if args.fixture is not None:
        built = {"reused": True}
        if not (args.fixture / "log.db").exists():
            built = build_fixture(args.fixture, statements, args.events, args.partitions)
        head["risk_models"] = use_risk_models(args.fixture, args.risk_models)
        emit({**head, "fixture": built, **measure(args.fixture, args.partitions, args.runs)})
        return
    with scratch_dir("edupulse-replay-", args.keep) as root:
        built = build_fixture(root / "data", statements, args.events, args.partitions)
        head["risk_models"] = use_risk_models(root / "data", args.risk_models)
        emit({**head, "fixture": built, **measure(root / "data", args.partitions, args.runs)})


if __name__ == "__main__":
    main()
