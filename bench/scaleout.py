"""The scale-out deployment on the local Kafka and PostgreSQL: throughput, latency, lag recovery.

Real ``edupulse worker`` processes (and ``edupulse serve`` for the API) with
``EDUPULSE_DEPLOYMENT=scaleout``, a 12-partition topic, a fresh topic prefix and
PostgreSQL schema per run (dropped afterwards).

- ``throughput``: ``--events`` simulated xAPI statements are ingested into Kafka first;
  then 1, 2 and 3 workers (a new consumer group and an empty state schema each time)
  process them all. The rate is taken between 10 % and 90 % processed, so a worker's
  start-up and the group's first rebalances do not count; the wall time from launch to
  lag 0 is reported too. Baseline in the same run: the embedded runtime (SQLite log and
  state, one process, the same 256-record batches) over the same records.
- ``latency``: statements POSTed at ``--rate``/s (``--batch`` per POST from ``--senders``
  connections) to ``edupulse serve`` (API only) with 2 workers; time from a POST's
  response to the change on ``/api/v1/stream`` (bench/latency.py's method).
- ``recovery``: a steady ``--rate``/s ingest with 3 workers; one is killed with SIGKILL
  (once left dead, once restarted at once); how long until the total lag, past its peak,
  is back at its level before the kill (the 95th percentile of the lag sampled every 0.2 s
  over the 10 s before, once the group has formed and kept up for 5 s).

Other work on the machine shows in ``machine_busy_before`` and ``other_processes_cpu_s``.
Needs ``make services``.

    .venv/bin/python bench/scaleout.py [--parts throughput,latency,recovery] [--events 200000]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import msgspec
import psycopg
from confluent_kafka.admin import AdminClient
from psycopg import sql

from _common import (
    STATEMENTS,
    busy_core_seconds,
    cpu_seconds,
    edupulse_command,
    edupulse_server,
    emit,
    load_statements,
    machine,
    percentiles,
    scratch_dir,
    wait_for_quiet,
)
from edupulse.config import Settings
from edupulse.deployment import Deployment
from edupulse.errors import TransientError
from edupulse.insights import default_operators
from edupulse.log.base import Record
from edupulse.log.sqlite import SqliteLog
from edupulse.sim.config import SimConfig
from edupulse.sim.simulator import CourseSimulator
from edupulse.status import pipeline_status
from edupulse.stream.runtime import EVENTS_TOPIC, Runtime
from edupulse.stream.store.sqlite import SqliteStore

PARTITIONS = 12
LATENESS_HOURS = 48
SESSION_TIMEOUT_MS = 6_000
SAMPLE_S = 0.2
KAFKA = os.environ.get("EDUPULSE_TEST_KAFKA", "127.0.0.1:19092")
POSTGRES = os.environ.get("EDUPULSE_TEST_POSTGRES_DSN", "postgresql://edupulse@127.0.0.1:15432/edupulse")


# -- the scale-out deployment of one run ------------------------------------------------


class Run:
    """One run's names (topic prefix, schemas) and the environment its processes get."""

    def __init__(self, root: Path) -> None:
        self.name = f"scalebench_{uuid.uuid4().hex[:8]}"
        self.root = root
        self.group = 0
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("EDUPULSE_")}
        self.env.update(
            {
                "EDUPULSE_DEPLOYMENT": "scaleout",
                "EDUPULSE_DATA_DIR": str(root / "data"),
                "EDUPULSE_KAFKA__BOOTSTRAP_SERVERS": KAFKA,
                "EDUPULSE_KAFKA__TOPIC_PREFIX": f"{self.name}.",
                "EDUPULSE_KAFKA__SESSION_TIMEOUT_MS": str(SESSION_TIMEOUT_MS),
                "EDUPULSE_POSTGRES__DSN": POSTGRES,
                "EDUPULSE_POSTGRES__SCHEMA_NAME": self.name,
                "EDUPULSE_LOG__PARTITIONS": str(PARTITIONS),
                "EDUPULSE_RUNTIME__ALLOWED_LATENESS_HOURS": str(LATENESS_HOURS),
            }
        )
        self.new_group()

    def new_group(self) -> None:
        """A consumer group no worker has joined yet."""
        self.group += 1
        self.env["EDUPULSE_KAFKA__GROUP_ID"] = f"{self.name}-g{self.group}"

    def settings(self) -> Settings:
        saved = dict(os.environ)
        try:
            os.environ.update(self.env)
            return Settings()
        finally:
            os.environ.clear()
            os.environ.update(saved)

    def reset_state(self) -> None:
        """An empty state schema (views, offsets): the next workers start from offset 0."""
        with psycopg.connect(POSTGRES, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(self.name)))

    def drop(self) -> None:
        """Leave nothing behind: the topic and both schemas."""
        admin = AdminClient({"bootstrap.servers": KAFKA})
        for future in admin.delete_topics([f"{self.name}.{EVENTS_TOPIC}"], operation_timeout=30).values():
            future.result(timeout=30)
        with psycopg.connect(POSTGRES, autocommit=True) as conn:
            for schema in (self.name, f"{self.name}_log"):
                conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


