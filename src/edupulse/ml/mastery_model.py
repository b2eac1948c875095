"""The mastery model: fitted BKT parameters per skill and Elo difficulties, stored as JSON.

``edupulse train mastery`` writes it to ``<data_dir>/models/mastery.json``; the mastery
operator reads it when a deployment starts. Its ``version`` is a digest of its content,
shown beside every mastery figure so each can be traced to the parameters behind it.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path

import msgspec

from edupulse.errors import ConfigError
from edupulse.ml import bkt_fit, elo
from edupulse.ml.bkt import DEFAULT_PARAMS, BktParams
from edupulse.ml.sequences import Attempt, Sequences, group_sequences

__all__ = ["MODEL_FILE", "MasteryModel", "fit_bkt", "load_model", "model_path", "save_model", "train"]

MODEL_FILE = Path("models") / "mastery.json"
FORMAT = 1


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


def fit_bkt(attempts: Sequence[Attempt], options: bkt_fit.FitOptions) -> tuple[dict[str, BktParams], BktParams, float]:
    """BKT parameters per skill, a global fallback fitted on every skill pooled, and the log-likelihood."""
    seqs, skills = group_sequences(attempts)
    names = sorted(set(skills))
    index = {name: i for i, name in enumerate(names)}
    pooled = len(names)
    layout = Sequences(seqs + seqs, [index[s] for s in skills] + [pooled] * len(seqs), pooled + 1)
    result = bkt_fit.fit(layout, options)
    return dict(zip(names, result.params, strict=False)), result.params[pooled], result.log_likelihood


def train(attempts: Sequence[Attempt], options: bkt_fit.FitOptions, *, source: str = "") -> MasteryModel:
    """Fit BKT (per skill, with a pooled fallback) and Elo difficulties from a history of attempts."""
    per_skill, fallback, loglik = fit_bkt(attempts, options)
    return MasteryModel(
        bkt=per_skill,
        bkt_fallback=fallback,
        elo=elo.fit(attempts),
        trained_on={
            "source": source,
            "attempts": len(attempts),
            "options": msgspec.to_builtins(options),
            "log_likelihood": round(loglik, 3),
        },
    )


def model_path(data_dir: Path) -> Path:
    return data_dir / MODEL_FILE


def save_model(model: MasteryModel, data_dir: Path) -> Path:
    """Write the model atomically (a reader sees the old file or the new one)."""
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
