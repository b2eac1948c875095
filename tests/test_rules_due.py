"""The ``due_not_started`` rule: due times from events and from the calendar, judged on the watermark."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from edupulse.deployment import LOG_FILE, STATE_FILE
from edupulse.errors import ConfigError
from edupulse.events.xapi import DUE_EXTENSION
from edupulse.insights import default_operators
from edupulse.insights.rule_file import parse_rules
from edupulse.insights.rules import alert_id
from edupulse.log.sqlite import SqliteLog
from edupulse.lrs.statements import StatementIngest
from edupulse.stream.runtime import EVENTS_TOPIC, Runtime
from edupulse.stream.store.sqlite import SqliteStore
from tests.statements import START, learner_key, statement
from tests.test_rules import COURSE, _alerts, _run

ESSAY = f"{COURSE}/assignments/essay"
QUIZ = f"{COURSE}/assignments/quiz"
US = 1_000_000
RULES = f"""
rules:
  - name: due-soon
    when: due_not_started
    hours: 48
    actions: [webhook]
calendar:
  - {{course: "{COURSE}", assignment: "{QUIZ}", due: "2026-09-14T09:00:00+00:00"}}
"""


def on(learner: str, hours: float, obj: str, *, verb: str = "experienced", due_hours: float | None = None) -> Any:
    stmt = statement(learner, verb=verb, when=START + timedelta(hours=hours))
    stmt["object"]["id"] = obj
    if due_hours is not None:
        stmt["context"]["extensions"] = {DUE_EXTENSION: (START + timedelta(hours=due_hours)).isoformat()}
    return stmt


def _us(hours: float) -> int:
    return int((START + timedelta(hours=hours)).timestamp() * US)


def test_an_assignment_not_started_48_hours_before_it_is_due_alerts(tmp_path: Path) -> None:
    requests = [
        # ann and bob view the essay, due in 100 h (an xAPI due extension); the quiz (calendar) is due at 168 h.
        [on("ann", 0, ESSAY, due_hours=100), on("bob", 0, ESSAY, due_hours=100), on("cid", 0, f"{COURSE}/x")],
        [on("bob", 10, ESSAY, verb="attempted")],  # bob starts the essay
        [on("cid", 51, f"{COURSE}/x")],  # event time 51 h: essay warnings (at 52 h) not yet due
        [on("cid", 53, f"{COURSE}/x")],  # past 52 h: ann (viewed only) is warned, bob is not
        [on("bob", 119, QUIZ, verb="submitted")],  # bob did the quiz before its warning time
        [on("cid", 121, f"{COURSE}/x")],  # past the quiz's 120 h: ann and cid warned, bob not
        [on("cid", 122, f"{COURSE}/x")],  # nothing new
    ]
    store = _run(tmp_path, requests, rules=RULES, partitions=1)
    got = [(a["learner"], a["opened_us"], a["reason"]) for a in _alerts(store)]
    essay = f"assignment '{ESSAY}' is due 2026-09-11T13:00:00+00:00 and not started 48 h before"
    quiz = f"assignment '{QUIZ}' is due 2026-09-14T09:00:00+00:00 and not started 48 h before"
    assert got == [
        (learner_key("ann"), _us(52), essay),
        (learner_key("ann"), _us(120), quiz),
        (learner_key("cid"), _us(120), quiz),
    ]
    first = _alerts(store)[0]
    assert first["id"] == alert_id("due-soon", "t", learner_key("ann"), COURSE, _us(100), detail=ESSAY)
    assert len(store.pending_outbox(100)) == 3
    store.close()


def test_too_late_to_warn_raises_nothing(tmp_path: Path) -> None:
    # The partition's event time jumps from 0 to 101 h: past the warning window and the due time.
    requests = [[on("ann", 0, ESSAY, due_hours=100)], [on("bob", 101, f"{COURSE}/x")]]
    store = _run(tmp_path, requests, rules=RULES.split("calendar:", maxsplit=1)[0], partitions=1)
    assert _alerts(store) == []
    store.close()


def test_calendar_entries_are_checked() -> None:
    with pytest.raises(ConfigError, match=r"calendar\.0\.due"):
        parse_rules(RULES.replace("+00:00", ""))  # a due time without a time zone
    with pytest.raises(ConfigError, match=r"rules\.0\.due_not_started\.hours"):
        parse_rules("rules:\n  - {name: d, when: due_not_started}")


def test_a_restarted_runtime_raises_the_same_due_alerts(tmp_path: Path) -> None:
    """Restoring the due state from the store after every request changes nothing."""
    requests = [
        [on("ann", 0, ESSAY, due_hours=100), on("bob", 0, f"{COURSE}/x")],
        [on("bob", 60, f"{COURSE}/x")],
        [on("bob", 125, f"{COURSE}/x")],
    ]
    (tmp_path / "one").mkdir()
    reference = _run(tmp_path / "one", requests, rules=RULES, partitions=1)
    expected = _alerts(reference)
    reference.close()
    assert len(expected) == 3  # ann: the essay; ann and bob: the quiz
    log = SqliteLog(tmp_path / LOG_FILE)
    log.ensure_topic(EVENTS_TOPIC, 1)
    store = SqliteStore(tmp_path / STATE_FILE)
    for request in requests:
        StatementIngest(log).ingest(json.dumps(request).encode(), tenant="t")
        runtime = Runtime(log, store, default_operators(allowed_lateness_us=0, rules=parse_rules(RULES)), batch_size=1)
        runtime.assign_all()
        runtime.run_until_caught_up()
    assert _alerts(store) == expected
    store.close()
    log.close()
