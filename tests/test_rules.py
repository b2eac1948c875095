"""Intervention rules: the file format, alerts on event time, cool-downs, dedupe, live equals replay."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from edupulse.config import Settings
from edupulse.deployment import LOG_FILE, STATE_FILE
from edupulse.errors import ConfigError
from edupulse.events.xapi import DUE_EXTENSION, SKILLS_EXTENSION
from edupulse.insights import default_operators
from edupulse.insights.rule_file import FailedAttemptsRule, InactiveRule, load_rules, parse_rules
from edupulse.insights.rules import ALERTS_VIEW, WEBHOOK_TOPIC, RulesOperator, alert_id
from edupulse.log.sqlite import SqliteLog
from edupulse.lrs.statements import StatementIngest
from edupulse.replay import replay
from edupulse.stream.runtime import EVENTS_TOPIC, Runtime
from edupulse.stream.store.sqlite import SqliteStore
from tests.statements import START, learner_key, statement

RULES = """
rules:
  - name: struggling
    when: failed_attempts
    count: 3
    within_hours: 24
    cooldown_hours: 72
    actions: [webhook]
  - name: gone-quiet
    when: inactive
    days: 7
    actions: [webhook]
"""
COURSE = "https://example.edu/courses/algebra"


def attempt(learner: str, hours: float, *, failed: bool = True, skill: str = "fractions") -> dict[str, Any]:
    stmt = statement(learner, verb="failed" if failed else "passed", when=START + timedelta(hours=hours))
    stmt["context"]["extensions"] = {SKILLS_EXTENSION: [skill]}
    return stmt


def viewed(learner: str, hours: float) -> dict[str, Any]:
    return statement(learner, verb="experienced", when=START + timedelta(hours=hours))


def test_rules_file_parses_and_names_what_is_wrong(tmp_path: Path) -> None:
    ruleset = parse_rules(RULES)
    assert [type(r) for r in ruleset.rules] == [FailedAttemptsRule, InactiveRule]
    assert ruleset.failed_attempts[0].window_us == 24 * 3_600_000_000
    with pytest.raises(ConfigError, match=r"rules\.0\.failed_attempts\.count"):
        parse_rules("rules:\n  - {name: a, when: failed_attempts, within_hours: 1}")
    with pytest.raises(ConfigError, match="when"):
        parse_rules("rules:\n  - {name: a, when: sometimes}")
    with pytest.raises(ConfigError, match="repeated: \\['a'\\]"):
        parse_rules("rules:\n  - {name: a, when: inactive, days: 1}\n  - {name: a, when: inactive, days: 2}")
    with pytest.raises(ConfigError, match="not valid YAML"):
        parse_rules("rules: [")
    with pytest.raises(ConfigError, match="`rules:` list"):
        parse_rules("- just a list")
    with pytest.raises(ConfigError, match="cannot read the rules file"):
        load_rules(tmp_path / "missing.yaml")


def _run(
    tmp_path: Path, requests: list[list[dict[str, Any]]], *, rules: str = RULES, batch: int = 1, partitions: int = 2
) -> SqliteStore:
    log = SqliteLog(tmp_path / LOG_FILE)
    log.ensure_topic(EVENTS_TOPIC, partitions)
    store = SqliteStore(tmp_path / STATE_FILE)
    ops = default_operators(allowed_lateness_us=0, rules=parse_rules(rules))
    runtime = Runtime(log, store, ops, batch_size=batch)
    runtime.assign_all()
    ingest = StatementIngest(log)
    for request in requests:
        ingest.ingest(json.dumps(request).encode(), tenant="t")
        runtime.run_once()
    runtime.run_until_caught_up()
    log.close()
    return store


def _alerts(store: SqliteStore) -> list[dict[str, Any]]:
    return sorted(store.select(ALERTS_VIEW.name, {}), key=lambda r: (r["opened_us"], r["id"]))


def test_three_failures_on_a_skill_within_a_day_alert_once_per_cooldown(tmp_path: Path) -> None:
    requests = [
        [attempt("ann", 0), attempt("ann", 1)],
        [attempt("ann", 1.5, skill="decimals"), attempt("ann", 2, failed=False)],  # other skill; a pass
        [attempt("ann", 5)],  # third failure on fractions within 24 h: alert
        [attempt("ann", 6), attempt("ann", 7), attempt("ann", 8)],  # three more, inside the cool-down
        [attempt("bob", 0), attempt("bob", 20), attempt("bob", 30)],  # never three within 24 h
    ]
    store = _run(tmp_path, requests)
    (alert,) = _alerts(store)
    assert alert["rule"] == "struggling"
    assert alert["learner"] == learner_key("ann")
    assert alert["course"] == COURSE
    assert alert["status"] == "open"
    assert alert["opened_us"] == int((START + timedelta(hours=5)).timestamp() * 1_000_000)
    assert "3 failed attempts on skill 'fractions' within 24 h" in alert["reason"]
    start_us = int(START.timestamp() * 1_000_000)
    assert alert["id"] == alert_id("struggling", "t", learner_key("ann"), COURSE, start_us)
    (message,) = [m for _, m in store.pending_outbox(100)]
    assert message.topic == WEBHOOK_TOPIC
    assert message.idempotency_key == alert["id"] + ":webhook"
    assert json.loads(message.payload)["reason"] == alert["reason"]
    store.close()


def test_without_cooldown_each_new_run_of_failures_alerts(tmp_path: Path) -> None:
    rules = "rules:\n  - {name: s, when: failed_attempts, count: 2, within_hours: 1}"
    store = _run(tmp_path, [[attempt("ann", h) for h in (0, 0.1, 0.2, 0.3, 5)]], rules=rules, batch=2)
    assert len(_alerts(store)) == 2  # (0, 0.1) and (0.2, 0.3); the failure at 5 h is alone
    assert store.pending_outbox(100) == []  # no actions: no messages
    store.close()


def test_inactivity_alerts_when_event_time_passes_the_deadline(tmp_path: Path) -> None:
    requests = [
        [viewed("ann", 0), viewed("bob", 0)],
        [viewed("bob", 24 * d) for d in range(1, 7)],  # day 6: nobody quiet for 7 days yet
        [viewed("bob", 24 * 7 + 1)],  # the partition's event time passes ann's deadline
        [viewed("ann", 24 * 8), viewed("bob", 24 * 9)],  # ann is back; nothing new until 7 more quiet days
    ]
    store = _run(tmp_path, requests, partitions=1)
    (alert,) = _alerts(store)
    assert (alert["rule"], alert["learner"]) == ("gone-quiet", learner_key("ann"))
    assert alert["opened_us"] == int((START + timedelta(days=7)).timestamp() * 1_000_000)
    assert alert["reason"] == f"no activity in course '{COURSE}' for 7 days (last seen 2026-09-07T09:00:00+00:00)"
    store.close()


def test_inactivity_in_one_partition(tmp_path: Path) -> None:
    op = RulesOperator(parse_rules(RULES), allowed_lateness_us=3_600_000_000)
    log = SqliteLog(tmp_path / LOG_FILE)
    log.ensure_topic(EVENTS_TOPIC, 1)
    StatementIngest(log).ingest(
        json.dumps([viewed("ann", 0), viewed("bob", 0), viewed("bob", 24 * 7), viewed("bob", 24 * 7 + 2)]).encode(),
        tenant="t",
    )
    store = SqliteStore(tmp_path / STATE_FILE)
    runtime = Runtime(log, store, [op], batch_size=1)
    runtime.assign_all()
    runtime.run_until_caught_up()
    alerts = _alerts(store)
    # ann: deadline day 7, passed once event time reaches day 7 + 1 h of lateness (bob's
    # last event). bob was active at day 7: no alert.
    assert [(a["rule"], a["learner"]) for a in alerts] == [("gone-quiet", learner_key("ann"))]
    store.close()
    log.close()


def test_alerts_and_outbox_are_the_same_live_and_in_replay(tmp_path: Path) -> None:
    rules_path = tmp_path / "rules.yaml"
    rules = RULES + "  - {name: due-soon, when: due_not_started, hours: 48, actions: [webhook]}\n"
    rules_path.write_text(rules)
    requests = [
        [attempt(name, h) for h in (0, 1, 2, 30, 31, 32, 120)] + [viewed(name, 24 * 20)]
        for name in ("ann", "bob", "cid", "dee")
    ]
    for i, request in enumerate(requests):  # an assignment due at 140 h; started by half of them
        assignment = viewed(f"l{i}", 3)
        assignment["context"]["extensions"] = {DUE_EXTENSION: (START + timedelta(hours=140)).isoformat()}
        request.extend([assignment, attempt(f"l{i}", 10, failed=False)] if i % 2 else [assignment])
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    live_store = _run(data_dir, requests, batch=3, rules=rules)
    live = _alerts(live_store)
    live_outbox = sorted(m.idempotency_key for _, m in live_store.pending_outbox(1000))
    live_store.close()
    assert {a["rule"] for a in live} == {"struggling", "gone-quiet", "due-soon"}
    config = Settings(data_dir=data_dir, runtime={"allowed_lateness_hours": 0}, rules={"path": rules_path})
    replay(config)
    replayed = SqliteStore(data_dir / STATE_FILE)
    assert _alerts(replayed) == live
    assert sorted(m.idempotency_key for _, m in replayed.pending_outbox(1000)) == live_outbox
    replayed.close()


def test_restored_state_raises_the_same_alerts(tmp_path: Path) -> None:
    """Stopping after every request and restoring from the store changes nothing."""
    requests = [
        [attempt("ann", 0), viewed("bob", 0), viewed("cid", 1)],
        [attempt("ann", 1), viewed("bob", 24 * 3)],
        [attempt("ann", 2), viewed("bob", 24 * 8)],  # ann's third failure; cid quiet since hour 1
        [viewed("cid", 24 * 9), viewed("bob", 24 * 17)],  # cid back; then everyone quiet again but bob
    ]
    (tmp_path / "one").mkdir()
    reference = _run(tmp_path / "one", requests, partitions=1)
    expected = _alerts(reference)
    reference.close()
    # ann: three failures, then quiet; cid: quiet twice (back on day 9); bob: quiet from day 8 to 17.
    assert sorted((a["rule"], a["learner"]) for a in expected) == [
        ("gone-quiet", learner_key("ann")),
        ("gone-quiet", learner_key("bob")),
        ("gone-quiet", learner_key("cid")),
        ("gone-quiet", learner_key("cid")),
        ("struggling", learner_key("ann")),
    ]

    data = tmp_path / "restarted"
    data.mkdir()
    log = SqliteLog(data / LOG_FILE)
    log.ensure_topic(EVENTS_TOPIC, 1)
    store = SqliteStore(data / STATE_FILE)
    ingest = StatementIngest(log)
    for request in requests:  # a new runtime, restored from the store, for every request
        ingest.ingest(json.dumps(request).encode(), tenant="t")
        runtime = Runtime(log, store, default_operators(allowed_lateness_us=0, rules=parse_rules(RULES)), batch_size=2)
        runtime.assign_all()
        runtime.run_until_caught_up()
    assert _alerts(store) == expected
    store.close()
    log.close()


def test_failures_arriving_out_of_order_complete_a_window(tmp_path: Path) -> None:
    # The log holds hour 5 first, then hours 0 and 1: the third arrival completes 0..5.
    store = _run(tmp_path, [[attempt("ann", 5)], [attempt("ann", 0)], [attempt("ann", 1)]], partitions=1)
    (alert,) = _alerts(store)
    assert alert["opened_us"] == int((START + timedelta(hours=5)).timestamp() * 1_000_000)
    start_us = int(START.timestamp() * 1_000_000)
    assert alert["id"] == alert_id("struggling", "t", learner_key("ann"), COURSE, start_us)
    store.close()