class Workers:
    """``edupulse worker`` processes, started, killed and stopped as an operator would."""

    def __init__(self, run: Run) -> None:
        self.run = run
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self) -> subprocess.Popen[bytes]:
        log = (self.run.root / f"worker-{len(self.procs)}.log").open("wb")
        proc = subprocess.Popen([*edupulse_command(), "worker"], env=self.run.env, stdout=log, stderr=subprocess.STDOUT)
        self.procs.append(proc)
        return proc

    def kill(self, proc: subprocess.Popen[bytes]) -> None:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)

    def alive(self) -> list[subprocess.Popen[bytes]]:
        return [p for p in self.procs if p.poll() is None]

    def cpu_seconds(self) -> float:
        return sum(cpu_seconds(p.pid) for p in self.alive())

    def stop_all(self) -> None:
        for proc in self.alive():
            proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        self.procs = []


@contextmanager
def fresh(run: Run) -> Iterator[Deployment]:
    """A new consumer group over an empty state schema (the log is kept), opened before any worker."""
    run.reset_state()
    run.new_group()
    with Deployment(run.settings()) as deployment:  # recreates the state schema
        yield deployment


@contextmanager
def workers(run: Run, n: int) -> Iterator[Workers]:
    group = Workers(run)
    try:
        for _ in range(n):
            group.start()
        yield group
    finally:
        group.stop_all()


def status(deployment: Deployment) -> dict[str, Any]:
    """The pipeline's status, asked again while a service is briefly unavailable."""
    for _ in range(20):
        try:
            return pipeline_status(deployment)
        except TransientError:
            time.sleep(0.25)
    return pipeline_status(deployment)


class Load:
    """The machine's CPU while something runs: ours, the workers' and everyone else's."""

    def __init__(self, group: Workers | None = None) -> None:
        self.group = group
        self.busy_before = wait_for_quiet()
        self.machine, self.own, self.started = busy_core_seconds(), time.process_time(), time.monotonic()

    def report(self, workers_cpu: float) -> dict[str, Any]:
        seconds = time.monotonic() - self.started
        own = time.process_time() - self.own
        others = busy_core_seconds() - self.machine - own - workers_cpu
        return {
            "machine_busy_before": self.busy_before,
            "workers_cpu_s": round(workers_cpu, 1),
            "bench_process_cpu_s": round(own, 1),
            "other_processes_cpu_s": round(max(0.0, others), 1),
            "other_processes_cores": round(max(0.0, others) / seconds, 2),
        }


# -- (a) throughput ------------------------------------------------------------------


