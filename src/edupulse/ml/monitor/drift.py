"""Distribution drift against a training reference: PSI with fixed bins, and the KS statistic.

The reference of a numeric value (a feature, or the model's score) is taken once, from
the rows a model version was trained on, and stored with the version
(``reference.json``): the bin edges (deciles of the training values; ties merge bins),
the share of training values in each bin and missing, and a sorted sample of at most
``SAMPLE`` training values (evenly spaced order statistics) for the KS statistic.

- PSI = sum over bins (missing is a bin) of (a - e) x ln(a / e), ``a`` the current
  share and ``e`` the reference share, each floored at ``FLOOR`` so an empty bin counts
  as rare rather than infinite. Rules of thumb: under 0.1 stable, over 0.25 a shift.
- KS = the largest distance between the two empirical distribution functions (missing
  values left out).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import msgspec
import numpy as np
from numpy.typing import NDArray

__all__ = ["FLOOR", "SAMPLE", "ValueReference", "ks_statistic", "psi", "reference_of"]

FLOOR = 1e-4
SAMPLE = 2000
BINS = 10
Floats = NDArray[np.float64]


class ValueReference(msgspec.Struct, frozen=True):
    """How one value was distributed on the training rows."""

    edges: list[float]  # interior cut points: bin i holds values in [edges[i-1], edges[i])
    shares: list[float]  # len(edges) + 1 bins, then the missing share last
    sample: list[float]  # sorted training values (at most SAMPLE, evenly spaced)
    rows: int


def _numbers(values: Sequence[object]) -> tuple[Floats, int]:
    """The numeric values (bools as 0/1), and how many were missing or not numbers."""
    kept = [float(v) for v in values if isinstance(v, int | float) and not (isinstance(v, float) and math.isnan(v))]
    return np.asarray(kept, dtype=np.float64), len(values) - len(kept)


def _shares(x: Floats, missing: int, edges: Sequence[float]) -> Floats:
    counts = np.bincount(np.searchsorted(np.asarray(edges), x, side="right"), minlength=len(edges) + 1)
    total = len(x) + missing
    return np.append(counts, missing).astype(np.float64) / max(total, 1)


def reference_of(values: Sequence[object], *, bins: int = BINS) -> ValueReference | None:
    """The reference of a value from its training values; None if it is never a number."""
    x, missing = _numbers(values)
    if not len(x):
        return None
    x.sort()
    edges = sorted(set(np.quantile(x, np.linspace(0, 1, bins + 1)[1:-1]).tolist()) - {float(x[0])})
    idx = np.unique(np.linspace(0, len(x) - 1, min(len(x), SAMPLE)).round().astype(int))
    return ValueReference(edges, _shares(x, missing, edges).tolist(), x[idx].tolist(), len(values))


def psi(reference: ValueReference, values: Sequence[object]) -> float:
    """The population stability index of ``values`` against the reference bins."""
    x, missing = _numbers(values)
    actual = np.maximum(_shares(x, missing, reference.edges), FLOOR)
    expected = np.maximum(np.asarray(reference.shares), FLOOR)
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def ks_statistic(reference: ValueReference, values: Sequence[object]) -> float:
    """The two-sample Kolmogorov-Smirnov statistic of ``values`` against the reference sample."""
    x, _ = _numbers(values)
    ref = np.asarray(reference.sample)
    if not len(x) or not len(ref):
        return 0.0
    x.sort()
    points = np.concatenate([ref, x])
    f_ref = np.searchsorted(ref, points, side="right") / len(ref)
    f_cur = np.searchsorted(x, points, side="right") / len(x)
    return float(np.max(np.abs(f_ref - f_cur)))
