"""What the PostgreSQL state store promises beyond the shared contract: migrations under
concurrency, change numbers in commit order across processes, LISTEN/NOTIFY, errors."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from edupulse.errors import ConfigError, TerminalError, TransientError
from edupulse.insights import default_operators
from edupulse.insights.engagement import COURSE_VIEW, LEARNER_VIEW
from edupulse.insights.rule_file import parse_rules
from edupulse.insights.rules import ALERTS_VIEW
from edupulse.log.sqlite import SqliteLog
from edupulse.lrs.statements import StatementIngest
from edupulse.postgres import translate
from edupulse.stream.runtime import EVENTS_TOPIC, Runtime
from edupulse.stream.store.base import Commit, ViewSpec
from edupulse.stream.store.postgres import PostgresStore
from edupulse.stream.store.sqlite import SqliteStore
from tests.conftest import free_port
from tests.services import postgres_dsn, scratch_schema
from tests.statements import random_statements

VIEW = ViewSpec("items", key=("id",), columns={"id": "text", "n": "int", "doc": "json"})


@pytest.fixture
def schema(request: pytest.FixtureRequest) -> str:
    return scratch_schema("t_pg_" + request.node.name.lower().replace("[", "_").replace("]", "")[:40])


@pytest.fixture
def store(schema: str) -> Iterator[PostgresStore]:
    opened = PostgresStore(postgres_dsn(), schema=schema, pool_size=2)
    opened.setup([VIEW])
    yield opened
    opened.close()


def test_migrations_are_recorded_once_even_when_workers_set_up_together(schema: str) -> None:
    errors: list[BaseException] = []
    stores: list[PostgresStore] = []

    def open_and_setup() -> None:
        try:
            store = PostgresStore(postgres_dsn(), schema=schema, pool_size=1)
            stores.append(store)
            store.setup([VIEW])
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=open_and_setup) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    for store in stores:
        store.close()

    assert errors == []
    with psycopg.connect(postgres_dsn()) as conn:
        query = sql.SQL("SELECT component, version FROM {}.schema_migrations").format(sql.Identifier(schema))
        rows = conn.execute(query).fetchall()
    assert sorted(rows) == [("state", 1), ("state", 2)]  # each step once


def test_state_keys_may_hold_any_character(store: PostgresStore) -> None:
    store.commit(Commit("events", 0, 1, state={("op", "\x00watermark"): b"w", ("op", "é|x"): b"e"}))
    assert store.load_state("op", 0) == {"\x00watermark": b"w", "é|x": b"e"}


def test_a_value_the_server_refuses_fails_the_whole_commit(store: PostgresStore) -> None:
    store.commit(Commit("events", 0, 1, state={("op", "a"): b"1"}, views={"items": [{"id": "a", "n": 1}]}))

    with pytest.raises(TerminalError, match="out of range"):
        store.commit(Commit("events", 0, 2, state={("op", "a"): b"2"}, views={"items": [{"id": "b", "n": 2**70}]}))

    assert store.committed_offset("events", 0) == 1
    assert store.load_state("op", 0) == {"a": b"1"}
    assert store.count("items", {}) == 1
    store.commit(Commit("events", 0, 2, views={"items": [{"id": "b", "n": 2, "doc": {"k": [1]}}]}))
    assert store.get("items", {"id": "b"}) == {"id": "b", "n": 2, "doc": {"k": [1]}}


def test_values_are_stored_as_sqlite_affinity_would(store: PostgresStore) -> None:
    spec = ViewSpec("mixed", key=("id",), columns={"id": "text", "i": "int", "r": "real"})
    store.setup([spec])
    rows = [{"id": "a", "i": True, "r": 2}, {"id": "b", "i": 3.0, "r": 2.5}]
    store.commit(Commit("events", 0, 1, views={"mixed": rows}))
    assert store.select("mixed", {}, order_by="id") == [{"id": "a", "i": 1, "r": 2.0}, {"id": "b", "i": 3, "r": 2.5}]


def test_change_numbers_follow_commit_order_across_writers(store: PostgresStore, schema: str) -> None:
    """Two writers commit at once; a reader following the feed by number misses nothing."""
    writers = [PostgresStore(postgres_dsn(), schema=schema, pool_size=1) for _ in range(2)]
    done = threading.Event()
    seen: list[int] = []

    def write(part: int, store: PostgresStore) -> None:
        for i in range(60):
            rows = [{"id": f"{part}-{i}-{j}", "n": i} for j in range(3)]
            store.commit(Commit("events", part, i + 1, views={"items": rows}))

    def follow() -> None:
        cursor = 0
        while True:
            finished = done.is_set()
            for change in store.changes_since(cursor, 1000):
                seen.append(change.seq)
                cursor = change.seq
            if finished:
                return

    reader = threading.Thread(target=follow)
    reader.start()
    threads = [threading.Thread(target=write, args=(p, w)) for p, w in enumerate(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    done.set()
    reader.join(60)
    for writer in writers:
        writer.close()

    assert seen == list(range(1, 361))
    assert store.last_change() == 360


def test_wait_for_changes_wakes_on_another_process_commit(store: PostgresStore, schema: str) -> None:
    assert store.wait_for_changes(0.05) is False  # listening from now on
    other = PostgresStore(postgres_dsn(), schema=schema, pool_size=1)
    try:
        other.commit(Commit("events", 0, 1, state={("op", "a"): b"1"}))  # no view rows: no wake-up
        assert store.wait_for_changes(0.2) is False
        timer = threading.Timer(0.2, lambda: other.commit(Commit("events", 0, 2, views={"items": [{"id": "x"}]})))
        started = time.monotonic()
        timer.start()
        assert store.wait_for_changes(5.0) is True
        assert time.monotonic() - started < 2.0
        timer.join()
    finally:
        other.close()
    assert [c.row["id"] for c in store.changes_since(0, 10)] == ["x"]


def test_an_unreachable_server_is_a_config_error_saying_how_to_start_it() -> None:
    dsn = f"postgresql://edupulse@127.0.0.1:{free_port()}/edupulse"
    where = r"edupulse@127\.0\.0\.1:\d+/edupulse"
    with pytest.raises(ConfigError, match=rf"cannot reach PostgreSQL at {where}.*postgres\.sh up"):
        PostgresStore(dsn, timeout_s=2)


def test_psycopg_errors_are_translated_by_kind() -> None:
    dsn = "postgresql://edupulse:secret@db.example:5432/edupulse"
    lost = translate(psycopg.OperationalError("server closed the connection unexpectedly"), "commit", dsn)
    conflict = translate(psycopg.errors.SerializationFailure("could not serialize access"), "commit", dsn)
    bad = translate(psycopg.errors.NumericValueOutOfRange("bigint out of range"), "commit", dsn)
    assert isinstance(lost, TransientError)
    assert isinstance(conflict, TransientError)
    assert isinstance(bad, TerminalError)
    assert not bad.transient
    assert "secret" not in str(lost)
    assert "edupulse@db.example:5432/edupulse" in str(lost)


def test_workers_owning_different_partitions_share_one_schema(schema: str, tmp_path: Path) -> None:
    """The scale-out shape: N workers, one schema; the views equal a single embedded run's."""
    log = SqliteLog(tmp_path / "log.db")
    log.ensure_topic(EVENTS_TOPIC, 4)
    StatementIngest(log).ingest(json.dumps(random_statements(400, seed=9)).encode(), tenant="t")
    stores = [PostgresStore(postgres_dsn(), schema=schema, pool_size=1) for _ in range(2)]
    rules = parse_rules(  # the intervention rules too: alerts and their outbox messages
        "rules:\n  - {name: struggling, when: failed_attempts, count: 2, within_hours: 48, actions: [webhook]}"
        "\n  - {name: gone-quiet, when: inactive, days: 3, actions: [webhook]}"
    )
    runtimes = [Runtime(log, s, default_operators(allowed_lateness_us=0, rules=rules), batch_size=16) for s in stores]
    runtimes[0].assign([0, 2])
    runtimes[1].assign([1, 3])
    threads = [threading.Thread(target=r.run_until_caught_up) for r in runtimes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    reference_store = SqliteStore(tmp_path / "reference.db")
    reference = Runtime(log, reference_store, default_operators(allowed_lateness_us=0, rules=rules), batch_size=1000)
    reference.assign_all()
    reference.run_until_caught_up()

    for view in (LEARNER_VIEW.name, COURSE_VIEW.name):
        expected = reference_store.select(view, {}, order_by="course")
        assert stores[0].select(view, {}, order_by="course") == expected
    alerts = reference_store.select(ALERTS_VIEW.name, {}, order_by="id")
    assert {a["rule"] for a in alerts} == {"struggling", "gone-quiet"}
    assert stores[0].select(ALERTS_VIEW.name, {}, order_by="id") == alerts
    outbox = sorted(m.idempotency_key for _, m in reference_store.pending_outbox(100_000))
    assert sorted(m.idempotency_key for _, m in stores[1].pending_outbox(100_000)) == outbox
    assert stores[1].committed_offsets(EVENTS_TOPIC) == reference_store.committed_offsets(EVENTS_TOPIC)
    seqs = [c.seq for c in stores[0].changes_since(0, 100_000)]
    assert seqs == list(range(1, len(seqs) + 1))
    for store in (*stores, reference_store):
        store.close()
    log.close()
