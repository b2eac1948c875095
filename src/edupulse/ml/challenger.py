"""Retraining the at-risk models as a challenger, and judging it against the champion on a hold-out.

The data are the OULAD tables, through the same path as ``edupulse evaluate oulad``
(import onto a scratch log, replay through the stream operators, read the feature
states back: ``ml.oulad``), so the models learn from the features the stream computes.
The presentations of ``holdout_year`` are held out: a challenger is fitted on the other
years and its card records its figures on the hold-out, its training reference (for
drift) and the data it came from. ``compare`` scores champion and challenger on the
hold-out rows and says whether the challenger wins: its mean AUC over the cut-off days
beats the champion's by more than the margin, and its ECE stays within the ceiling at
every day. A version trained on the hold-out year cannot be judged on it: ``compare``
refuses it rather than report a leaked figure.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import msgspec
import numpy as np

from edupulse.errors import ConfigError
from edupulse.events.oulad import MAPPING_VERSION
from edupulse.insights.features import FeatureOperator, Features
from edupulse.ml.calibration import expected_calibration_error
from edupulse.ml.metrics import auc
from edupulse.ml.monitor.reference import DayReference, ModelReference, day_reference
from edupulse.ml.oulad import CUTOFF_DAYS, Say, build_history, examples, read_outcomes
from edupulse.ml.registry import ModelCard, read_card
from edupulse.ml.risk import ModelKind, RiskModel
from edupulse.ml.risk_models import RISK_MODEL, RiskModels

__all__ = ["Comparison", "DayFigures", "Holdout", "compare", "holdout_sets", "retrain"]


class Holdout(msgspec.Struct):
    """The rows of one cut-off day: training years, and the hold-out year."""

    train_rows: list[Features]
    train_labels: list[int]
    test_rows: list[Features]
    test_labels: list[int]


class DayFigures(msgspec.Struct, frozen=True):
    day: int
    n: int
    auc: float
    ece: float


class Comparison(msgspec.Struct):
    holdout_year: str
    champion: str
    challenger: str
    champion_figures: list[DayFigures]
    challenger_figures: list[DayFigures]
    mean_auc_gain: float
    margin: float
    max_ece: float
    challenger_wins: bool


def tables_digest(data: Path) -> str:
    """SHA-256 over the CSV tables' names and bytes: which data a version was trained on."""
    digest = hashlib.sha256()
    for path in sorted(data.glob("*.csv")):
        digest.update(path.name.encode() + b"\0")
        with path.open("rb") as file:
            while chunk := file.read(1 << 20):
                digest.update(chunk)
    return digest.hexdigest()


def holdout_sets(
    data: Path, *, holdout_year: str, cutoffs: Sequence[int] = CUTOFF_DAYS, say: Say | None = None
) -> dict[int, Holdout]:
    """Per cut-off day, the learners of the other years (training) and of ``holdout_year``."""
    with tempfile.TemporaryDirectory(prefix="edupulse-retrain-") as tmp:
        history = build_history(data, Path(tmp), say=say)
    outcomes = read_outcomes(data)
    out = {}
    for day in cutoffs:
        ex = examples(history, outcomes, day)
        held = [y == holdout_year for y in ex.years]
        out[day] = Holdout(
            [r for r, h in zip(ex.rows, held, strict=True) if not h],
            [y for y, h in zip(ex.labels, held, strict=True) if not h],
            [r for r, h in zip(ex.rows, held, strict=True) if h],
            [y for y, h in zip(ex.labels, held, strict=True) if h],
        )
        if not out[day].test_labels or not out[day].train_labels:
            raise ConfigError(
                f"day {day}: no learners of {'the other years' if out[day].test_labels else holdout_year}"
            )
    return out


def _figures(day: int, labels: Sequence[int], probs: Any) -> DayFigures:
    y = np.asarray(labels, dtype=np.int_)
    p = np.asarray(probs, dtype=np.float64)
    return DayFigures(day, len(y), round(auc(y, p), 4), round(expected_calibration_error(y, p), 4))


def retrain(
    sets: dict[int, Holdout], *, data: Path, holdout_year: str, seed: int = 0, kind: ModelKind = "gbm"
) -> tuple[RiskModels, ModelCard, ModelReference]:
    """Models fitted on the training years, with their card (snapshot, features, parameters,
    hold-out figures) and their training reference."""
    models: dict[int, RiskModel] = {}
    refs: dict[int, DayReference] = {}
    metrics: dict[str, Any] = {}
    names: set[str] = set()
    for day, s in sorted(sets.items()):
        model = RiskModel(kind, seed=seed).fit(s.train_rows, s.train_labels)
        models[day] = model
        probs = model.predict(s.test_rows)
        metrics[str(day)] = msgspec.to_builtins(_figures(day, s.test_labels, probs))
        # Features: the training rows. Scores: the hold-out's (scores on training rows are partly in-sample).
        refs[day] = day_reference(s.train_rows, [float(p) for p in probs])
        names.update(n for row in s.train_rows for n in row)
    sizes = {str(d): len(s.train_labels) for d, s in sets.items()}
    data_hash = tables_digest(data)
    digest = hashlib.blake2b(
        msgspec.json.encode([MAPPING_VERSION, seed, kind, holdout_year, data_hash, sorted(sizes.items())]),
        digest_size=4,
    )
    version = f"risk-{kind}-{digest.hexdigest()}"
    tables = sorted(p.name for p in data.glob("*.csv"))
    card = ModelCard(
        RISK_MODEL,
        version,
        {
            "snapshot": {"source": str(data), "tables": tables, "sha256": data_hash, "holdout_year": holdout_year},
            "features": {"names": sorted(names), "operator_version": FeatureOperator.version},
            "params": {"kind": kind, "seed": seed, "cutoffs": sorted(sets), "examples": sizes},
            "metrics": {"holdout": metrics},
        },
    )
    return RiskModels(models, version, sizes), card, ModelReference(refs)


def _check_unseen(root: Path, version: str, holdout_year: str) -> None:
    snapshot = read_card(root, RISK_MODEL, version).details.get("snapshot") or {}
    if snapshot.get("holdout_year") != holdout_year:
        raise ConfigError(
            f"risk model {version} was not trained with {holdout_year} held out (it may have seen it): "
            f"judge it on its own hold-out, or retrain it (edupulse models retrain risk --holdout-year {holdout_year})"
        )


def compare(
    sets: dict[int, Holdout],
    root: Path,
    champion: RiskModels,
    challenger: RiskModels,
    *,
    holdout_year: str,
    margin: float,
    max_ece: float,
) -> Comparison:
    """Champion and challenger on the hold-out rows of every cut-off day both have."""
    for version in (champion.version, challenger.version):
        _check_unseen(root, version, holdout_year)
    days = sorted(set(champion.by_day) & set(challenger.by_day) & set(sets))
    if not days:
        raise ConfigError("champion and challenger share no cut-off day with the hold-out sets")
    a = [_figures(d, sets[d].test_labels, champion.by_day[d].predict(sets[d].test_rows)) for d in days]
    b = [_figures(d, sets[d].test_labels, challenger.by_day[d].predict(sets[d].test_rows)) for d in days]
    gain = float(np.mean([y.auc - x.auc for x, y in zip(a, b, strict=True)]))
    wins = gain > margin and all(f.ece <= max_ece for f in b)
    return Comparison(holdout_year, champion.version, challenger.version, a, b, round(gain, 4), margin, max_ece, wins)
