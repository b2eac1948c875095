"""At-risk models: gradient boosting and a logistic baseline, calibrated and explained.

``RiskModel.fit`` splits the training rows into folds (drawn with the seed); for each
fold it fits a model on the other folds and an isotonic calibrator on that fold's
scores, which the model never saw. A prediction is the mean of the members' calibrated
probabilities, so the probabilities mean what they say, and averaging the members
steadies the ranking. ``explain`` names the features that push a
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
from threadpoolctl import threadpool_limits

from edupulse.ml.calibration import IsotonicCalibrator
from edupulse.ml.encoding import FeatureEncoder, Floats, Row
from edupulse.ml.explain import Factor, describe

__all__ = ["ModelKind", "RiskModel"]

ModelKind = Literal["gbm", "logistic"]
_EPS = 1e-6


class RiskModel:
    """A calibrated probability that a learner withdraws or fails, with reasons."""

    def __init__(self, kind: ModelKind = "gbm", *, seed: int = 0, folds: int = 4, threads: int = 1) -> None:
        self.kind = kind
        self.seed = seed
        self.folds = folds
        # OpenMP threads per fit or prediction. One by default: on a shared or busy
        # machine, idle OpenMP threads spin and made the tests ten times slower.
        self.threads = threads
        self.encoder = FeatureEncoder()
        self._members: list[tuple[Any, IsotonicCalibrator]] = []
        self._reference: Floats = np.zeros(0)

    def fit(self, rows: Sequence[Row], labels: Sequence[int]) -> RiskModel:
        """Fit one model per fold on the other folds, and its calibrator on its own fold."""
        y = np.asarray(labels, dtype=np.int64)
        self.encoder = FeatureEncoder.fit(rows)
        x = self._matrix(rows)
        fold_of = np.random.default_rng(self.seed).permutation(len(rows)) % self.folds
        self._members = []
        for k in range(self.folds):
            model = self._new_model(k, int((fold_of != k).sum()))
            with threadpool_limits(limits=self.threads, user_api="openmp"):
                model.fit(x[fold_of != k], y[fold_of != k])
            held = fold_of == k
            self._members.append((model, IsotonicCalibrator().fit(_positive(model, x[held], self.threads), y[held])))
        self._reference = _typical(self.encoder.boosting(rows), self.encoder.categorical_mask())
        return self

    def predict(self, rows: Sequence[Row]) -> Floats:
        """Calibrated probabilities of the positive class (at risk): the mean over the folds' members."""
        x = self._matrix(rows)
        out: Floats = np.mean(
            [calibrate(_positive(model, x, self.threads)) for model, calibrate in self._members], axis=0
        )
        return out

    def uncalibrated(self, rows: Sequence[Row]) -> Floats:
        return self._raw(self._matrix(rows))

    def explain(self, row: Row, *, top: int = 3) -> list[Factor]:
        """The features that raise this learner's risk most, strongest first."""
        return self.explain_many([row], top=top)[0]

    def explain_many(self, rows: Sequence[Row], *, top: int = 3) -> list[list[Factor]]:
        """``explain`` for many learners at once (one prediction call per member, not per learner)."""
        effects = self._linear_effects(rows) if self.kind == "logistic" else self._occlusion_effects(rows)
        names = self._effect_names()
        out = []
        for row, row_effects in zip(rows, effects, strict=True):
            ranked = sorted(zip(names, row_effects, strict=True), key=lambda kv: kv[1], reverse=True)
            out.append(
                [
                    Factor(name, row.get(name), round(float(effect), 4), describe(name, row.get(name)))
                    for name, effect in ranked[:top]
                    if effect > 0
                ]
            )
        return out

    # -- internals --------------------------------------------------------------------

    def _new_model(self, k: int, n: int) -> Any:
        if self.kind == "logistic":
            return LogisticRegression(C=0.5, max_iter=2000)
        return HistGradientBoostingClassifier(
            learning_rate=0.03,
            max_iter=600,
            max_leaf_nodes=8,
            min_samples_leaf=min(100, max(5, n // 50)),  # 100 on the OULAD sets; small sets still split
            l2_regularization=1.0,
            categorical_features=self.encoder.categorical_mask(),
            early_stopping=True,
            validation_fraction=0.15,
            n_iter_no_change=30,
            random_state=self.seed * 100 + k,
        )

    def _matrix(self, rows: Sequence[Row]) -> Floats:
        return self.encoder.linear(rows) if self.kind == "logistic" else self.encoder.boosting(rows)

    def _raw(self, x: Floats) -> Floats:
        """The members' mean uncalibrated probability."""
        out: Floats = np.mean([_positive(model, x, self.threads) for model, _ in self._members], axis=0)
        return out

    def _effect_names(self) -> list[str]:
        if self.kind == "logistic":
            return list(dict.fromkeys(self.encoder.linear_groups()))
        return self.encoder.names

    def _linear_effects(self, rows: Sequence[Row]) -> Floats:
        """Per row and feature: its share of the log-odds (one-hots and missing flags summed into it)."""
        z = self.encoder.linear(rows)
        contributions = z * np.mean([model.coef_[0] for model, _ in self._members], axis=0)
        groups = self.encoder.linear_groups()
        index = {name: i for i, name in enumerate(dict.fromkeys(groups))}
        out = np.zeros((len(rows), len(index)))
        for column, group in enumerate(groups):
            out[:, index[group]] += contributions[:, column]
        return out

    def _occlusion_effects(self, rows: Sequence[Row]) -> Floats:
        """Per row and feature: log-odds now minus log-odds with the feature set to its typical value.

        Only the (row, feature) pairs whose value differs from the typical one are
        predicted again: the others would give the same input, so their effect is 0.
        """
        x = self.encoder.boosting(rows)
        n, f = x.shape
        ref = np.broadcast_to(self._reference, x.shape)
        differs = ~((x == ref) | (np.isnan(x) & np.isnan(ref)))
        row_of, col_of = np.nonzero(differs)
        variants = x[row_of]
        variants[np.arange(len(row_of)), col_of] = self._reference[col_of]
        base = _logit(self._raw(x))
        out: Floats = np.zeros((n, f))
        if len(row_of):
            out[row_of, col_of] = base[row_of] - _logit(self._raw(variants))
        return out


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


def _positive(model: Any, x: Floats, threads: int) -> Floats:
    with threadpool_limits(limits=threads, user_api="openmp"):
        out: Floats = np.asarray(model.predict_proba(x)[:, 1], dtype=np.float64)
    return out


def _logit(p: NDArray[np.float64]) -> NDArray[np.float64]:
    q = np.clip(p, _EPS, 1 - _EPS)
    out: NDArray[np.float64] = np.log(q / (1 - q))
    return out
