"""At-risk models: gradient boosting and a logistic baseline, calibrated and explained.

``RiskModel.fit`` holds out a share of the training rows (drawn with the seed), fits the
model on the rest, and fits an isotonic calibrator on the held-out scores, so the
probabilities it returns mean what they say. ``explain`` names the features that push a
learner's score most: for the logistic model each feature's exact share of the
log-odds; for gradient boosting the change in log-odds when the feature is set back to
its typical training value (a cheap occlusion method).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression

from edupulse.ml.calibration import IsotonicCalibrator
from edupulse.ml.encoding import FeatureEncoder, Floats, Row
from edupulse.ml.explain import Factor, describe

__all__ = ["ModelKind", "RiskModel"]

ModelKind = Literal["gbm", "logistic"]
_EPS = 1e-6


class RiskModel:
    """A calibrated probability that a learner withdraws or fails, with reasons."""

    def __init__(self, kind: ModelKind = "gbm", *, seed: int = 0, calibration_share: float = 0.25) -> None:
        self.kind = kind
        self.seed = seed
        self.calibration_share = calibration_share
        self.encoder = FeatureEncoder()
        self.calibrator = IsotonicCalibrator()
        self._model: Any = None
        self._reference: Floats = np.zeros(0)

    def fit(self, rows: Sequence[Row], labels: Sequence[int]) -> RiskModel:
        y = np.asarray(labels, dtype=np.int64)
        self.encoder = FeatureEncoder.fit(rows)
        order = np.random.default_rng(self.seed).permutation(len(rows))
        held = order[: int(len(rows) * self.calibration_share)]
        fit = order[len(held) :]
        x = self._matrix(rows)
        self._model = self._new_model()
        self._model.fit(x[fit], y[fit])
        self.calibrator.fit(self._raw(x[held]), y[held])
        self._reference = _typical(self.encoder.boosting(rows), self.encoder.categorical_mask())
        return self

    def predict(self, rows: Sequence[Row]) -> Floats:
        """Calibrated probabilities of the positive class (at risk)."""
        return self.calibrator(self._raw(self._matrix(rows)))

    def uncalibrated(self, rows: Sequence[Row]) -> Floats:
        return self._raw(self._matrix(rows))

    def explain(self, row: Row, *, top: int = 3) -> list[Factor]:
        """The features that raise this learner's risk most, strongest first."""
        effects = self._linear_effects(row) if self.kind == "logistic" else self._occlusion_effects(row)
        ranked = sorted(effects.items(), key=lambda kv: kv[1], reverse=True)
        return [
            Factor(name, row.get(name), round(effect, 4), describe(name, row.get(name)))
            for name, effect in ranked[:top]
            if effect > 0
        ]

    # -- internals --------------------------------------------------------------------

    def _new_model(self) -> Any:
        if self.kind == "logistic":
            return LogisticRegression(C=0.5, max_iter=2000)
        return HistGradientBoostingClassifier(
            learning_rate=0.05,
            max_iter=400,
            max_leaf_nodes=15,
            min_samples_leaf=40,
            l2_regularization=1.0,
            categorical_features=self.encoder.categorical_mask(),
            early_stopping=True,
            validation_fraction=0.15,
            n_iter_no_change=30,
            random_state=self.seed,
        )

    def _matrix(self, rows: Sequence[Row]) -> Floats:
        return self.encoder.linear(rows) if self.kind == "logistic" else self.encoder.boosting(rows)

    def _raw(self, x: Floats) -> Floats:
        out: Floats = np.asarray(self._model.predict_proba(x)[:, 1], dtype=np.float64)
        return out

    def _linear_effects(self, row: Row) -> dict[str, float]:
        z = self.encoder.linear([row])[0]
        contributions = self._model.coef_[0] * z
        effects: dict[str, float] = {}
        for group, value in zip(self.encoder.linear_groups(), contributions, strict=True):
            effects[group] = effects.get(group, 0.0) + float(value)
        return effects

    def _occlusion_effects(self, row: Row) -> dict[str, float]:
        x = self.encoder.boosting([row])
        variants = np.repeat(x, x.shape[1], axis=0)
        variants[np.arange(x.shape[1]), np.arange(x.shape[1])] = self._reference
        base = _logit(self._raw(x))[0]
        others = _logit(self._raw(variants))
        return {name: float(base - other) for name, other in zip(self.encoder.names, others, strict=True)}


def _typical(x: Floats, categorical: Sequence[bool]) -> Floats:
    """Per column: the median of a number, the most frequent category."""
    out = np.full(x.shape[1], np.nan)
    for j, is_category in enumerate(categorical):
        col = x[:, j][~np.isnan(x[:, j])]
        if len(col) == 0:
            continue
        if is_category:
            values, counts = np.unique(col, return_counts=True)
            out[j] = values[np.argmax(counts)]
        else:
            out[j] = float(np.median(col))
    return out


def _logit(p: NDArray[np.float64]) -> NDArray[np.float64]:
    q = np.clip(p, _EPS, 1 - _EPS)
    out: NDArray[np.float64] = np.log(q / (1 - q))
    return out
