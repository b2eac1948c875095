"""Feature rows (name -> number, text or None) as matrices, with names kept.

Learned from the training rows and frozen with the model: numeric features become
floats with NaN for missing; text features become category codes (for gradient
boosting) or one-hot columns (for the logistic model), unseen values counting as
missing. The logistic matrix fills a missing number with the training median, adds a
column saying it was missing, and standardises.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import msgspec
import numpy as np
from numpy.typing import NDArray

__all__ = ["FeatureEncoder"]

Row = Mapping[str, float | str | None]
Floats = NDArray[np.float64]


class FeatureEncoder(msgspec.Struct):
    """The columns of a model: which features, which categories, which fill values."""

    numeric: list[str] = msgspec.field(default_factory=list)
    categorical: dict[str, list[str]] = msgspec.field(default_factory=dict)
    medians: list[float] = msgspec.field(default_factory=list)
    means: list[float] = msgspec.field(default_factory=list)
    scales: list[float] = msgspec.field(default_factory=list)

    @classmethod
    def fit(cls, rows: Sequence[Row]) -> FeatureEncoder:
        numeric: set[str] = set()
        categories: dict[str, set[str]] = {}
        for row in rows:
            for name, value in row.items():
                if isinstance(value, str):
                    categories.setdefault(name, set()).add(value)
                elif value is not None:
                    numeric.add(name)
        enc = cls(sorted(numeric - set(categories)), {k: sorted(v) for k, v in sorted(categories.items())})
        raw = enc.numbers(rows)
        enc.medians = [float(m) if np.isfinite(m) else 0.0 for m in _nanmedian(raw)]
        linear = enc.linear(rows, standardise=False)
        enc.means = [float(x) for x in linear.mean(axis=0)]
        enc.scales = [float(s) if s > 0 else 1.0 for s in linear.std(axis=0)]
        return enc

    @property
    def names(self) -> list[str]:
        """Feature names, in the column order of ``boosting``."""
        return [*self.numeric, *self.categorical]

    def numbers(self, rows: Sequence[Row]) -> Floats:
        out = np.full((len(rows), len(self.numeric)), np.nan)
        for i, row in enumerate(rows):
            for j, name in enumerate(self.numeric):
                value = row.get(name)
                if isinstance(value, int | float):
                    out[i, j] = value
        return out

    def codes(self, rows: Sequence[Row]) -> Floats:
        out = np.full((len(rows), len(self.categorical)), np.nan)
        lookup = [{v: k for k, v in enumerate(values)} for values in self.categorical.values()]
        for i, row in enumerate(rows):
            for j, (name, index) in enumerate(zip(self.categorical, lookup, strict=True)):
                value = row.get(name)
                if isinstance(value, str) and value in index:
                    out[i, j] = index[value]
        return out

    def boosting(self, rows: Sequence[Row]) -> Floats:
        """Numbers then category codes; NaN where missing."""
        return np.hstack([self.numbers(rows), self.codes(rows)])

    def categorical_mask(self) -> list[bool]:
        return [False] * len(self.numeric) + [True] * len(self.categorical)

    def linear_groups(self) -> list[str]:
        """For each column of ``linear``, the feature it comes from."""
        groups = [*self.numeric, *self.numeric]
        for name, values in self.categorical.items():
            groups.extend([name] * len(values))
        return groups

    def linear(self, rows: Sequence[Row], *, standardise: bool = True) -> Floats:
        """Numbers (median-filled), their missing flags, then one-hot categories."""
        raw = self.numbers(rows)
        missing = np.isnan(raw)
        filled = np.where(missing, np.asarray(self.medians)[None, :] if self.medians else raw, raw)
        codes = self.codes(rows)
        onehots = [
            (codes[:, j : j + 1] == np.arange(len(values))[None, :]).astype(np.float64)
            for j, values in enumerate(self.categorical.values())
        ]
        out = np.hstack([filled, missing.astype(np.float64), *onehots])
        if standardise:
            out = (out - np.asarray(self.means)) / np.asarray(self.scales)
        return out


def _nanmedian(values: Floats) -> Floats:
    out = np.zeros(values.shape[1])
    for j in range(values.shape[1]):
        col = values[:, j]
        col = col[~np.isnan(col)]
        out[j] = float(np.median(col)) if len(col) else 0.0
    return out