def preload(deployment: Deployment, events: int) -> dict[str, Any]:
    """Ingest ``events`` simulated statements into the Kafka log, in batches of 1,000."""
    encode = msgspec.json.Encoder().encode
    sim = CourseSimulator(SimConfig(seed=4_242, courses=8, learners_per_course=1_000, days=70))
    stored, spent = 0, 0.0
    for batch in sim.batches(1_000):
        body = encode(batch[: events - stored])
        began = time.perf_counter()
        report = deployment.ingest.ingest(body, tenant="default", policy="atomic")
        spent += time.perf_counter() - began
        stored += report.stored
        if stored >= events:
            break
    return {"events": stored, "ingest_per_second": round(stored / spent)}


def drain(run: Run, n: int, total: int, timeout_s: float) -> dict[str, Any]:
    """Start ``n`` workers over the whole log in a new group and empty state; time them to lag 0."""
    with fresh(run) as deployment:
        load = Load()
        with workers(run, n) as group:
            launched = time.monotonic()
            samples = [(0.0, 0)]
            last_cpu = 0.0
            while samples[-1][1] < total and time.monotonic() - launched < timeout_s:
                time.sleep(SAMPLE_S)
                samples.append((time.monotonic() - launched, status(deployment)["processed"]))
                last_cpu = group.cpu_seconds()
            figures = load.report(last_cpu)
    if samples[-1][1] < total:
        raise RuntimeError(f"{n} workers processed {samples[-1][1]} of {total} in {timeout_s} s")
    t10, t90 = (next(t for t, done in samples if done >= share * total) for share in (0.1, 0.9))
    return {
        "workers": n,
        "events_per_second": round(0.8 * total / (t90 - t10)),
        "launch_to_lag_0_s": round(samples[-1][0], 1),
        "first_commit_after_s": round(next(t for t, done in samples if done > 0), 1),
        **figures,
    }


def storage(run: Run) -> dict[str, Any]:
    """Rows and bytes (tables with their indexes and TOAST) of the state and log-index schemas."""
    query = (
        "SELECT n.nspname, c.relname, pg_total_relation_size(c.oid) FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = ANY(%s) AND c.relkind = 'r'"
    )
    out: dict[str, Any] = {}
    with psycopg.connect(POSTGRES, autocommit=True) as conn:
        for schema, table, size in conn.execute(query, [[run.name, f"{run.name}_log"]]).fetchall():
            rows = conn.execute(sql.SQL("SELECT count(*) FROM {}.{}").format(*map(sql.Identifier, (schema, table))))
            kind = "log_index" if schema.endswith("_log") else "state"
            out.setdefault(kind, {})[table] = {"rows": rows.fetchone()[0], "bytes": size}  # type: ignore[index]
    for tables in out.values():
        tables["total_bytes"] = sum(t["bytes"] for t in tables.values())
    return out


def embedded_baseline(deployment: Deployment, root: Path) -> dict[str, Any]:
    """The same records, copied in order into an embedded log, processed by one embedded runtime."""
    log = SqliteLog(root / "baseline-log.db")
    log.ensure_topic(EVENTS_TOPIC, PARTITIONS)
    for part, end in enumerate(deployment.log.end_offsets(EVENTS_TOPIC)):
        offset = 0
        while offset < end:
            records = deployment.log.read(EVENTS_TOPIC, part, offset, 20_000)
            log.append(EVENTS_TOPIC, [Record(r.key, r.value, r.timestamp_us) for r in records])
            offset = records[-1].offset + 1
    store = SqliteStore(root / "baseline-state.db")
    operators = default_operators(allowed_lateness_us=LATENESS_HOURS * 3_600_000_000)
    runtime = Runtime(log, store, operators, batch_size=256)
    runtime.assign_all()
    load = Load()
    began = time.perf_counter()
    events = runtime.run_until_caught_up().events
    seconds = time.perf_counter() - began
    figures = load.report(0.0)
    store.close()
    log.close()
    return {"events": events, "events_per_second": round(events / seconds), **figures}


