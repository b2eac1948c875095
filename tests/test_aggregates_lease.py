"""One aggregate watcher per deployment in scale-out: a lease in PostgreSQL, taken over when the holder dies."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from edupulse.alerts.aggregates import AggregateWatcher
from edupulse.alerts.lease import PostgresLease
from edupulse.deployment import LOG_FILE
from edupulse.insights import default_operators
from edupulse.insights.rule_file import parse_rules
from edupulse.insights.rules import ALERTS_VIEW
from edupulse.log.sqlite import SqliteLog
from edupulse.lrs.statements import StatementIngest
from edupulse.stream.runtime import EVENTS_TOPIC, Runtime
from edupulse.stream.store.postgres import PostgresStore
from tests.services import postgres_dsn, scratch_schema
from tests.statements import statement

RULES = parse_rules("aggregates:\n  - {name: crowded, metric: enrolments, above: 1, cooldown_hours: 0}\n")
NOW = 1_800_000_000_000_000


@pytest.fixture
def schema(request: pytest.FixtureRequest) -> str:
    return scratch_schema("t_lease_" + request.node.name.lower()[:40])


@pytest.fixture
def stores(schema: str, tmp_path: Path) -> Iterator[list[PostgresStore]]:
    """Two processes' stores over one schema whose views hold a course of 3 learners."""
    opened = [PostgresStore(postgres_dsn(), schema=schema, pool_size=1) for _ in range(2)]
    ops = default_operators(allowed_lateness_us=0)
    opened[0].setup([view for op in ops for view in op.views])
    log = SqliteLog(tmp_path / LOG_FILE)
    log.ensure_topic(EVENTS_TOPIC, 1)
    StatementIngest(log).ingest(json.dumps([statement(n) for n in ("ann", "bob", "cid")]).encode(), tenant="t")
    runtime = Runtime(log, opened[0], ops)
    runtime.assign_all()
    runtime.run_until_caught_up()
    log.close()
    yield opened
    for store in opened:
        store.close()


def _watcher(store: PostgresStore, schema: str, holder: str, ttl_s: float) -> AggregateWatcher:
    lease = PostgresLease(postgres_dsn(), schema=schema, name="aggregates", ttl_s=ttl_s, holder=holder)
    return AggregateWatcher(store, RULES.aggregates, clock=lambda: NOW, lease=lease)


def test_two_watchers_raise_one_alert_and_the_survivor_takes_over(stores: list[PostgresStore], schema: str) -> None:
    first, second = (_watcher(store, schema, name, ttl_s=1.0) for store, name in zip(stores, ("a", "b"), strict=True))
    raised = first.run_once() + second.run_once()
    assert [a["rule"] for a in raised] == ["crowded"]  # without the lease: one alert per watcher
    assert len(stores[1].select(ALERTS_VIEW.name, {})) == 1
    assert second.run_once() == []  # the first still holds the lease (renewed on each check)

    # The first "dies": it stops renewing. Once its lease has run out, the second checks.
    time.sleep(1.3)
    (taken_over,) = second.run_once()  # its own memory is fresh, so the figure still above fires
    assert taken_over["rule"] == "crowded"
    assert first.run_once() == []  # the second holds it now

    # A clean stop gives the lease up at once.
    second.stop()
    assert len(first.run_once()) == 1
    first.stop()
