"""Alerts, predictions and feature snapshots: from the outbox onto log topics, and into the lake, once."""

from __future__ import annotations

import json
import re
import secrets
import sqlite3
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import msgspec
import pyarrow.parquet as pq
import pytest
from deltalake import DeltaTable

from edupulse.alerts import AlertLedger
from edupulse.bluegreen import backfill_and_swap
from edupulse.config import LogSettings, RetentionSettings, Settings
from edupulse.deployment import STATE_FILE, Deployment
from edupulse.events.model import LearningEvent
from edupulse.insights import standard_operators
from edupulse.insights.rules import ALERTS_VIEW
from edupulse.lake.catalog import TABLES, table_spec
from edupulse.lake.erasure import erase_learner
from edupulse.lake.sink import LakeSink
from edupulse.lake.sql import query
from edupulse.lake.tables import LakeTable, json_rows
from edupulse.log.base import EventLog, Record
from edupulse.retention import apply_tenant_retention
from edupulse.stream.log_sender import FEATURE_SNAPSHOTS_TOPIC, LOG_TOPICS, PREDICTIONS_TOPIC, LogSender
from edupulse.stream.operator import Flush, Operator
from edupulse.stream.outbox import OutboxRelay
from edupulse.stream.runtime import EVENTS_TOPIC
from edupulse.stream.store.base import Commit, OutboxMessage, StateStore
from tests.contract.backends import LOG_BACKENDS, STORE_BACKENDS, Handles
from tests.statements import random_statements

RULES = "rules:\n  - {name: struggling, when: failed_attempts, count: 2, within_hours: 240}\n"
_SEP = "\x1f"


class RiskProbe:
    """Stands in for the risk operator: per event, a prediction and a feature snapshot in the outbox."""

    name = "risk_probe"
    version = "1"
    views = ()

    def __init__(self) -> None:
        self._counts: dict[int, dict[str, int]] = {}
        self._dirty: dict[int, set[str]] = {}
        self._outbox: dict[int, list[OutboxMessage]] = {}

    def restore(self, partition: int, state: Mapping[str, bytes]) -> None:
        self._counts[partition] = {k: msgspec.msgpack.decode(v) for k, v in state.items()}
        self._dirty[partition], self._outbox[partition] = set(), []

    def process(self, partition: int, events: Sequence[LearningEvent]) -> None:
        counts, out = self._counts[partition], self._outbox[partition]
        for ev in events:
            lkey = ev.tenant + _SEP + ev.learner
            counts[lkey] = n = counts.get(lkey, 0) + 1
            self._dirty[partition].add(lkey)
            row = {"tenant": ev.tenant, "learner": ev.learner, "course": ev.course, "event_id": ev.event_id}
            prediction = {**row, "risk": 1 / (1 + n), "model": "probe-1", "event_time_us": ev.event_time_us}
            out.append(OutboxMessage(PREDICTIONS_TOPIC, lkey, json.dumps(prediction).encode(), f"p:{ev.event_id}"))
            snapshot = {**row, "events": n}
            out.append(OutboxMessage(FEATURE_SNAPSHOTS_TOPIC, lkey, json.dumps(snapshot).encode(), f"f:{ev.event_id}"))

    def flush(self, partition: int) -> Flush:
        counts, dirty = self._counts[partition], self._dirty[partition]
        state: dict[str, bytes | None] = {k: msgspec.msgpack.encode(counts[k]) for k in dirty}
        out = Flush(state=state, outbox=self._outbox[partition])
        self._dirty[partition], self._outbox[partition] = set(), []
        return out

    def revoke(self, partition: int) -> None:
        for kept in (self._counts, self._dirty, self._outbox):
            kept.pop(partition, None)


def with_probe(settings: Settings) -> list[Operator]:
    return [*standard_operators(settings), RiskProbe()]


def _rows(settings: Settings, table: str) -> list[dict[str, Any]]:
    return DeltaTable(str(settings.lake_path / table)).to_pyarrow_table().to_pylist()


def _settled(dep: Deployment) -> bool:
    """Processed, relayed, and in the lake: every topic's lake offsets at the log's end."""
    ends = dep.log.end_offsets(EVENTS_TOPIC)
    if [dep.store.committed_offset(EVENTS_TOPIC, p) for p in range(len(ends))] != ends:
        return False
    if dep.store.pending_outbox(1) or dep.lake is None:
        return False
    return all(
        [dep.lake.offsets(t).get(p, 0) for p in range(len(dep.log.end_offsets(t)))] == dep.log.end_offsets(t)
        for t in (EVENTS_TOPIC, *LOG_TOPICS)
    )