def throughput(run: Run, args: argparse.Namespace) -> dict[str, Any]:
    with Deployment(run.settings()) as deployment:
        loaded = preload(deployment, args.events)
        baseline = embedded_baseline(deployment, run.root)
    runs = [drain(run, n, loaded["events"], args.timeout) for n in (1, 2, 3)]
    sizes = storage(run)  # as the last workers left it
    one = runs[0]["events_per_second"]
    for row in runs:
        row["vs_1_worker"] = round(row["events_per_second"] / one, 2)
        row["vs_embedded"] = round(row["events_per_second"] / baseline["events_per_second"], 2)
    return {"preload": loaded, "embedded_baseline": baseline, "workers": runs, "storage": sizes}


# -- (b) latency through Kafka --------------------------------------------------------


def latency(run: Run, args: argparse.Namespace) -> dict[str, Any]:
    import latency as freshness  # noqa: PLC0415 - bench/latency.py, the method reused

    statements = load_statements("scaleout", STATEMENTS)
    batches = freshness.build_batches(statements, args.rate, args.batch, args.duration)
    saved = dict(os.environ)
    os.environ.update(run.env)  # `keys create` and `serve` run as subprocesses with this environment
    try:
        with fresh(run), workers(run, 2) as group, edupulse_server(env=run.env) as server:
            time.sleep(SESSION_TIMEOUT_MS / 1000)  # both workers in the group, partitions assigned
            options = argparse.Namespace(senders=args.senders, probe_every=4, warmup=3.0)
            cpu = group.cpu_seconds()
            result = freshness.measure(server, batches, options)
            result["workers_cpu_utilisation"] = round((group.cpu_seconds() - cpu) / args.duration, 2)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    result.pop("targets_met", None)
    params = {"rate": args.rate, "batch": args.batch, "senders": args.senders, "duration_s": args.duration}
    return {**params, "workers": 2, **result}


# -- (c) lag recovery after a kill ----------------------------------------------------


class Feed:
    """Ingests real statements under new ids at a steady rate, in a thread, until stopped."""

    def __init__(self, deployment: Deployment, statements: list[bytes], rate: float) -> None:
        self.deployment, self.statements, self.rate = deployment, statements, rate
        self.stop, self.sent, self.behind, self.retries = threading.Event(), 0, 0.0, 0
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        size = max(1, round(self.rate / 10))  # ten batches a second
        decode, encode = msgspec.json.decode, msgspec.json.encode
        began = time.monotonic()
        batch = 0
        while not self.stop.is_set():
            items = []
            for i in range(size):
                stmt = decode(self.statements[(batch * size + i) % len(self.statements)])
                stmt["id"] = str(uuid.uuid4())
                items.append(stmt)
            due = began + batch * size / self.rate
            time.sleep(max(0.0, due - time.monotonic()))
            self.behind = max(self.behind, time.monotonic() - due)
            self.sent += self._ingest(encode(items))
            batch += 1

    def _ingest(self, body: bytes) -> int:
        """Store one batch, retrying as a client would while a service is briefly down (counted)."""
        for _ in range(60):
            try:
                return self.deployment.ingest.ingest(body, tenant="default").stored
            except TransientError:
                self.retries += 1
                time.sleep(0.5)
        raise RuntimeError("a batch could not be stored within 30 s")


def lag_series(deployment: Deployment, seconds: float) -> list[tuple[float, int]]:
    began, out = time.monotonic(), []
    while (now := time.monotonic() - began) < seconds:
        out.append((now, status(deployment)["lag"]))
        time.sleep(SAMPLE_S)
    return out


