"""Rules on risk and silence ("risk above 0.7 and no activity for 7 days"): rescored at the deadline, on event time."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from edupulse.config import Settings
from edupulse.deployment import LOG_FILE, STATE_FILE
from edupulse.insights import default_operators
from edupulse.insights.features import Features
from edupulse.insights.risk_views import HISTORY_VIEW, RISK_VIEW
from edupulse.insights.rule_file import parse_rules
from edupulse.insights.rules import ALERTS_VIEW
from edupulse.log.sqlite import SqliteLog
from edupulse.lrs.statements import StatementIngest
from edupulse.ml.registry import ModelCard, save_model
from edupulse.ml.risk import RiskModel
from edupulse.ml.risk_models import RISK_MODEL, RiskModels
from edupulse.replay import replay
from edupulse.stream.runtime import EVENTS_TOPIC, Runtime
from edupulse.stream.store.sqlite import SqliteStore
from tests.statements import START, learner_key, statement

RULES = """
rules:
  - name: quiet-and-at-risk
    when: inactive
    days: 7
    risk_above: 0.7
    actions: [webhook]
"""
DAY_US = 86_400_000_000
START_US = int(START.timestamp() * 1_000_000)


@cache
def silence_models() -> RiskModels:
    """At risk when little activity goes with a week of silence or low scores."""
    rng = np.random.default_rng(1)
    rows: list[Features] = []
    labels = []
    for _ in range(600):
        activity, quiet = float(rng.integers(0, 45)), float(rng.integers(0, 12))
        score = float(rng.random()) if rng.random() < 0.5 else None
        rows.append({"activity": activity, "days_since_activity": quiet, "mean_score": score})
        labels.append(int(activity < 30 and (quiet >= 5 or (score is not None and score < 0.3))))
    return RiskModels({0: RiskModel("gbm", folds=2).fit(rows, labels)}, "risk-silence-test", {"0": 600})


def _at(days: float) -> Any:
    return START + timedelta(days=days)


def _requests() -> list[list[dict[str, Any]]]:
    """ann: a little activity, then silent (at risk once quiet); bob: much activity, then silent
    (still low risk); cat: failing every day (high risk, never silent); eve: moves event time on."""
    requests = [
        [statement("ann", verb="experienced", when=_at(h / 24)) for h in range(3)]
        + [statement("bob", verb="experienced", when=_at(h / 240)) for h in range(35)],
        *[
            [statement("cat", when=_at(d), score=0.1), statement("eve", verb="experienced", when=_at(d))]
            for d in range(15)
        ],
        *[[statement("eve", verb="experienced", when=_at(d))] for d in range(15, 21)],
    ]
    for i, stmt in enumerate(s for request in requests for s in request):
        stmt["id"] = str(uuid.uuid5(uuid.NAMESPACE_URL, f"silence-test/{i}"))  # the same ids in every run
    return requests


def _live(data_dir: Path, *, batch: int, restart: bool = False) -> None:
    """Process the requests as they come; ``restart``: a new runtime (state restored) for each."""
    log = SqliteLog(data_dir / LOG_FILE)
    log.ensure_topic(EVENTS_TOPIC, 1)
    store = SqliteStore(data_dir / STATE_FILE)

    def new_runtime() -> Runtime:
        ops = default_operators(allowed_lateness_us=0, rules=parse_rules(RULES), risk=silence_models())
        runtime = Runtime(log, store, ops, batch_size=batch)
        runtime.assign_all()
        return runtime

    runtime = new_runtime()
    ingest = StatementIngest(log)
    for request in _requests():
        ingest.ingest(json.dumps(request).encode(), tenant="t")
        if restart:
            runtime = new_runtime()
        runtime.run_once()
    runtime.run_until_caught_up()
    log.close()
    store.close()


def _views(data_dir: Path) -> dict[str, Any]:
    store = SqliteStore(data_dir / STATE_FILE)
    out = {v.name: store.select(v.name, {}, order_by=v.key[-1]) for v in (ALERTS_VIEW, RISK_VIEW, HISTORY_VIEW)}
    out["outbox"] = sorted(m.idempotency_key for _, m in store.pending_outbox(10_000))
    out["state"] = store.load_state("risk", 0)
    store.close()
    return out


def test_only_a_silent_learner_at_risk_is_alerted_dated_at_the_deadline(tmp_path: Path) -> None:
    _live(tmp_path, batch=4)
    views = _views(tmp_path)
    (alert,) = views[ALERTS_VIEW.name]  # not bob (silent, low risk), not cat (at risk, active), not eve
    ann_last = START_US + 2 * 3_600_000_000
    assert (alert["rule"], alert["learner"]) == ("quiet-and-at-risk", learner_key("ann"))
    assert alert["opened_us"] == ann_last + 7 * DAY_US
    assert float(alert["reason"].split()[1]) > 0.7
    assert "(above 0.7) and no activity in course" in alert["reason"]
    assert "for 7 days (last seen 2026-09-07T11:00:00+00:00)" in alert["reason"]

    history = [r for r in views[HISTORY_VIEW.name] if r["learner"] == learner_key("ann")]
    before, silent = history[-2], history[-1]  # the silence raised ann's risk, shown in the history
    assert before["risk"] < 0.7 < silent["risk"]
    assert silent["event_id"].startswith("silence:168h:")
    assert silent["as_of_us"] == silent["event_time_us"] == alert["opened_us"]
    assert silent["features"]["days_since_activity"] == 7.0
    current = {r["learner"]: r for r in views[RISK_VIEW.name]}
    assert current[learner_key("ann")]["risk"] == silent["risk"]
    assert current[learner_key("bob")]["event_id"].startswith("silence:")  # rescored too, but low
    assert current[learner_key("bob")]["risk"] < 0.7
    assert current[learner_key("cat")]["risk"] > 0.7
    assert not current[learner_key("cat")]["event_id"].startswith("silence:")


def test_live_equals_replay_whatever_the_batches(tmp_path: Path) -> None:
    live_dirs = []
    for batch in (1, 7):
        data_dir = tmp_path / f"live{batch}"
        data_dir.mkdir()
        _live(data_dir, batch=batch)
        live_dirs.append(data_dir)
    live = _views(live_dirs[0])
    assert _views(live_dirs[1]) == live
    assert len(live[ALERTS_VIEW.name]) == 1

    data_dir = live_dirs[0]
    (data_dir / "rules.yaml").write_text(RULES)
    models = silence_models()
    save_model(data_dir / "models", ModelCard(RISK_MODEL, models.version), models)
    settings = Settings(
        data_dir=data_dir,
        log={"partitions": 1},
        runtime={"allowed_lateness_hours": 0},
        rules={"path": data_dir / "rules.yaml"},
    )
    replay(settings)
    assert _views(data_dir) == live


def test_a_restored_operator_rescores_the_same_learners_at_the_same_deadlines(tmp_path: Path) -> None:
    """The deadlines, newest event times and watermark are state: restoring after every request changes nothing."""
    for name, restart in (("once", False), ("restarted", True)):
        (tmp_path / name).mkdir()
        _live(tmp_path / name, batch=3, restart=restart)
    assert _views(tmp_path / "restarted") == _views(tmp_path / "once")


def test_without_a_risk_model_the_rule_raises_nothing(tmp_path: Path) -> None:
    log = SqliteLog(tmp_path / LOG_FILE)
    log.ensure_topic(EVENTS_TOPIC, 1)
    store = SqliteStore(tmp_path / STATE_FILE)
    runtime = Runtime(log, store, default_operators(allowed_lateness_us=0, rules=parse_rules(RULES)))
    runtime.assign_all()
    ingest = StatementIngest(log)
    for request in _requests():
        ingest.ingest(json.dumps(request).encode(), tenant="t")
    runtime.run_until_caught_up()
    assert store.select(ALERTS_VIEW.name, {}) == []
    log.close()
    store.close()
