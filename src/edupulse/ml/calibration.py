"""Probability calibration and its measure, the expected calibration error."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from sklearn.isotonic import IsotonicRegression

__all__ = ["IsotonicCalibrator", "expected_calibration_error"]

Floats = NDArray[np.float64]


def expected_calibration_error(labels: NDArray[np.int_] | Floats, probs: Floats, *, bins: int = 10) -> float:
    """ECE with equal-width bins: sum over bins of |mean label - mean probability| x bin share.

    A probability of exactly 1 falls in the last bin.
    """
    y = np.asarray(labels, dtype=np.float64)
    p = np.asarray(probs, dtype=np.float64)
    if len(p) == 0:
        return 0.0
    which = np.minimum((p * bins).astype(np.int64), bins - 1)
    total = 0.0
    for b in range(bins):
        inside = which == b
        if inside.any():
            total += abs(float(y[inside].mean()) - float(p[inside].mean())) * float(inside.mean())
    return total


class IsotonicCalibrator:
    """Maps a model's scores to calibrated probabilities, fitted on data the model did not see."""

    def __init__(self) -> None:
        self._iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip")

    def fit(self, scores: Floats, labels: NDArray[np.int_]) -> IsotonicCalibrator:
        self._iso.fit(np.asarray(scores, dtype=np.float64), np.asarray(labels, dtype=np.float64))
        return self

    def __call__(self, scores: Floats) -> Floats:
        out: Floats = np.asarray(self._iso.predict(np.asarray(scores, dtype=np.float64)), dtype=np.float64)
        return out
