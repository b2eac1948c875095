"""The stored at-risk models: one calibrated model per cut-off day, under one version.

Kept apart from training (``ml.oulad``) so that the stream operators can hold and load
them without importing the training pipeline; scikit-learn is imported only when a
stored model is unpickled.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import msgspec

from edupulse.errors import ConfigError
from edupulse.ml.registry import load_model

if TYPE_CHECKING:
    from edupulse.ml.risk import RiskModel

__all__ = ["RISK_MODEL", "RiskModels", "stored_risk_models"]

RISK_MODEL = "risk"


class RiskModels(msgspec.Struct):
    """One calibrated model per cut-off day, under one version."""

    by_day: dict[int, RiskModel]
    version: str
    examples: dict[str, int]


def stored_risk_models(data_dir: Path) -> RiskModels | None:
    """The latest at-risk models stored under ``{data_dir}/models`` (``edupulse train risk``), if any."""
    if not (data_dir / "models" / RISK_MODEL / "latest").exists():
        return None
    _, models = load_model(data_dir / "models", RISK_MODEL)
    if not isinstance(models, RiskModels):
        raise ConfigError(f"{data_dir / 'models' / RISK_MODEL} does not hold at-risk models; retrain them")
    return models
