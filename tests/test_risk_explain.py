"""Reasons on read: explained from the stored features with the stored model version, cached, never failing."""

from __future__ import annotations

from pathlib import Path

import msgspec

from edupulse.insights.risk_explain import RiskExplainer
from tests.risk_models import store_tiny_models, tiny_models


def _row(learner: str, day: int, features: object, version: str | None = None) -> dict[str, object]:
    return {
        "tenant": "t",
        "course": "c",
        "learner": learner,
        "event_id": f"e-{learner}",
        "risk": 0.5,
        "model_version": version or tiny_models().version,
        "model_day": day,
        "features": features,
    }


QUIET = {"activity": 1.0, "mean_score": 0.1, "days_since_activity": 9.0, "activity_percentile": 0.05, "missed": 2.0}
BUSY = {"activity": 28.0, "mean_score": 0.9, "days_since_activity": 0.0, "activity_percentile": 0.9, "missed": 0.0}


def test_rows_are_explained_with_their_own_model_and_day(tmp_path: Path) -> None:
    store_tiny_models(tmp_path)
    rows = [_row("a", 0, QUIET), _row("b", 3, QUIET), _row("c", 3, BUSY)]
    explainer = RiskExplainer(tmp_path / "models")
    out = explainer.explain(rows)
    for row, got in zip(rows, out, strict=True):
        expected = tiny_models().by_day[int(str(row["model_day"]))].explain(QUIET if row["learner"] != "c" else BUSY)
        assert got["factors"] == msgspec.to_builtins(expected) and got["factors_missing"] is None
        assert "features" not in got and got["risk"] == 0.5 and got["learner"] == row["learner"]
    assert out[0]["factors"] and out[0]["factors"][0]["text"]
    assert explainer.cached == 3
    assert explainer.explain(rows) == out and explainer.cached == 3  # the second read hits the cache


def test_a_missing_model_or_features_gives_the_score_without_reasons(tmp_path: Path) -> None:
    store_tiny_models(tmp_path)
    rows = [_row("a", 0, QUIET, "risk-gone"), _row("b", 0, None), _row("c", 9, QUIET), _row("d", 0, QUIET)]
    out = RiskExplainer(tmp_path / "models").explain(rows)
    assert [r["risk"] for r in out] == [0.5] * 4
    assert not out[0]["factors"] and "risk-gone" in out[0]["factors_missing"]
    assert not out[1]["factors"] and "replay" in out[1]["factors_missing"]
    assert not out[2]["factors"] and "day 9" in out[2]["factors_missing"]
    assert out[3]["factors"] and out[3]["factors_missing"] is None
    assert RiskExplainer(tmp_path / "nowhere").explain(rows[3:])[0]["factors_missing"]


def test_the_cache_is_bounded(tmp_path: Path) -> None:
    store_tiny_models(tmp_path)
    explainer = RiskExplainer(tmp_path / "models", cached_rows=2)
    explainer.explain([_row(str(i), 0, QUIET) for i in range(5)])
    assert explainer.cached == 2
