"""Trained models on disk, each under its version: ``{data_dir}/models/{name}/{version}/``.

A version directory holds ``model.pkl`` (the fitted models, pickled) and
``model.json`` (what they were trained on, and how). ``latest`` names the newest
version. Pickles run code when loaded: only load models this deployment wrote.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any

import msgspec

from edupulse.errors import NotFoundError

__all__ = ["ModelCard", "load_model", "save_model"]


class ModelCard(msgspec.Struct):
    """What a stored model is: name, version, and how it was made."""

    name: str
    version: str
    details: dict[str, Any] = msgspec.field(default_factory=dict)


def save_model(root: Path, card: ModelCard, model: object) -> Path:
    """Store ``model`` under its card's version and make it the latest; returns its directory."""
    where = root / card.name / card.version
    where.mkdir(parents=True, exist_ok=True)
    (where / "model.pkl").write_bytes(pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL))
    (where / "model.json").write_bytes(msgspec.json.format(msgspec.json.encode(card), indent=2))
    latest = root / card.name / "latest.tmp"
    latest.write_text(card.version)
    os.replace(latest, root / card.name / "latest")
    return where


def load_model(root: Path, name: str, version: str | None = None) -> tuple[ModelCard, Any]:
    """A stored model and its card (the latest version unless one is named)."""
    pointer = root / name / "latest"
    if version is None:
        if not pointer.exists():
            raise NotFoundError(f"no {name} model under {root}; train one first (edupulse train {name})")
        version = pointer.read_text().strip()
    where = root / name / version
    if not (where / "model.pkl").exists():
        raise NotFoundError(f"no {name} model version {version} under {root}")
    card = msgspec.json.decode((where / "model.json").read_bytes(), type=ModelCard)
    model = pickle.loads((where / "model.pkl").read_bytes())  # noqa: S301 - written by save_model here
    return card, model
