"""Three worker processes share a 12-partition Kafka topic through a consumer group.

Events keep arriving while one worker is killed with SIGKILL and started again. Kafka
moves its partitions to the others and back; the views the group built must equal
those one process builds over the same records from an embedded log: nothing lost,
nothing counted twice.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from edupulse.errors import FencedError
from edupulse.insights import default_operators
from edupulse.insights.engagement import COURSE_VIEW, LEARNER_VIEW
from edupulse.log.base import Record
from edupulse.log.kafka import KafkaLog
from edupulse.log.sqlite import SqliteLog
from edupulse.lrs.statements import StatementIngest
from edupulse.stream.group import GroupWorker
from edupulse.stream.runtime import Runtime
from edupulse.stream.store.sqlite import SqliteStore
from tests.services import kafka_servers, postgres_dsn, track
from tests.statements import random_statements

PARTITIONS = 12
EVENTS = 3_000


class Group:
    """Worker processes of one group, each with its own journal of assignments."""

    def __init__(self, tmp: Path, servers: str, dsn: str, schema: str, topic: str) -> None:
        self.tmp = tmp
        self.args = [
            *("--servers", servers, "--dsn", dsn, "--schema", schema, "--topic", topic),
            *("--group", f"g-{topic}", "--store", str(tmp / "state.sqlite")),
        ]
        self.procs: dict[int, subprocess.Popen[bytes]] = {}

    def start(self, n: int, *options: str) -> None:
        journal = self.tmp / f"worker-{n}.journal"
        cmd = [sys.executable, "-m", "tests.integration.group_worker", *self.args, "--journal", str(journal), *options]
        self.procs[n] = subprocess.Popen(cmd)

    def assigned(self, n: int) -> set[int]:
        """Every partition worker ``n`` was ever assigned, from its journal."""
        path = self.tmp / f"worker-{n}.journal"
        lines = path.read_text().splitlines() if path.exists() else []
        return {
            int(p) for line in lines if line.startswith("assigned") for p in re.findall(r"\d+", line.split("of")[0])
        }

    def owns(self, n: int) -> set[int]:
        """The partitions worker ``n`` holds now, from its journal (assigned, minus given up)."""
        path = self.tmp / f"worker-{n}.journal"
        held: set[int] = set()
        for line in path.read_text().splitlines() if path.exists() else []:
            parts = {int(p) for p in re.findall(r"\d+", line.split("of")[0])}
            held = held | parts if line.startswith("assigned") else held - parts
        return held

    def stop_all(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


@pytest.fixture
def kafka_log(tmp_path: Path) -> Iterator[tuple[KafkaLog, str, str]]:
    servers, dsn = kafka_servers(), postgres_dsn()
    schema = f"test_group_{uuid.uuid4().hex[:12]}"
    log = track(KafkaLog(servers, dsn, schema=schema))
    yield log, schema, dsn
    log.close()


def _wait_until(condition: object, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.1)
    raise AssertionError(f"not within {timeout_s} s: {what}")


def _reference(log: KafkaLog, topic: str, tmp: Path, partitions: int = PARTITIONS) -> SqliteStore:
    """One process over the same records, copied in offset order into an embedded log."""
    embedded = SqliteLog(tmp / "reference-log.sqlite")
    embedded.ensure_topic(topic, partitions)
    for part in range(partitions):
        records = log.read(topic, part, 0, 1_000_000)
        copied = embedded.append(topic, [Record(r.key, r.value, r.timestamp_us) for r in records])
        assert [(a.partition, a.offset) for a in copied] == [(part, r.offset) for r in records]
    store = SqliteStore(tmp / "reference-state.sqlite")
    runtime = Runtime(embedded, store, default_operators(allowed_lateness_us=0), topic=topic, batch_size=1000)
    runtime.assign_all()
    runtime.run_until_caught_up()
    embedded.close()
    return store


def _assert_same_views(got: SqliteStore, want: SqliteStore) -> None:
    for view in (LEARNER_VIEW, COURSE_VIEW):
        rows = got.select(view.name, {}, order_by=view.key[0])
        assert len(rows) > 0
        assert sorted(map(repr, rows)) == sorted(map(repr, want.select(view.name, {}))), view.name


def test_a_single_group_worker_runs_every_partition(tmp_path: Path, kafka_log: tuple[KafkaLog, str, str]) -> None:
    log, _, _ = kafka_log
    topic = f"group-{uuid.uuid4().hex[:12]}"
    log.ensure_topic(topic, 4)
    StatementIngest(log, topic=topic).ingest(json.dumps(random_statements(400, seed=3)).encode(), tenant="t")
    store = SqliteStore(tmp_path / "state.sqlite")
    stop = threading.Event()
    operators = default_operators(allowed_lateness_us=0)
    member = GroupWorker(log, store, operators, topic=topic, group_id=f"g-{topic}", batch_size=50)
    worker = threading.Thread(target=member.run, args=(stop,))
    worker.start()
    try:
        ends = log.end_offsets(topic)
        done = lambda: [store.committed_offset(topic, p) for p in range(4)] == ends  # noqa: E731
        _wait_until(done, 30, "the worker processed every event")
    finally:
        stop.set()
        worker.join(timeout=30)
    assert not worker.is_alive()
    assert member.stray_messages == 0  # the membership consumer's partitions stayed paused
    assert member.owned == set()  # it gave them all up when it left
    reference = _reference(log, topic, tmp_path, partitions=4)
    _assert_same_views(store, reference)
    store.close()
    reference.close()


@pytest.mark.integration
def test_a_group_of_workers_survives_a_killed_member(tmp_path: Path, kafka_log: tuple[KafkaLog, str, str]) -> None:
    log, schema, dsn = kafka_log
    topic = f"it-group-{uuid.uuid4().hex[:12]}"
    log.ensure_topic(topic, PARTITIONS)
    group = Group(tmp_path, log.bootstrap_servers, dsn, schema, topic)
    statements = random_statements(EVENTS, seed=7, learners=60)
    ingest = StatementIngest(log, topic=topic)
    chunks = [statements[i : i + 50] for i in range(0, EVENTS, 50)]

    def feed() -> None:  # events keep arriving through the kill, the takeover and the restart
        for chunk in chunks:
            ingest.ingest(json.dumps(chunk).encode(), tenant="t")
            time.sleep(0.15)

    feeder = threading.Thread(target=feed)
    try:
        for n in range(3):
            group.start(n)
        _wait_until(lambda: all(group.assigned(n) for n in range(3)), 30, "every worker was assigned partitions")
        feeder.start()
        time.sleep(2)
        group.procs[0].send_signal(signal.SIGKILL)
        group.procs[0].wait(timeout=10)
        survivors = lambda: group.assigned(1) | group.assigned(2) == set(range(PARTITIONS))  # noqa: E731
        _wait_until(survivors, 20, "the killed worker's partitions moved to the others")
        group.start(3)  # the killed worker comes back: a new process, a new member
        _wait_until(lambda: group.assigned(3), 20, "the restarted worker was given partitions")
        feeder.join(timeout=30)
        assert sum(log.end_offsets(topic)) == EVENTS

        store = SqliteStore(tmp_path / "state.sqlite")
        ends = log.end_offsets(topic)
        done = lambda: [store.committed_offset(topic, p) for p in range(PARTITIONS)] == ends  # noqa: E731
        _wait_until(done, 40, "the group processed every event")
    finally:
        group.stop_all()

    assert all(proc.returncode == 0 for n, proc in group.procs.items() if n != 0), "a worker failed"
    reference = _reference(log, topic, tmp_path)
    _assert_same_views(store, reference)
    store.close()
    reference.close()


@pytest.mark.integration
def test_a_stalled_worker_cannot_commit_after_its_partition_moved(
    tmp_path: Path, kafka_log: tuple[KafkaLog, str, str]
) -> None:
    """Worker A holds a processed batch and stops polling; the group gives its partition to
    B, which commits. A's late commit of the batch is refused and nothing is counted twice."""
    log, schema, dsn = kafka_log
    topic = f"fence-{uuid.uuid4().hex[:12]}"
    log.ensure_topic(topic, 1)
    StatementIngest(log, topic=topic).ingest(json.dumps(random_statements(800, seed=11)).encode(), tenant="t")
    end = log.end_offsets(topic)[0]
    store_a, store_b = SqliteStore(tmp_path / "state.sqlite"), SqliteStore(tmp_path / "state.sqlite")
    log_b = track(KafkaLog(log.bootstrap_servers, dsn, schema=schema))  # each worker process has its own
    options = {"topic": topic, "group_id": f"g-{topic}", "batch_size": 100, "session_timeout_ms": 6_000}
    stale = GroupWorker(log, store_a, default_operators(allowed_lateness_us=0), max_poll_interval_ms=6_000, **options)
    fresh = GroupWorker(log_b, store_b, default_operators(allowed_lateness_us=0), **options)
    never, stop = threading.Event(), threading.Event()
    stale.join()
    _wait_until(lambda: stale.step(never) >= 0 and stale.owned == {0}, 30, "worker A was given the partition")
    assert stale.runtime.process_partition(0, checkpoint=False) > 0  # A holds a batch in memory ... and stalls
    held_from = store_a.committed_offset(topic, 0)
    assert held_from < end

    def run_fresh() -> None:
        fresh.join()
        try:
            while not stop.is_set():
                fresh.step(stop)
        finally:
            fresh.leave()

    worker_b = threading.Thread(target=run_fresh)
    worker_b.start()
    try:
        _wait_until(lambda: store_b.committed_offset(topic, 0) == end, 60, "worker B took over and caught up")
        with pytest.raises(FencedError):
            stale.runtime.checkpoint(0)  # A wakes up and commits what it held: refused
        _wait_until(lambda: stale.step(never) >= 0 and not stale.owned, 30, "worker A learnt it lost the partition")
    finally:
        stop.set()
        worker_b.join(timeout=30)
        stale.leave()
        log_b.close()
    assert not worker_b.is_alive()
    assert store_a.committed_offset(topic, 0) == end
    reference = _reference(log, topic, tmp_path, partitions=1)
    _assert_same_views(store_a, reference)  # A's batch was counted once, by B
    for store in (store_a, store_b, reference):
        store.close()


