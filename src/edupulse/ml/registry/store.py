"""Trained model versions on disk, each under its version: ``{data_dir}/models/{name}/{version}/``.

A version directory holds ``model.pkl`` (the fitted models, pickled) and
``model.json`` (what they were trained on, and how). ``latest`` names the newest
version. Pickles run code when loaded: only load models this deployment wrote.
"""

from __future__ import annotations

import os
import pickle
import time
from pathlib import Path
from typing import Any

import msgspec

from edupulse.errors import NotFoundError

__all__ = ["ModelCard", "latest_version", "load_model", "read_card", "save_model", "versions"]


class ModelCard(msgspec.Struct):
    """What a stored model is: name, version, and how it was made.

    ``details`` holds, by convention (``edupulse models show``): ``snapshot`` (the data it
    was trained on: source, log range or lake snapshot, a hash), ``features`` (names and
    schema version), ``params`` (training parameters) and ``metrics`` (evaluation figures,
    per cut-off day for the at-risk models).
    """

    name: str
    version: str
    details: dict[str, Any] = msgspec.field(default_factory=dict)
    created_us: int = 0


def save_model(root: Path, card: ModelCard, model: object) -> Path:
    """Store ``model`` under its card's version and make it the latest; returns its directory."""
    where = root / card.name / card.version
    where.mkdir(parents=True, exist_ok=True)
    if not card.created_us:
        card = msgspec.structs.replace(card, created_us=time.time_ns() // 1000)
    (where / "model.pkl").write_bytes(pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL))
    (where / "model.json").write_bytes(msgspec.json.format(msgspec.json.encode(card), indent=2))
    latest = root / card.name / "latest.tmp"
    latest.write_text(card.version)
    os.replace(latest, root / card.name / "latest")
    return where


def latest_version(root: Path, name: str) -> str | None:
    """The newest stored version of ``name`` (its ``latest`` file), if any."""
    try:
        return (root / name / "latest").read_text().strip() or None
    except FileNotFoundError:
        return None


def read_card(root: Path, name: str, version: str) -> ModelCard:
    """The card of a stored version (no unpickling)."""
    path = root / name / version / "model.json"
    if not (root / name / version / "model.pkl").exists():
        raise NotFoundError(f"no {name} model version {version} under {root}; `edupulse models list` shows them")
    try:
        return msgspec.json.decode(path.read_bytes(), type=ModelCard)
    except (OSError, msgspec.DecodeError) as exc:
        raise NotFoundError(f"{path} is not a readable model card ({exc})") from exc


def versions(root: Path, name: str) -> list[ModelCard]:
    """The cards of every stored version of ``name``, oldest first."""
    where = root / name
    if not where.is_dir():
        return []
    cards = [read_card(root, name, d.name) for d in where.iterdir() if (d / "model.pkl").exists()]
    return sorted(cards, key=lambda c: (c.created_us, c.version))


def load_model(root: Path, name: str, version: str | None = None) -> tuple[ModelCard, Any]:
    """A stored model and its card (the latest version unless one is named)."""
    if version is None:
        version = latest_version(root, name)
        if version is None:
            raise NotFoundError(f"no {name} model under {root}; train one first (edupulse train {name})")
    card = read_card(root, name, version)
    model = pickle.loads((root / name / version / "model.pkl").read_bytes())  # noqa: S301 - written by save_model
    return card, model
