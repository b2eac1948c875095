"""Monitoring the champion: PSI and KS against hand-computed values, drift and quality alerts."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from edupulse.alerts.ledger import AlertLedger
from edupulse.alerts.lifecycle import list_alerts
from edupulse.config import ModelsSettings
from edupulse.insights.features import DAY_US
from edupulse.insights.risk_views import RISK_VIEW
from edupulse.insights.rules import ALERTS_VIEW
from edupulse.ml.monitor import (
    ALERT_RULE,
    ModelReference,
    day_reference,
    ks_statistic,
    monitor,
    psi,
    raise_alert,
    reference_of,
)
from edupulse.stream.store.base import Commit, Row
from edupulse.stream.store.sqlite import SqliteStore

VERSION = "risk-test-monitor"
CFG = ModelsSettings(min_rows=100)


def test_psi_and_ks_match_hand_computed_values() -> None:
    ref = reference_of(list(range(1, 11)), bins=2)
    assert ref is not None and ref.edges == [5.5] and ref.shares == [0.5, 0.5, 0.0]
    # Current shares 0.75 / 0.25: PSI = 0.25 ln(0.75/0.5) + (-0.25) ln(0.25/0.5).
    assert psi(ref, [1, 2, 3, 6]) == pytest.approx(0.25 * math.log(1.5) - 0.25 * math.log(0.5))
    # Half missing: the missing bin (reference share 0, floored at 1e-4) carries the drift.
    assert psi(ref, [1, None]) == pytest.approx(2 * (0.5 - 1e-4) * math.log(0.5 / 1e-4))
    assert psi(ref, list(range(1, 11))) == pytest.approx(0.0)
    # KS: at x = 3 the current CDF is 0.75 and the reference's 0.3.
    assert ks_statistic(ref, [1, 2, 3, 6]) == pytest.approx(0.45)
    assert ks_statistic(ref, list(range(1, 11))) == 0.0
    assert reference_of(["a", None]) is None  # never a number: no reference


def _rows(rng: np.random.Generator, n: int, *, shift: float = 0.0, tenant: str = "t") -> list[Row]:
    rows = []
    for i in range(n):
        activity = float(rng.normal(10 + shift * 3, 3))
        risk = float(1 / (1 + math.exp(0.5 * (activity - 10))))
        rows.append(
            {
                "tenant": tenant,
                "course": "c",
                "learner": f"l{i}",
                "risk": round(risk, 4),
                "model_version": VERSION,
                "model_day": 0,
                "course_day": None,
                "as_of_us": i,
                "event_id": f"e{i}",
                "event_time_us": 40 * DAY_US + i,
                "features": {"activity": activity, "code_module": "AAA"},
            }
        )
    return rows


def _reference(rng: np.random.Generator) -> ModelReference:
    train = _rows(rng, 2000)
    return ModelReference({0: day_reference([r["features"] for r in train], [r["risk"] for r in train])})


def _store(tmp_path: Path, rows: list[Row]) -> SqliteStore:
    store = SqliteStore(tmp_path / "state.db")
    store.setup([RISK_VIEW, ALERTS_VIEW])
    store.commit(Commit("test", 0, 1, views={RISK_VIEW.name: rows}))
    return store


def test_same_distribution_raises_no_alert(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    reference = _reference(rng)
    store = _store(tmp_path, _rows(rng, 400))
    report = monitor(store, "t", VERSION, reference, cfg=CFG)
    kinds = {(f.kind, f.feature) for f in report.figures}
    assert kinds == {("feature_psi", "activity"), ("feature_ks", "activity"), ("prediction_psi", None)}
    assert report.rows == 400 and not report.breaches, report.figures
    assert raise_alert(store, report) is None
    assert store.count(ALERTS_VIEW.name, {}) == 0


def test_shifted_features_raise_a_drift_alert_visible_with_the_alerts(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    reference = _reference(rng)
    store = _store(tmp_path, _rows(rng, 400, shift=1.0))
    report = monitor(store, "t", VERSION, reference, cfg=CFG)
    breached = {(f.kind, f.feature) for f in report.breaches}
    assert {("feature_psi", "activity"), ("feature_ks", "activity"), ("prediction_psi", None)} <= breached
    row = raise_alert(store, report, now_us=123)
    assert row is not None and row["rule"] == ALERT_RULE and "activity" in row["reason"]
    listed = list_alerts(store, AlertLedger(tmp_path / "alerts.db"), "t", filters={}, status=None, limit=10, offset=0)
    assert [a["id"] for a in listed] == [row["id"]] and listed[0]["rule"] == "model_drift"
    assert [m.topic for _, m in store.pending_outbox(10)] == ["alerts"]


def test_quality_on_outcomes_and_the_window(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    rows = _rows(rng, 600)
    old = _rows(rng, 50, tenant="t")  # scored long before the window: left out
    for r in old:
        r["learner"], r["event_time_us"] = "old-" + r["learner"], DAY_US
    store = _store(tmp_path, rows + old)
    honest = {("c", r["learner"]): int(rng.random() < r["risk"]) for r in rows}
    report = monitor(store, "t", VERSION, None, cfg=CFG, outcomes=honest)
    figures = {f.kind: f for f in report.figures}
    assert report.rows == 600 and report.outcomes == 600
    assert figures["auc"].value > 0.75 and not figures["auc"].breached
    assert figures["ece"].value < 0.1 and not figures["ece"].breached
    flipped = {k: 1 - y for k, y in honest.items()}
    bad = {f.kind: f for f in monitor(store, "t", VERSION, None, cfg=CFG, outcomes=flipped).breaches}
    assert set(bad) == {"auc", "ece"} and bad["auc"].value < 0.3
    # Too few outcomes: no figure, so no alert.
    few = dict(list(honest.items())[:50])
    assert not monitor(store, "t", VERSION, None, cfg=CFG, outcomes=few).figures
