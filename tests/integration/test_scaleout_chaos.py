"""Chaos on the scale-out deployment: real ``edupulse worker`` processes, Kafka and PostgreSQL.

Three workers share a 12-partition topic through their consumer group while a producer
ingests 200,000 simulated xAPI statements (and a few undecodable records, which become
dead letters in the outbox). Every few seconds a random worker is killed with SIGKILL
and started again, ten times. Once everything is processed, every view the group built
in PostgreSQL must equal what ONE process builds from the same records in an embedded
log, and every outbox message must be there exactly once: nothing lost, nothing counted
twice, nothing emitted twice.

Each worker runs as a static group member named after its slot, as an operator would run
them (one per container or unit): a worker killed and started again takes its partitions
back at once instead of after the session timeout.

The second test restarts the Kafka broker and then PostgreSQL under a running worker, and
processing must be caught up within seconds of the last ingest.
"""

from __future__ import annotations

import logging
import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest

from edupulse.config import Settings
from edupulse.deployment import Deployment
from edupulse.errors import TransientError
from edupulse.insights import default_operators
from edupulse.insights.engagement import LEARNER_VIEW
from edupulse.log.base import Record
from edupulse.log.sqlite import SqliteLog
from edupulse.sim.config import SimConfig
from edupulse.sim.simulator import CourseSimulator
from edupulse.status import pipeline_status
from edupulse.stream.runtime import EVENTS_TOPIC, Runtime
from edupulse.stream.store.base import StateStore
from edupulse.stream.store.sqlite import SqliteStore
from tests.services import kafka_servers, postgres_dsn, scratch_schema

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]
logger = logging.getLogger(__name__)

PARTITIONS = 12
WORKERS = 3
KILLS = 10
STATEMENTS = 200_000
BATCH = 1_000
RESUME_BOUND_S = 30.0  # from the last ingest after both restarts to a caught-up group
JUNK = 24  # undecodable records spread over the run
SEED = 4_242
LATENESS_HOURS = 48
REPO = Path(__file__).resolve().parents[2]
SCRIPTS = REPO / "scripts" / "services"