def _settle(dep: Deployment) -> None:
    deadline = time.monotonic() + 60
    while not _settled(dep):
        assert time.monotonic() < deadline, "processing, relay and lake did not settle within 60 s"
        time.sleep(0.05)


@pytest.fixture
def live(tmp_path: Path) -> Iterator[Deployment]:
    (tmp_path / "rules.yaml").write_text(RULES)
    settings = Settings(
        data_dir=tmp_path / "data",
        log={"partitions": 2},
        lake={"enabled": True, "flush_interval_s": 0.1},
        rules={"path": tmp_path / "rules.yaml"},
    )
    with Deployment(settings) as dep:
        dep.operators = with_probe(settings)
        dep.store.setup([v for op in dep.operators for v in op.views])
        dep.start_processing()
        yield dep


def test_outputs_reach_their_tables_once_even_after_a_blue_green_rebuild(live: Deployment) -> None:
    settings = live.settings
    live.ingest.ingest(json.dumps(random_statements(600, seed=31, learners=12)).encode(), tenant="default")
    _settle(live)
    alerts = live.store.select(ALERTS_VIEW.name, {"tenant": "default"})
    assert alerts, "the rules should have raised alerts"

    def check() -> None:
        lake_alerts = _rows(settings, "alerts")
        assert sorted(r["id"] for r in lake_alerts) == sorted(a["id"] for a in alerts)  # each alert once
        assert {r["rule"] for r in lake_alerts} == {"struggling"}
        for table in (PREDICTIONS_TOPIC, FEATURE_SNAPSHOTS_TOPIC):
            ids = [r["event_id"] for r in _rows(settings, table)]
            assert len(ids) == len(set(ids)) == 600, table

    check()
    # A rebuild re-emits every output into the new state's outbox; the relay appends them again.
    started_us = time.time_ns() // 1000
    backfill_and_swap(live, operators=with_probe, workers=1)
    _settle(live)
    with sqlite3.connect(settings.data_dir / STATE_FILE) as state:
        assert state.execute("SELECT min(created_us) FROM outbox").fetchone()[0] > started_us
    check()
    # The tables answer SQL like the events table, through the API's tenant-scoped path too.
    per_rule = query(settings, "SELECT rule, count(*) AS n FROM alerts GROUP BY rule", tenant="default").to_pylist()
    assert per_rule == [{"rule": "struggling", "n": len(alerts)}]
    doc = (Path(__file__).resolve().parents[1] / "docs" / "lakehouse.md").read_text()
    section = doc.split("## Queries over alerts and predictions", 1)[1].split("\n## ", 1)[0]
    documented = re.findall(r"```sql\n(.*?)```", section, re.S)
    assert len(documented) == 3
    for sql in documented:
        assert query(settings, sql, tenant="default", read_only=True).num_rows, sql


def test_erasing_a_learner_removes_their_rows_from_every_table_and_file(live: Deployment) -> None:
    settings = live.settings
    live.ingest.ingest(json.dumps(random_statements(400, seed=32, learners=6)).encode(), tenant="default")
    _settle(live)
    live.stop_processing()  # erasure vacuums with no retention: no commit may be under way
    learner = _rows(settings, "alerts")[0]["learner"]
    before = {t.name: sum(r["learner"] == learner for r in _rows(settings, t.name)) for t in TABLES}
    assert all(before.values()), before
    report = erase_learner(settings, "default", learner)
    assert report.rows == before
    assert report.files_vacuumed > 0
    for spec in TABLES:
        assert not any(r["learner"] == learner for r in _rows(settings, spec.name)), spec.name
        table_dir = settings.lake_path / spec.name
        files = [f for f in table_dir.rglob("*.parquet") if "_delta_log" not in f.parts]
        assert all(learner not in pq.read_table(f, columns=["learner"]).column(0).to_pylist() for f in files)
        delta_log = [f for f in (table_dir / "_delta_log").iterdir() if f.is_file()]  # commits, checkpoints
        assert not any(learner.encode() in f.read_bytes() for f in delta_log), spec.name  # statistics held it
    assert erase_learner(settings, "default", learner).rows == {}  # nothing left: nothing to vacuum


