"""Scoring with a model version, and the challenger's scores kept in shadow.

``predict`` picks, for each queued row, the model of the latest cut-off day not after the
learner's course day (the first day's when the course start is unknown) and predicts
each day's rows in one call. When a challenger is named (``edupulse models promote risk
VERSION --alias challenger``) the risk operator also scores every row with it and keeps
the latest score per learner-course in ``risk_shadow``, beside the champion's score of
the same event. That view is never read as a learner's risk: it feeds
``edupulse models compare`` and the monitor.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from edupulse.insights.risk_views import Score
from edupulse.stream.store.base import Row, ViewSpec

if TYPE_CHECKING:
    from edupulse.ml.risk_models import RiskModels

__all__ = ["SHADOW_VIEW", "model_day", "predict", "shadow_rows"]

SHADOW_VIEW = ViewSpec(
    name="risk_shadow",
    key=("tenant", "course", "learner"),
    columns={
        "tenant": "text",
        "course": "text",
        "learner": "text",
        "risk": "real",
        "model_version": "text",
        "model_day": "int",
        "champion_risk": "real",
        "champion_version": "text",
        "course_day": "real",
        "as_of_us": "int",
        "event_id": "text",
        "event_time_us": "int",
    },
    indexes=(("tenant", "model_version"),),
)


def model_day(days: Sequence[int], course_day: object) -> int:
    """The cut-off day whose model scores a row: the latest not after its course day."""
    day = int(course_day // 1) if isinstance(course_day, float) else None
    return max((d for d in days if day is not None and d <= day), default=days[0])


def predict(models: RiskModels, scores: Sequence[Score]) -> list[tuple[int, float]]:
    """(cut-off day, risk rounded to 4 decimals) of each score's features: one call per day."""
    days = sorted(models.by_day)
    picked = [model_day(days, s.features.get("course_day")) for s in scores]
    out: list[tuple[int, float]] = [(d, 0.0) for d in picked]
    for day in sorted(set(picked)):
        idx = [i for i, d in enumerate(picked) if d == day]
        risks = models.by_day[day].predict([scores[i].features for i in idx])
        for i, p in zip(idx, risks, strict=True):
            out[i] = (day, round(float(p), 4))
    return out


def shadow_rows(challenger: RiskModels, pending: Sequence[tuple[str, Score]], champion: str) -> dict[str, Row]:
    """The challenger's score of each learner-course's last queued row, with the champion's."""
    latest = dict(pending)
    keys = list(latest)
    results = predict(challenger, [latest[k] for k in keys])
    out: dict[str, Row] = {}
    for key, (day, risk) in zip(keys, results, strict=True):
        s = latest[key]
        row = s.row(challenger.version)
        out[key] = {k: v for k, v in row.items() if k != "features"} | {
            "risk": risk,
            "model_day": day,
            "champion_risk": s.risk,
            "champion_version": champion,
        }
    return out