def settle(deployment: Deployment, level: float, max_s: float) -> float:
    """Wait until every worker has joined (two session timeouts) and then until the lag has
    stayed at most ``level`` for 5 s (or ``max_s`` in all); returns the seconds waited."""
    began = time.monotonic()
    time.sleep(2 * SESSION_TIMEOUT_MS / 1000)
    calm_since = time.monotonic()
    while time.monotonic() - began < max_s and time.monotonic() - calm_since < 5.0:
        if status(deployment)["lag"] > level:
            calm_since = time.monotonic()
        time.sleep(SAMPLE_S)
    return round(time.monotonic() - began, 1)


def kill_one(run: Run, statements: list[bytes], args: argparse.Namespace, *, restart: bool) -> dict[str, Any]:
    """Three workers under a steady feed; one is killed once they keep up. The state is kept, so
    the new group resumes from the stored offsets rather than replaying the earlier parts' events."""
    run.new_group()
    load = Load()
    with Deployment(run.settings()) as deployment, workers(run, 3) as group:
        feed = Feed(deployment, statements, args.rate)
        feed.thread.start()
        settled = settle(deployment, args.rate / 4, args.settle)  # the group formed and keeps up
        before = lag_series(deployment, 10.0)
        level = percentiles([lag for _, lag in before], (95,))["p95"]
        group.kill(group.alive()[0])
        if restart:
            group.start()
        after = lag_series(deployment, args.recovery)
        peak = max(lag for _, lag in after)
        peak_at = next(t for t, lag in after if lag == peak)
        recovered = next((t for t, lag in after if t > peak_at and lag <= level), None)
        feed.stop.set()
        feed.thread.join(30)
        figures = load.report(group.cpu_seconds())
    return {
        "restart": restart,
        "settled_after_s": settled,
        "lag_before_kill": {"p95": level, "max": max(lag for _, lag in before)},
        "peak_lag_after_kill": peak,
        "peak_lag_at_s": round(peak_at, 1),
        "recovered_after_s": None if recovered is None else round(recovered, 1),
        "lag_after_kill": [(round(t, 1), lag) for t, lag in after[::5]],
        "statements_sent": feed.sent,
        "feed_most_behind_s": round(feed.behind, 2),
        "feed_retries": feed.retries,  # above 0: a service was down during the run, so the figures are not clean
        **figures,
    }


def recovery(run: Run, args: argparse.Namespace) -> dict[str, Any]:
    statements = load_statements("scaleout", STATEMENTS)
    runs = [kill_one(run, statements, args, restart=r) for r in (False, True)]
    return {"rate": args.rate, "workers": 3, "session_timeout_ms": SESSION_TIMEOUT_MS, "kills": runs}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--parts", default="throughput,latency,recovery", help="which parts, comma-separated")
    parser.add_argument("--events", type=int, default=200_000, help="events pre-loaded for the throughput part")
    parser.add_argument("--timeout", type=float, default=240, help="longest a throughput run may take, seconds")
    parser.add_argument("--rate", type=float, default=2_000, help="statements per second (latency, recovery)")
    parser.add_argument("--batch", type=int, default=200, help="statements per POST in the latency part")
    parser.add_argument("--senders", type=int, default=8, help="concurrent POSTs in the latency part")
    parser.add_argument("--duration", type=float, default=25, help="seconds of sending in the latency part")
    parser.add_argument("--settle", type=float, default=60, help="most seconds to wait for workers to keep up")
    parser.add_argument("--recovery", type=float, default=40, help="seconds the lag is followed after a kill")
    parser.add_argument("--keep", action="store_true", help="keep the worker logs and leave the topic and schemas")
    args = parser.parse_args()
    parts = {"throughput": throughput, "latency": latency, "recovery": recovery}
    result: dict[str, Any] = {"benchmark": "scaleout", "machine": machine(), "partitions": PARTITIONS}
    with scratch_dir("edupulse-scaleout-", args.keep) as root:
        run = Run(root)
        try:
            for part in args.parts.split(","):
                result[part] = parts[part](run, args)
        finally:
            if not args.keep:
                run.drop()
    emit(result)


if __name__ == "__main__":
    main()
