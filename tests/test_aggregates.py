"""Aggregate rules over the serving views, on the wall clock: thresholds, re-arming, cooldown, delivery."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from edupulse.alerts import AlertLedger, verify
from edupulse.alerts.aggregates import AggregateWatcher
from edupulse.alerts.senders import configured_senders
from edupulse.alerts.webhook import SIGNATURE_HEADER
from edupulse.config import Settings
from edupulse.deployment import Deployment
from edupulse.errors import ConfigError
from edupulse.insights.rule_file import parse_rules
from edupulse.insights.rules import ALERTS_VIEW
from edupulse.stream.outbox import OutboxRelay
from tests.smtp_server import SmtpServer
from tests.statements import START, statement
from tests.test_rules import _run
from tests.webhook_receiver import Receiver

ALGEBRA = "https://example.edu/courses/algebra"
POETRY = "https://example.edu/courses/poetry"
MINUTE_US = 60_000_000


def _rules(hook: str) -> str:
    return f"""
rules: []
aggregates:
  - {{name: scale-up, metric: active_learners, scope: institution, above: 3, window_minutes: 30,
     actions: [webhook], webhook_url: "{hook}"}}
  - {{name: crowded, metric: enrolments, above: 2, actions: [email], email_to: [algebra-admin@example.edu]}}
  - {{name: marking, metric: submission_backlog, above: 1, cooldown_hours: 0}}
"""


def _at(minutes: float) -> int:
    return int((START + timedelta(minutes=minutes)).timestamp() * 1_000_000)


def _events(minutes: float) -> list[dict[str, Any]]:
    when = START + timedelta(minutes=minutes)
    out = [statement(n, verb="experienced", when=when) for n in ("ann", "bob", "cid")]
    out += [statement("ann", verb="submitted", when=when), statement("bob", verb="submitted", when=when)]
    return [*out, statement("dee", verb="experienced", course=POETRY, when=when)]


def test_figures_above_thresholds_alert_once_until_back_below(tmp_path: Path) -> None:
    with Receiver() as hook:
        ruleset = parse_rules(_rules(hook.url))
        store = _run(tmp_path, [_events(0)], rules="rules: []", partitions=2)
        now = [_at(10)]
        watcher = AggregateWatcher(store, ruleset.aggregates, clock=lambda: now[0])
        raised = watcher.run_once()
        assert sorted((a["rule"], a["course"], a["reason"]) for a in raised) == [
            ("crowded", ALGEBRA, f"enrolments of course '{ALGEBRA}' is 3, above 2"),
            ("marking", ALGEBRA, f"submission_backlog of course '{ALGEBRA}' is 2, above 1"),
            ("scale-up", "", "active_learners of tenant 't' is 4, above 3"),
        ]
        now[0] = _at(20)
        assert watcher.run_once() == []  # still above: no second alert until back below
        now[0] = _at(45)
        assert watcher.run_once() == []  # nobody active for 30 minutes: scale-up re-armed
        ingested = _run(tmp_path, [_events(50)], rules="rules: []", partitions=2)  # the same files, more events
        ingested.close()
        now[0] = _at(55)
        assert watcher.run_once() == []  # active again, but within scale-up's 1 h cooldown
        now[0] = _at(75)
        (again,) = watcher.run_once()
        assert (again["rule"], again["opened_us"]) == ("scale-up", _at(75))
        assert len(store.select(ALERTS_VIEW.name, {})) == 4

        cfg = Settings(rules={"smtp_host": "127.0.0.1", "smtp_security": "none", "webhook_secret": "s"}).rules
        ledger = AlertLedger(tmp_path / "alerts.db")
        with SmtpServer() as smtp:
            cfg = cfg.model_copy(update={"smtp_port": smtp.port})
            relay = OutboxRelay(
                store, ledger, configured_senders(cfg, aggregates=ruleset.aggregates), max_attempts=2, backoff_s=1
            )
            assert relay.run_once().delivered == 3  # two scale-up webhooks, one email; marking has no action
            relay.stop()
        ledger.close()
    bodies = [json.loads(body) for _, body in hook.requests]
    assert [(b["type"], b["metric"], b["value"], b["threshold"]) for b in bodies] == [
        ("edupulse.aggregate_alert", "active_learners", 4, 3),
        ("edupulse.aggregate_alert", "active_learners", 4, 3),
    ]
    assert all(verify("s", body, headers[SIGNATURE_HEADER]) for headers, body in hook.requests)
    ((rcpts, email),) = smtp.messages
    assert rcpts == ["algebra-admin@example.edu"]
    assert "enrolments of course" in email["Subject"]
    store.close()


def test_aggregate_rules_are_checked_and_share_the_names() -> None:
    with pytest.raises(ConfigError, match=r"aggregates\.0\.metric"):
        parse_rules("aggregates:\n  - {name: a, metric: vibes, above: 1}")
    with pytest.raises(ConfigError, match=r"repeated: \['a'\]"):
        parse_rules(
            "rules:\n  - {name: a, when: inactive, days: 1}\naggregates:\n  - {name: a, metric: enrolments, above: 1}"
        )
    assert parse_rules("aggregates:\n  - {name: a, metric: enrolments, above: 1}").rules == ()


def test_the_processor_checks_aggregate_rules_beside_the_relay(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text("aggregates:\n  - {name: crowded, metric: enrolments, above: 2}\n")
    settings = Settings(data_dir=tmp_path / "data", rules={"path": rules, "aggregate_interval_s": 0.1})
    with Deployment(settings) as dep:
        dep.ingest.ingest(json.dumps(_events(0)).encode(), tenant="default")
        dep.start_processing()
        try:
            deadline = time.monotonic() + 15
            while not (alerts := dep.store.select(ALERTS_VIEW.name, {})) and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            dep.stop_processing()
    assert [(a["rule"], a["course"], a["learner"]) for a in alerts] == [("crowded", ALGEBRA, "")]


def test_rules_check_prints_aggregate_rules_too(tmp_path: Path) -> None:
    from click.testing import CliRunner  # noqa: PLC0415 - only this test drives the CLI

    from edupulse.cli import main  # noqa: PLC0415

    path = tmp_path / "rules.yaml"
    path.write_text(_rules("https://ops.example.edu/scale"))
    result = CliRunner().invoke(main, ["rules", "check", str(path)])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.output)
    assert [(r["name"], r["metric"]) for r in printed] == [
        ("scale-up", "active_learners"),
        ("crowded", "enrolments"),
        ("marking", "submission_backlog"),
    ]