def scaleout_env(tmp: Path, name: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDUPULSE_")}
    env.update(
        {
            "EDUPULSE_DEPLOYMENT": "scaleout",
            "EDUPULSE_DATA_DIR": str(tmp / "data"),
            "EDUPULSE_KAFKA__BOOTSTRAP_SERVERS": kafka_servers(),
            "EDUPULSE_KAFKA__TOPIC_PREFIX": f"{name}.",
            "EDUPULSE_KAFKA__GROUP_ID": name,
            "EDUPULSE_KAFKA__SESSION_TIMEOUT_MS": "6000",
            "EDUPULSE_POSTGRES__DSN": postgres_dsn(),
            "EDUPULSE_POSTGRES__SCHEMA_NAME": scratch_schema(name),
            "EDUPULSE_LOG__PARTITIONS": str(PARTITIONS),
            "EDUPULSE_RUNTIME__ALLOWED_LATENESS_HOURS": str(LATENESS_HOURS),
        }
    )
    scratch_schema(f"{name}_log")  # the Kafka log's index schema, dropped with the session
    return env


def settings_from(env: dict[str, str]) -> Settings:
    saved = dict(os.environ)
    try:
        os.environ.update(env)
        return Settings()
    finally:
        os.environ.clear()
        os.environ.update(saved)


class Workers:
    """``edupulse worker`` processes, started and killed like an operator would."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env, self.logs = env, logs
        self.procs: dict[int, subprocess.Popen[bytes]] = {}
        self.starts = 0

    def start(self, slot: int) -> None:
        self.starts += 1
        log = (self.logs / f"worker-{slot}-{self.starts}.log").open("wb")
        cmd = [sys.executable, "-c", "from edupulse.cli import main; main()", "worker"]
        env = {**self.env, "EDUPULSE_KAFKA__INSTANCE_ID": f"worker-{slot}"}
        self.procs[slot] = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)

    def kill(self, slot: int) -> None:
        proc = self.procs[slot]
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)

    def alive(self) -> list[int]:
        return [slot for slot, proc in self.procs.items() if proc.poll() is None]

    def stop_all(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)

    def tail(self) -> str:
        return "\n".join(p.read_text()[-1500:] for p in sorted(self.logs.glob("worker-*.log")))


@pytest.fixture
def scaleout(tmp_path: Path) -> Iterator[tuple[Deployment, Workers, dict[str, str]]]:
    name = f"chaos_{uuid.uuid4().hex[:10]}"
    env = scaleout_env(tmp_path, name)
    deployment = Deployment(settings_from(env))  # creates the topic and the schemas
    workers = Workers(env, tmp_path)
    try:
        yield deployment, workers, env
    finally:
        workers.stop_all()
        deployment.close()


def produce(deployment: Deployment, done: threading.Event, errors: list[BaseException], junk: list[str]) -> None:
    """Ingest the simulated statements in batches, with undecodable records among them."""
    encode = msgspec.json.Encoder().encode
    sim = CourseSimulator(SimConfig(seed=SEED, courses=4, learners_per_course=500, days=70))
    junk_every = STATEMENTS // BATCH // JUNK
    try:
        for i, batch in enumerate(sim.batches(BATCH)):
            if i * BATCH >= STATEMENTS:
                break
            report = deployment.ingest.ingest(encode(batch), tenant="default", policy="atomic")
            assert report.stored + report.duplicates == len(batch)
            if i % junk_every == 0:
                junk_record = Record(
                    f"junk-{i}".encode(), b"\xc1 not an event", time.time_ns() // 1000, f"junk-{i}", b"j" * 16
                )
                deployment.log.append(EVENTS_TOPIC, [junk_record])
                junk.append(f"junk-{i}")
    except BaseException as exc:
        errors.append(exc)
    finally:
        done.set()


def wait_caught_up(deployment: Deployment, workers: Workers, timeout_s: float = 300.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    status: dict[str, Any] = {}
    while time.monotonic() < deadline:
        try:
            status = pipeline_status(deployment)
        except TransientError:  # a service restarting: ask again, as a dashboard would
            time.sleep(0.5)
            continue
        if status["lag"] == 0:
            return status
        time.sleep(0.5)
    raise AssertionError(f"lag still {status.get('lag')} after {timeout_s} s\n{workers.tail()}")


def reference(deployment: Deployment, tmp: Path) -> SqliteStore:
    """One process over the same records, copied in order into an embedded log."""
    ref_log = SqliteLog(tmp / "ref-log.db")
    ref_log.ensure_topic(EVENTS_TOPIC, PARTITIONS)
    for part, end in enumerate(deployment.log.end_offsets(EVENTS_TOPIC)):
        offset = 0
        while offset < end:
            records = deployment.log.read(EVENTS_TOPIC, part, offset, 20_000)
            assert records and records[0].offset == offset, f"partition {part} has a gap at {offset}"
            appended = ref_log.append(EVENTS_TOPIC, [Record(r.key, r.value, r.timestamp_us) for r in records])
            assert {a.partition for a in appended} == {part}
            assert [a.offset for a in appended] == [r.offset for r in records]
            offset = records[-1].offset + 1
    store = SqliteStore(tmp / "ref-state.db")
    operators = default_operators(allowed_lateness_us=LATENESS_HOURS * 3_600_000_000)
    runtime = Runtime(ref_log, store, operators, batch_size=50_000)
    runtime.assign_all()
    runtime.run_until_caught_up()
    ref_log.close()
    return store


def views(store: StateStore) -> dict[str, list[dict[str, Any]]]:
    out = {}
    for op in default_operators(allowed_lateness_us=0):
        for spec in op.views:
            rows = store.select(spec.name, {})
            out[spec.name] = sorted(rows, key=lambda r, s=spec: tuple(str(r[k]) for k in s.key))
    return out


def test_kill_9_workers_ten_times_while_200000_events_arrive(
    scaleout: tuple[Deployment, Workers, dict[str, str]], tmp_path: Path
) -> None:
    deployment, workers, _ = scaleout
    began = time.monotonic()
    for slot in range(WORKERS):
        workers.start(slot)
    done, errors, junk = threading.Event(), [], []
    producer = threading.Thread(target=produce, args=(deployment, done, errors, junk), daemon=True)
    producer.start()
    rng = random.Random(SEED)
    kills = 0
    while kills < KILLS:
        time.sleep(rng.uniform(2.0, 4.0))
        victim = rng.choice(workers.alive())
        workers.kill(victim)
        workers.start(victim)
        kills += 1
    producer.join(timeout=600)
    assert not errors, errors
    assert done.is_set()
    ingested = time.monotonic()
    status = wait_caught_up(deployment, workers)
    assert status["events"] == STATEMENTS + len(junk)
    caught_up = time.monotonic()

    expected = reference(deployment, tmp_path)
    logger.info(
        "ingest %.1f s, then caught up %.1f s later, reference %.1f s",
        ingested - began,
        caught_up - ingested,
        time.monotonic() - caught_up,
    )
    got, want = views(deployment.store), views(expected)
    assert {k: len(v) for k, v in got.items()} == {k: len(v) for k, v in want.items()}
    assert got == want  # nothing lost, nothing counted twice
    assert sum(r["events"] for r in got[LEARNER_VIEW.name]) == STATEMENTS

    outbox = deployment.store.pending_outbox(100_000)
    keys = [m.idempotency_key for _, m in outbox]
    assert len(keys) == len(set(keys)), "an outbox message was emitted twice"
    assert sorted(keys) == sorted(m.idempotency_key for _, m in expected.pending_outbox(100_000))
    assert len(keys) == len(junk) > 0  # every undecodable record, dead-lettered once
    assert workers.starts == WORKERS + KILLS
    expected.close()


def service(script: str, action: str) -> None:
    done = subprocess.run(["bash", str(SCRIPTS / script), action], check=False, timeout=180, capture_output=True)
    assert done.returncode == 0, f"{script} {action} failed:\n{done.stderr.decode()[-2000:]}"


def test_a_broker_restart_and_a_postgresql_restart_lose_nothing(
    scaleout: tuple[Deployment, Workers, dict[str, str]], tmp_path: Path
) -> None:
    deployment, workers, _ = scaleout
    workers.start(0)
    encode = msgspec.json.Encoder().encode
    sim = CourseSimulator(SimConfig(seed=SEED + 1, courses=2, learners_per_course=200, days=30))
    statements = sim.take(20_000)
    batches = [encode(statements[i : i + 500]) for i in range(0, len(statements), 500)]

    def ingest(bodies: list[bytes]) -> None:
        for body in bodies:
            for _ in range(120):  # a client retries while a service restarts
                try:
                    deployment.ingest.ingest(body, tenant="default", policy="atomic")
                    break
                except Exception:  # any failure while a server is down is retried
                    time.sleep(0.5)
            else:
                raise AssertionError("a batch could not be stored within a minute")

    third = len(batches) // 3
    ingest(batches[:third])
    service("kafka.sh", "down")
    service("kafka.sh", "up")
    ingest(batches[third : 2 * third])
    service("postgres.sh", "down")
    time.sleep(2)
    service("postgres.sh", "up")
    ingest(batches[2 * third :])
    ingested = time.monotonic()
    status = wait_caught_up(deployment, workers, timeout_s=RESUME_BOUND_S)  # not minutes later
    logger.info("caught up %.1f s after the last ingest", time.monotonic() - ingested)
    assert status["events"] == 20_000
    assert workers.alive() == [0], workers.tail()  # the worker rode out both restarts
    expected = reference(deployment, tmp_path)
    assert views(deployment.store) == views(expected)
    expected.close()
