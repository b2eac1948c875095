"""Re-engagement after an alert: outcomes on event time, per-rule rates by API and CLI."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import httpx
from click.testing import CliRunner

from edupulse.alerts.outcomes import reengagement
from edupulse.cli import main
from edupulse.config import Settings
from edupulse.deployment import Deployment
from tests.conftest import LiveServer, basic
from tests.statements import START, learner_key
from tests.test_rules import _alerts, _run, attempt, viewed

RULES = """
rules:
  - {name: quiet, when: inactive, days: 7, reengage_days: 3}
  - {name: struggling, when: failed_attempts, count: 2, within_hours: 1, reengage_days: 1}
"""
DAY_US = 86_400_000_000


def _us(days: float) -> int:
    return int((START + timedelta(days=days)).timestamp() * 1_000_000)


def test_outcomes_follow_the_learners_return_on_event_time(tmp_path: Path) -> None:
    requests = [
        [viewed(n, 0) for n in ("ann", "bob", "cid")] + [viewed("dee", 24 * 5)],
        [viewed("dee", 24 * 7.5)],  # past day 7: ann, bob, cid alerted (opened day 7)
        [viewed("ann", 24 * 8)],  # ann is back within 3 days: re-engaged
        [viewed("dee", 24 * 10.5)],  # the watermark passes day 10: bob and cid not re-engaged
        [viewed("bob", 24 * 11)],  # too late for bob's watch
        [attempt("eve", 24 * 11), attempt("eve", 24 * 11.01), viewed("eve", 24 * 11.5)],  # raised, back: one batch
        [attempt("fay", 24 * 11.6), attempt("fay", 24 * 11.61)],  # raised; the watch is open at the end
    ]
    store = _run(tmp_path, requests, rules=RULES, partitions=1)
    by = {(a["rule"], a["learner"]): a for a in _alerts(store)}
    ann = by["quiet", learner_key("ann")]
    assert (ann["outcome"], ann["opened_us"], ann["reengaged_us"]) == ("reengaged", _us(7), _us(8))
    for name in ("bob", "cid"):
        assert (by["quiet", learner_key(name)]["outcome"], by["quiet", learner_key(name)]["reengaged_us"]) == (
            "not_reengaged",
            None,
        )
    assert by["struggling", learner_key("eve")]["outcome"] == "reengaged"
    assert by["struggling", learner_key("fay")]["outcome"] == "pending"
    rates = {r["rule"]: r for r in reengagement(store, "t")}
    assert rates["quiet"] == {
        "rule": "quiet",
        "alerts": 3,  # ann, bob, cid (dee kept active)
        "reengaged": 1,
        "not_reengaged": 2,
        "pending": 0,
        "rate": 0.3333,
        "median_days_to_return": 1.0,
    }
    assert rates["struggling"]["rate"] == 1.0 and rates["struggling"]["pending"] == 1
    store.close()


def test_rates_by_api_and_command_line(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    data_dir = tmp_path / "data"
    settings = Settings(data_dir=data_dir, log={"partitions": 1}, rules={"path": rules})
    with Deployment(settings) as dep, LiveServer(dep) as server:
        key = dep.credentials.create("desk", tenant="default")
        body = [attempt("ann", 0), attempt("ann", 0.5), viewed("ann", 2), attempt("bob", 0), attempt("bob", 0.1)]
        body += [viewed("cid", 24 * 10)]  # past the allowed lateness: bob's day passed without him
        dep.ingest.ingest(json.dumps(body).encode(), tenant="default")
        runtime = dep.runtime()
        runtime.assign_all()
        runtime.run_until_caught_up()
        got = httpx.get(server.url + "/api/v1/alerts/reengagement", headers=basic(key), timeout=10)
        assert got.status_code == 200, got.text
        rates = got.json()
        assert [r["rule"] for r in rates] == ["quiet", "struggling"]
        struggling = rates[1]
        assert (struggling["rule"], struggling["reengaged"], struggling["not_reengaged"]) == ("struggling", 1, 1)
        assert struggling["rate"] == 0.5
        none = httpx.get(
            server.url + "/api/v1/alerts/reengagement", params={"course": "https://other"}, headers=basic(key)
        )
        assert none.json() == []
    env = {"EDUPULSE_DATA_DIR": str(data_dir), "EDUPULSE_RULES__PATH": str(rules)}
    result = CliRunner(env=env).invoke(main, ["alerts", "reengagement"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == rates
