"""Tiny at-risk models for tests: fitted in a second on synthetic feature rows."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np

from edupulse.insights.features import Features
from edupulse.ml.registry import ModelCard, save_model
from edupulse.ml.risk import RiskModel
from edupulse.ml.risk_models import RISK_MODEL, RiskModels


@cache
def tiny_models(days: tuple[int, ...] = (0, 3)) -> RiskModels:
    """One small boosting model per cut-off day: risk falls with activity and scores."""
    rng = np.random.default_rng(7)
    by_day = {}
    for day in days:
        rows: list[Features] = []
        labels = []
        for _ in range(240):
            activity = float(rng.integers(0, 30))
            score = float(rng.random())
            quiet = float(rng.integers(0, 10))
            rows.append(
                {
                    "activity": activity,
                    "mean_score": score if rng.random() < 0.8 else None,
                    "days_since_activity": quiet,
                    "activity_percentile": float(rng.random()),
                    "missed": float(rng.integers(0, 3)),
                }
            )
            labels.append(int(rng.random() < 1 / (1 + np.exp(0.2 * activity + 2 * score - 0.4 * quiet - 1))))
        by_day[day] = RiskModel("gbm", seed=day, folds=2).fit(rows, labels)
    return RiskModels(by_day, f"risk-test-{len(days)}", {str(d): 240 for d in days})


def store_tiny_models(data_dir: Path) -> RiskModels:
    """Store the tiny models as ``edupulse train risk`` would, under ``data_dir``."""
    models = tiny_models()
    save_model(data_dir / "models", ModelCard(RISK_MODEL, models.version), models)
    return models
