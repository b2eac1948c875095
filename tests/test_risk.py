"""At-risk models: calibration error, reproducibility, explanations, and the CLI on OULAD-shaped data."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from edupulse.cli import main
from edupulse.ml.calibration import expected_calibration_error
from edupulse.ml.explain import describe
from edupulse.ml.oulad import build_history
from edupulse.ml.registry import load_model
from edupulse.ml.risk import RiskModel
from edupulse.ml.scoring import score_course
from tests.conftest import shared_data
from tests.oulad_rows import synthetic_tables, write_tables


def test_expected_calibration_error_by_hand() -> None:
    assert expected_calibration_error(np.array([0, 1, 0, 1]), np.array([0.5, 0.5, 0.5, 0.5])) == 0.0
    assert expected_calibration_error(np.array([0, 0]), np.array([0.9, 0.9])) == pytest.approx(0.9)
    # Two bins of half the data each: |0 - 0.2| / 2 + |1 - 1.0| / 2.
    assert expected_calibration_error(np.array([0, 1]), np.array([0.2, 1.0])) == pytest.approx(0.1)


def _synthetic(n: int, seed: int) -> tuple[list[dict[str, float | str | None]], list[int]]:
    rnd = np.random.default_rng(seed)
    idle = rnd.integers(0, 30, n)
    noise = rnd.normal(0, 1, n)
    risk = 1 / (1 + np.exp(-(idle - 15) / 4))
    labels = (rnd.random(n) < risk).astype(int)
    rows = [
        {"days_since_activity": float(d), "noise": float(x), "gender": "MF"[i % 2]}
        for i, (d, x) in enumerate(zip(idle, noise, strict=True))
    ]
    return rows, labels.tolist()


@pytest.mark.parametrize("kind", ["gbm", "logistic"])
def test_models_are_calibrated_reproducible_and_explained(kind: str) -> None:
    rows, labels = _synthetic(4000, seed=1)
    test_rows, test_labels = _synthetic(3000, seed=2)
    model = RiskModel(kind, seed=7).fit(rows, labels)  # type: ignore[arg-type]
    probs = model.predict(test_rows)
    assert expected_calibration_error(np.array(test_labels), probs) < 0.05
    again = RiskModel(kind, seed=7).fit(rows, labels).predict(test_rows)  # type: ignore[arg-type]
    assert np.array_equal(probs, again)
    factors = model.explain({"days_since_activity": 28.0, "noise": 0.0, "gender": "F"})
    assert factors[0].feature == "days_since_activity"
    assert factors[0].text == "no activity for 28 days"
    assert factors[0].effect > 0
    assert model.explain({"days_since_activity": 1.0, "noise": 0.0, "gender": "F"})[:1] != factors[:1]


def test_plain_words() -> None:
    assert describe("missed", 2.0) == "2 assessment(s) missed"
    assert describe("mean_score", 0.456) == "mean score 46%"
    assert describe("registration_day", -30.0) == "registered 30 days before the start"
    assert describe("mean_score_percentile", 0.1) == "mean score in the bottom 10% of the course"
    assert describe("activity_percentile", 0.95) == "activity in the top 5% of the course"
    assert describe("other_withdrawals", 1.0) == "withdrew from 1 other course(s)"
    assert describe("highest_education", "Lower Than A Level") == "highest education: Lower Than A Level"
    assert describe("mystery", None) == "mystery: unknown"


def test_cli_evaluates_and_trains_on_oulad_shaped_tables(tmp_path: Path) -> None:
    data = write_tables(tmp_path / "oulad", synthetic_tables())
    runner = CliRunner()
    result = runner.invoke(main, ["evaluate", "oulad", "--data", str(data), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert [c["day"] for c in report["cutoffs"]] == [0, 30, 60, 90, 120]
    for cut in report["cutoffs"]:
        assert {"day", "auc", "ece", "n"} <= set(cut)
        assert 0 < cut["n"] <= 150
    assert report["cutoffs"][-1]["auc"] > 0.75  # by day 120 the weak learners' scores give them away
    trained = runner.invoke(main, ["train", "risk", "--data", str(data), "--data-dir", str(tmp_path / "d")])
    assert trained.exit_code == 0, trained.output
    version = json.loads(trained.stdout)["version"]
    card, models = load_model(tmp_path / "d" / "models", "risk")
    assert card.version == version == models.version
    assert sorted(models.by_day) == [0, 30, 60, 90, 120]


@pytest.mark.integration
def test_oulad_evaluation_meets_its_floors() -> None:
    """The real OULAD tables through import, replay and the feature operator (about a minute).

    Floors are the figures measured (docs/insights.md) less 0.005: the issue's AUC targets
    are met at days 30-120; day 0 (no clicks in the shared tables) reaches 0.640 of 0.65.
    """
    data = shared_data("oulad")
    result = CliRunner().invoke(main, ["evaluate", "oulad", "--data", str(data), "--json", "--seed", "0"])
    assert result.exit_code == 0, result.output
    cutoffs = {c["day"]: c for c in json.loads(result.stdout)["cutoffs"]}
    floors = {0: 0.635, 30: 0.74, 60: 0.80, 90: 0.83, 120: 0.86}
    for day, floor in floors.items():
        assert cutoffs[day]["auc"] >= floor, cutoffs[day]
        assert cutoffs[day]["ece"] <= 0.05, cutoffs[day]
        assert cutoffs[day]["n"] > 10_000


def test_stored_models_score_and_explain_each_learner(tmp_path: Path) -> None:
    data = write_tables(tmp_path / "oulad", synthetic_tables())
    trained = CliRunner().invoke(main, ["train", "risk", "--data", str(data), "--data-dir", str(tmp_path / "d")])
    assert trained.exit_code == 0, trained.output
    card, models = load_model(tmp_path / "d" / "models", "risk")
    history = build_history(data, tmp_path / "replayed")
    scores = score_course("AAA_2014J", history, models, day=100)
    assert 50 < len(scores) <= 150  # those enrolled on day 100
    assert {s.model_version for s in scores} == {card.version}
    assert {s.model_day for s in scores} == {90}
    riskiest = max(scores, key=lambda s: s.risk)
    assert riskiest.risk > 0.5
    assert riskiest.factors and all(f.effect > 0 and f.text for f in riskiest.factors)
