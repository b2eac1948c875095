"""The mastery model: fitted BKT parameters per skill and Elo difficulties, stored as JSON.

``edupulse train mastery`` writes it to ``<data_dir>/models/mastery.json``; the mastery
operator reads it when a deployment starts. Its ``version`` is a digest of its content,
shown beside every mastery figure so each can be traced to the parameters behind it.
Each trained model is also kept as a registry version (``models/mastery/{version}/``):
promoting or rolling back the mastery champion rewrites ``mastery.json`` from it (what
the next start reads). A running deployment follows the champion through a
``MasterySource``: the mastery operator polls it between batches and takes a new
champion (or, with no champion alias, the newest version) for the batches after.
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path

import msgspec

from edupulse.config import Settings
from edupulse.errors import ConfigError, EdupulseError
from edupulse.ml import elo, registry
from edupulse.ml.bkt import DEFAULT_PARAMS, BktParams
from edupulse.ml.registry import ModelCard
from edupulse.ml.registry.watch import AliasWatch, watch_aliases

__all__ = [
    "MASTERY_MODEL",
    "MODEL_FILE",
    "MasteryModel",
    "MasterySource",
    "load_model",
    "mastery_source",
    "model_path",
    "save_model",
    "serve_version",
]

MASTERY_MODEL = "mastery"
MODEL_FILE = Path("models") / "mastery.json"
FORMAT = 1
logger = logging.getLogger(__name__)


class MasteryModel(msgspec.Struct, frozen=True, kw_only=True):
    """Everything the mastery operator needs to trace knowledge."""

    format: int = FORMAT
    bkt: dict[str, BktParams] = msgspec.field(default_factory=dict)
    bkt_fallback: BktParams = DEFAULT_PARAMS  # skills the model was not fitted on
    elo: elo.EloParams = msgspec.field(default_factory=elo.EloParams)
    trained_on: dict[str, object] = msgspec.field(default_factory=dict)  # what it was fitted from, and how

    @property
    def version(self) -> str:
        """``defaults``, or a digest of the fitted parameters."""
        if not self.bkt and not self.elo.difficulty:
            return "defaults"
        body = msgspec.json.encode([self.bkt, self.bkt_fallback, self.elo], order="sorted")
        return "m1-" + hashlib.sha256(body).hexdigest()[:12]

    def bkt_for(self, skill: str) -> BktParams:
        return self.bkt.get(skill, self.bkt_fallback)


def model_path(data_dir: Path) -> Path:
    return data_dir / MODEL_FILE


def save_model(model: MasteryModel, data_dir: Path) -> Path:
    """Write the model atomically (a reader sees the old file or the new one), and keep it as a
    version of the registry (``models/mastery/{version}/``), so that it can be promoted back later."""
    card = ModelCard(
        MASTERY_MODEL,
        model.version,
        {"snapshot": model.trained_on, "params": {"skills": len(model.bkt), "format": model.format}},
    )
    registry.save_model(data_dir / "models", card, model)
    return _write(model, data_dir)


def load_version(data_dir: Path, version: str) -> MasteryModel:
    """A stored version of the mastery model (``models/mastery/{version}/``)."""
    _, model = registry.load_model(data_dir / "models", MASTERY_MODEL, version)
    if not isinstance(model, MasteryModel):
        raise ConfigError(f"{data_dir / 'models' / MASTERY_MODEL / version} does not hold a mastery model")
    return model


def serve_version(data_dir: Path, version: str) -> Path:
    """Make a stored version the served model (``mastery.json``), read by the next start or replay
    (running deployments take the champion alias themselves: ``MasterySource``)."""
    return _write(load_version(data_dir, version), data_dir)


def _write(model: MasteryModel, data_dir: Path) -> Path:
    path = model_path(data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(msgspec.json.format(msgspec.json.encode(model), indent=1))
    os.replace(tmp, path)
    return path


def load_model(data_dir: Path) -> MasteryModel:
    """The stored model, or the defaults if none was trained."""
    path = model_path(data_dir)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return MasteryModel()
    try:
        model = msgspec.json.decode(raw, type=MasteryModel)
    except msgspec.ValidationError as exc:
        raise ConfigError(f"{path} is not a mastery model ({exc}); run `edupulse train mastery` again") from exc
    except msgspec.DecodeError as exc:
        raise ConfigError(f"{path} is not valid JSON ({exc}); run `edupulse train mastery` again") from exc
    if model.format != FORMAT:
        raise ConfigError(f"{path} has format {model.format}, this edupulse reads {FORMAT}; train it again")
    return model


class MasterySource:
    """The served mastery model, swapped for the new champion when the aliases move.

    Starts with the champion (``mastery.json`` when it is that version, as promotion keeps
    it; or when no version is stored); at most every ``poll_s`` seconds
    (``ml.registry.watch``) it looks at the mastery aliases and, when the champion moved,
    loads that version. A version that cannot be loaded is logged and the model in use kept.
    """

    def __init__(self, data_dir: Path, watch: AliasWatch) -> None:
        self.data_dir = data_dir
        self.watch = watch
        self.model = load_model(data_dir)
        self._take(watch.served[0])

    def _take(self, version: str | None) -> bool:
        if version is None or version == self.model.version:
            return False
        try:
            self.model = load_version(self.data_dir, version)
        except (EdupulseError, OSError) as exc:
            logger.error("could not load the %s model %s (keeping the one in use): %s", MASTERY_MODEL, version, exc)
            return False
        return True

    def poll(self) -> bool:
        """Take the new champion if the aliases moved to another one; True if the model changed."""
        served = self.watch.poll()
        return served is not None and self._take(served[0])


def mastery_source(settings: Settings) -> MasterySource:
    """The deployment's mastery model, following its champion (no registry opened until a version is stored)."""
    watch = watch_aliases(settings, MASTERY_MODEL)
    return MasterySource(settings.data_dir, watch)