@pytest.fixture(params=[("sqlite", "sqlite"), ("kafka", "postgres")], ids="+".join)
def log_and_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[EventLog, StateStore]]:
    log_kind, store_kind = request.param
    logs: Handles[EventLog] = Handles(LOG_BACKENDS[log_kind], tmp_path)
    stores: Handles[StateStore] = Handles(STORE_BACKENDS[store_kind], tmp_path)
    try:
        store = stores.open()
        store.setup([])
        yield logs.open(), store
    finally:
        stores.close_all()
        logs.close_all()


def _predictions(n: int, model: str = "m1") -> list[OutboxMessage]:
    out = []
    for i in range(n):
        value = {"tenant": "t", "learner": f"l{i % 7}", "course": f"c{i % 2}", "risk": i / n, "model": model}
        out.append(OutboxMessage(PREDICTIONS_TOPIC, f"t{_SEP}l{i % 7}", json.dumps(value).encode(), f"{model}:{i}"))
    return out


def test_relayed_messages_land_once_on_the_log_and_in_the_lake(
    log_and_store: tuple[EventLog, StateStore], tmp_path: Path
) -> None:
    log, store = log_and_store
    # a topic per run on the shared broker (pytest's temp directory names repeat across runs)
    topic = f"predictions_{secrets.token_hex(6)}"
    messages = [OutboxMessage(topic, m.key, m.payload, m.idempotency_key) for m in _predictions(50)]
    store.commit(Commit(EVENTS_TOPIC, 0, 1, outbox=messages))
    sender = LogSender(log, partitions=2)
    relay = OutboxRelay(
        store, AlertLedger(tmp_path / "alerts.db"), {}, max_attempts=3, backoff_s=0.01, batch_senders={topic: sender}
    )
    assert relay.run_once().delivered == 50
    assert store.pending_outbox(100) == []
    # The relay died after appending, before marking delivered: its restart appends them again.
    sender.send_batch(messages)
    # A replay rebuilt the outbox: the same messages are pending again.
    store.commit(Commit(EVENTS_TOPIC, 1, 1, outbox=[OutboxMessage(topic, "k", b"{}", "new")]))
    assert sum(log.end_offsets(topic)) == 50
    assert relay.run_once().delivered == 1
    assert sum(log.end_offsets(topic)) == 51
    sink = LakeSink(log, LakeTable(topic, topic, json_rows, ("date", "course")), tmp_path / "lake")
    assert sink.run_once(force=True) == 51
    rows = DeltaTable(str(tmp_path / "lake" / topic)).to_pyarrow_table().to_pylist()
    assert sorted(r["risk"] for r in rows if r.get("risk") is not None) == [i / 50 for i in range(50)]
    assert sum(r["course"] is None for r in rows) == 1  # a message without a course: a null partition


def test_a_failing_log_leaves_messages_pending(tmp_path: Path) -> None:
    from edupulse.log.sqlite import SqliteLog  # noqa: PLC0415
    from edupulse.stream.store.sqlite import SqliteStore  # noqa: PLC0415

    store = SqliteStore(tmp_path / "state.db")
    log = SqliteLog(tmp_path / "log.db")
    try:
        store.commit(Commit(EVENTS_TOPIC, 0, 1, outbox=_predictions(5)))
        log.close()  # appends now fail
        sender = LogSender(log, partitions=2)
        ledger = AlertLedger(tmp_path / "alerts.db")
        relay = OutboxRelay(
            store, ledger, {}, max_attempts=3, backoff_s=0.01, batch_senders={PREDICTIONS_TOPIC: sender}
        )
        assert relay.run_once().retrying == 5
        assert len(store.pending_outbox(100)) == 5
    finally:
        store.close()