@pytest.mark.integration
def test_a_static_member_restarted_after_kill_9_takes_its_partitions_back_at_once(
    tmp_path: Path, kafka_log: tuple[KafkaLog, str, str]
) -> None:
    """With ``instance_id`` a killed worker started again under its id gets its partitions
    back without waiting out the (here 45 s) session timeout, and the others keep theirs."""
    log, schema, dsn = kafka_log
    topic = f"it-static-{uuid.uuid4().hex[:12]}"
    log.ensure_topic(topic, PARTITIONS)
    group = Group(tmp_path, log.bootstrap_servers, dsn, schema, topic)
    slot = lambda n: ("--instance-id", f"slot-{n}", "--session-timeout-ms", "45000")  # noqa: E731
    try:
        for n in range(2):
            group.start(n, *slot(n))
        settled = lambda: group.owns(0) and group.owns(1) and group.owns(0) | group.owns(1) == set(range(PARTITIONS))  # noqa: E731
        _wait_until(lambda: settled() and not group.owns(0) & group.owns(1), 60, "both were given partitions")
        before = {n: group.owns(n) for n in range(2)}
        (tmp_path / "worker-1.journal").rename(tmp_path / "worker-1.before")
        group.procs[0].send_signal(signal.SIGKILL)
        group.procs[0].wait(timeout=10)
        (tmp_path / "worker-0.journal").rename(tmp_path / "worker-0.before")
        began = time.monotonic()
        group.start(0, *slot(0))
        _wait_until(lambda: group.assigned(0), 20, "the restarted worker got partitions before the session timeout")
        took = time.monotonic() - began
    finally:
        group.stop_all()
    assert took < 20, took
    assert group.assigned(0) == before[0]  # the same partitions, back at once
    assert not group.assigned(1)  # the other member was not rebalanced
