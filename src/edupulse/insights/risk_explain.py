"""Reasons for risk scores, computed when the scores are read.

The risk operator stores, with every score, the feature vector it was scored on, the
model version and its cut-off day. ``RiskExplainer.explain`` takes the rows a read
returns (an at-risk page, a profile's current score and history), loads each model
version from the registry (``ml.registry``; kept once loaded) and explains the rows not
explained before with one vectorised call per (version, day). Reasons are cached per
(version, day, row identity): the same row is explained once per process.

If a row's model version (or its day) is not stored any more, the row keeps its score,
gets no reasons, and says why in ``factors_missing``: a read never fails for it.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import msgspec

from edupulse.errors import NotFoundError
from edupulse.ml.registry import load_model
from edupulse.ml.risk_models import RISK_MODEL, RiskModels
from edupulse.stream.store.base import Row

__all__ = ["CACHED_ROWS", "RiskExplainer"]

CACHED_ROWS = 20_000  # explained rows kept per process (a few hundred bytes each)
_KEPT_VERSIONS = 4  # model versions kept loaded per process
_CacheKey = tuple[str, int, str, str, str, str]
_NO_FEATURES = "this score was stored without its features (before reasons were computed on read): replay to get them"


class RiskExplainer:
    """Explains risk rows on read from the models stored under ``root`` (``{data_dir}/models``)."""

    def __init__(self, root: Path, *, top: int = 3, cached_rows: int = CACHED_ROWS) -> None:
        self.root = root
        self.top = top
        self.cached_rows = cached_rows
        self._models: OrderedDict[str, RiskModels] = OrderedDict()
        self._reasons: OrderedDict[_CacheKey, list[dict[str, Any]]] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def cached(self) -> int:
        """How many rows' reasons are cached."""
        return len(self._reasons)

    def explain(self, rows: Sequence[Row]) -> list[Row]:
        """The rows with ``factors`` (top reasons, strongest first) and ``factors_missing``
        (None, or why there are no reasons), without the stored ``features``."""
        out = [
            {k: v for k, v in row.items() if k != "features"} | {"factors": [], "factors_missing": None} for row in rows
        ]
        todo: dict[tuple[str, int], list[int]] = {}
        with self._lock:
            for i, row in enumerate(rows):
                key = _key(row)
                cached = self._reasons.get(key)
                if cached is not None:
                    self._reasons.move_to_end(key)
                    out[i]["factors"] = cached
                elif not isinstance(row.get("features"), dict):
                    out[i]["factors_missing"] = _NO_FEATURES
                else:
                    todo.setdefault((key[0], key[1]), []).append(i)
        for (version, day), indexes in todo.items():
            self._explain_group(version, day, [rows[i] for i in indexes], [out[i] for i in indexes])
        return out

    def _explain_group(self, version: str, day: int, rows: list[Row], out: list[Row]) -> None:
        """One vectorised explanation for rows of one model version and day."""
        models = self._load(version)
        if isinstance(models, str) or day not in models.by_day:
            why = models if isinstance(models, str) else f"risk model {version} has no model for day {day}"
            for o in out:
                o["factors_missing"] = why
            return
        reasons = models.by_day[day].explain_many([r["features"] for r in rows], top=self.top)
        with self._lock:
            for r, o, factors in zip(rows, out, reasons, strict=True):
                o["factors"] = msgspec.to_builtins(factors)
                self._reasons[_key(r)] = o["factors"]
            while len(self._reasons) > self.cached_rows:
                self._reasons.popitem(last=False)

    def _load(self, version: str) -> RiskModels | str:
        """The stored models of ``version`` (kept once loaded), or why they cannot be had."""
        with self._lock:
            if version in self._models:
                self._models.move_to_end(version)
                return self._models[version]
        try:
            _, loaded = load_model(self.root, RISK_MODEL, version)
        except NotFoundError:
            return f"risk model {version} is not stored under {self.root}: the score has no reasons"
        if not isinstance(loaded, RiskModels):
            return f"{self.root / RISK_MODEL / version} does not hold risk models: the score has no reasons"
        with self._lock:
            self._models[version] = loaded
            while len(self._models) > _KEPT_VERSIONS:
                self._models.popitem(last=False)
        return loaded


def _key(row: Row) -> _CacheKey:
    """A row's identity: its model, and the learner-course event it was scored after."""
    return (
        str(row.get("model_version")),
        int(row.get("model_day") or 0),
        str(row.get("tenant")),
        str(row.get("course")),
        str(row.get("learner")),
        str(row.get("event_id")),
    )
