"""The stored at-risk models: one calibrated model per cut-off day, under one version.

Kept apart from training (``ml.oulad``) so that the stream operators can hold and load
them without importing the training pipeline; scikit-learn is imported only when a
stored model is unpickled. ``RiskSource`` gives the risk operator the champion and the
challenger, and the new ones after a promotion (``ml.registry.watch``); a deployment
started before any version is stored gets an empty source, which takes the first
champion (or ``latest``) when it appears.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import msgspec

from edupulse.config import Settings
from edupulse.errors import ConfigError, EdupulseError
from edupulse.ml.registry import CHAMPION, FileRegistry, Registry, load_model, resolve
from edupulse.ml.registry.watch import AliasWatch, watch_aliases

if TYPE_CHECKING:
    from edupulse.ml.risk import RiskModel

__all__ = ["RISK_MODEL", "RiskModels", "RiskSource", "load_risk_models", "risk_source", "stored_risk_models"]

RISK_MODEL = "risk"
logger = logging.getLogger(__name__)


class RiskModels(msgspec.Struct):
    """One calibrated model per cut-off day, under one version."""

    by_day: dict[int, RiskModel]
    version: str
    examples: dict[str, int]


def load_risk_models(root: Path, version: str) -> RiskModels:
    """The at-risk models of ``version`` stored under ``root`` (``{data_dir}/models``)."""
    _, models = load_model(root, RISK_MODEL, version)
    if not isinstance(models, RiskModels):
        raise ConfigError(f"{root / RISK_MODEL / version} does not hold at-risk models; retrain them")
    return models


def stored_risk_models(data_dir: Path, registry: Registry | None = None) -> RiskModels | None:
    """The champion at-risk models stored under ``{data_dir}/models`` (else the newest), if any."""
    root = data_dir / "models"
    version = resolve(registry or FileRegistry(root), root, RISK_MODEL, CHAMPION)
    return None if version is None else load_risk_models(root, version)


class RiskSource:
    """The champion and challenger at-risk models, swapped for new ones when the aliases move."""

    def __init__(self, watch: AliasWatch) -> None:
        """``watch``: the risk model's aliases (``ml.registry.watch``); may serve nothing yet."""
        self.root = watch.root
        self.watch = watch
        self._loaded: dict[str, RiskModels] = {}
        champion, challenger = self.watch.served
        self.champion = None if champion is None else self._load(champion)
        self.challenger = None if challenger is None else self._load(challenger)

    def _load(self, version: str) -> RiskModels:
        if version not in self._loaded:
            self._loaded = {v: m for v, m in self._loaded.items() if v in self.watch.served}
            self._loaded[version] = load_risk_models(self.root, version)
        return self._loaded[version]

    def poll(self) -> bool:
        """Take a new champion or challenger if the aliases moved; True if either changed."""
        served = self.watch.poll()
        if served is None:
            return False
        champion, challenger = served
        try:
            if champion is not None:  # a champion is never taken away: keep serving the last one
                self.champion = self._load(champion)
            self.challenger = None if challenger is None else self._load(challenger)
        except (EdupulseError, OSError) as exc:
            logger.error("could not load the %s models %s (keeping the ones in use): %s", RISK_MODEL, served, exc)
            return False
        return True


def risk_source(settings: Settings) -> RiskSource:
    """The deployment's at-risk models (champion and challenger); empty until a version is stored.

    With no version stored no registry is opened (no PostgreSQL pool): the source opens it
    at the first poll that finds ``models/risk/``."""
    return RiskSource(watch_aliases(settings, RISK_MODEL))
