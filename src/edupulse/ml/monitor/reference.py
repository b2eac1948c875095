"""A model version's training reference: per cut-off day, each feature's and the score's distribution.

Stored beside the version as ``reference.json`` when the version is trained by
``edupulse models retrain`` (versions trained before have none: the monitor then
reports no drift figures for them, only outcome figures).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import msgspec

from edupulse.insights.features import Features
from edupulse.ml.monitor.drift import ValueReference, reference_of

__all__ = ["DayReference", "ModelReference", "day_reference", "load_reference", "save_reference"]

REFERENCE_FILE = "reference.json"


class DayReference(msgspec.Struct, frozen=True):
    """The reference of the model of one cut-off day."""

    features: dict[str, ValueReference]
    score: ValueReference | None


class ModelReference(msgspec.Struct, frozen=True):
    by_day: dict[int, DayReference]


def day_reference(rows: Sequence[Features], scores: Sequence[float]) -> DayReference:
    """The reference of every numeric feature of ``rows`` (categorical ones are left out), and of ``scores``."""
    names = sorted({name for row in rows for name in row})
    features = {}
    for name in names:
        ref = reference_of([row.get(name) for row in rows])
        if ref is not None:
            features[name] = ref
    return DayReference(features, reference_of(list(scores)))


def save_reference(root: Path, name: str, version: str, reference: ModelReference) -> None:
    (root / name / version / REFERENCE_FILE).write_bytes(msgspec.json.encode(reference))


def load_reference(root: Path, name: str, version: str) -> ModelReference | None:
    path = root / name / version / REFERENCE_FILE
    try:
        return msgspec.json.decode(path.read_bytes(), type=ModelReference)
    except FileNotFoundError:
        return None