def test_json_columns_keep_every_value_across_batches_of_changing_shape(tmp_path: Path) -> None:
    from edupulse.log.sqlite import SqliteLog  # noqa: PLC0415

    log = SqliteLog(tmp_path / "log.db")
    try:
        log.ensure_topic("outputs", 1)
        spec = LakeTable("outputs", "outputs", json_rows, ("date", "course"))
        sink = LakeSink(log, spec, tmp_path / "lake")
        batches: list[list[Any]] = [
            [{"course": "c", "n": 1, "at_us": 5, "flag": True}, {"course": "c", "n": None}],
            [{"course": "c", "n": 0.5, "detail": {"a": [1, 2]}, "mixed": 1}, {"mixed": "x", "new": None}],
            [{"n": "many"}, [1, 2], "not an object"],
        ]
        for i, batch in enumerate(batches):
            log.append("outputs", [Record(b"k", json.dumps(v).encode(), 1_790_000_000_000_000 + i) for v in batch])
            sink.run_once(force=True)
        log.append("outputs", [Record(b"k", b"{not json", 1_790_000_000_000_009)])
        sink.run_once(force=True)
    finally:
        log.close()
    rows = sorted(
        DeltaTable(str(tmp_path / "lake" / "outputs")).to_pyarrow_table().to_pylist(), key=lambda r: r["log_offset"]
    )
    assert [r["n"] for r in rows] == [1.0, None, 0.5, None, None, None, None, None]
    assert rows[4]["n_string"] == "many"  # text in a number column: a column of its own, nothing lost
    assert rows[0]["at_us"] == 5 and rows[0]["flag"] is True
    assert json.loads(rows[2]["detail"]) == {"a": [1, 2]}
    assert [rows[2]["mixed"], rows[3]["mixed"]] == ["1", '"x"']  # mixed kinds in one batch: JSON text
    assert json.loads(rows[5]["value"]) == [1, 2] and rows[6]["value"] == '"not an object"'
    assert rows[7]["value"] == "{not json"
    assert rows[4]["course"] is None


def test_every_output_topic_has_a_table() -> None:
    assert {t: table_spec(t).topic for t in LOG_TOPICS} == {t: t for t in LOG_TOPICS}


def _log_keys(log: EventLog, topics: Sequence[str]) -> list[bytes]:
    return [r.key for t in topics for p in range(len(log.end_offsets(t))) for r in log.read(t, p, 0, 100_000)]


def test_tenant_retention_reaches_the_relayed_topics_and_their_tables(live: Deployment) -> None:
    settings = live.settings
    live.ingest.ingest(json.dumps(random_statements(300, seed=33, learners=5)).encode(), tenant="acme")
    live.ingest.ingest(json.dumps(random_statements(200, seed=34, learners=5)).encode(), tenant="keep")
    _settle(live)
    live.stop_processing()
    tables = [t.name for t in TABLES]
    assert all({r["tenant"] for r in _rows(settings, t)} == {"acme", "keep"} for t in tables)
    acme_rows = sum(r["tenant"] == "acme" for t in tables for r in _rows(settings, t))
    topics = (EVENTS_TOPIC, *LOG_TOPICS)
    acme_records = sum(k.startswith(b"acme\x1f") for k in _log_keys(live.log, topics))
    assert acme_records > 300  # the events and what was relayed for them
    policy = settings.model_copy(update={"retention": RetentionSettings(tenant_days={"acme": 1.0})})
    (report,), _ = apply_tenant_retention(policy, now_us=time.time_ns() // 1000 + 2 * 86_400_000_000)
    assert (report.log_records, report.lake_rows) == (acme_records, acme_rows)
    assert all({r["tenant"] for r in _rows(settings, t)} == {"keep"} for t in tables)
    assert {k.split(b"\x1f")[0] for k in _log_keys(live.log, topics)} == {b"keep"}


def test_log_retention_applies_to_the_relayed_topics_but_keeps_what_the_lake_lacks(live: Deployment) -> None:
    live.ingest.ingest(json.dumps(random_statements(200, seed=35, learners=5)).encode(), tenant="default")
    _settle(live)
    assert live.lake is not None
    live.lake.stop()  # the sink holds still: records appended from now on are not in the lake
    live.settings = live.settings.model_copy(update={"log": LogSettings(partitions=2, retention_records=1)})
    held = {t: live.lake.offsets(t) for t in LOG_TOPICS}
    live.ingest.ingest(json.dumps(random_statements(100, seed=36, learners=5)).encode(), tenant="default")
    deadline = time.monotonic() + 30
    while any(sum(live.log.end_offsets(t)) == sum(held[t].values()) for t in LOG_TOPICS):
        assert time.monotonic() < deadline, "the relay did not append the new outputs"
        time.sleep(0.05)
    live.apply_retention()
    for topic in LOG_TOPICS:
        assert live.log.start_offsets(topic) == [held[topic].get(p, 0) for p in range(2)], topic
