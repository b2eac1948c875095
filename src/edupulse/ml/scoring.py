"""Scores with reasons, from the feature states, with the version of the models that made them.

The same functions as training build the rows (``insights.cohort``, ``insights.history``),
so a learner is scored on exactly the features the models learned from. The model of
the latest cut-off day not after the learner's course day is used.
"""

from __future__ import annotations

from collections.abc import Mapping

import msgspec

from edupulse.insights.cohort import cohort_features
from edupulse.insights.features import DAY_US, FeatureState, registered_at
from edupulse.insights.history import history_features
from edupulse.ml.explain import Factor
from edupulse.ml.risk_models import RiskModels

__all__ = ["RiskScore", "score_course"]


class RiskScore(msgspec.Struct, frozen=True):
    """One learner's calibrated risk in a course, as of a day, and why."""

    course: str
    learner: str
    day: int
    risk: float
    model_version: str
    model_day: int
    factors: list[Factor]


def score_course(
    course: str,
    history: Mapping[str, Mapping[str, FeatureState]],
    models: RiskModels,
    *,
    day: int,
    top: int = 3,
) -> list[RiskScore]:
    """Every learner enrolled in ``course`` at the end of its ``day``, scored and explained.

    ``history`` holds the feature states by course and learner (a learner's other
    courses give the other-course features).
    """
    states = history[course]
    start = next((s.course_start_us for s in states.values() if s.course_start_us is not None), 0)
    cut = start + (day + 1) * DAY_US
    model_day = max((d for d in models.by_day if d <= day), default=min(models.by_day))
    model = models.by_day[model_day]
    rows = cohort_features(states, cut)
    learners = sorted(lr for lr, s in states.items() if registered_at(s, cut))
    full = [rows[lr] | history_features(_courses_of(history, lr), course, cut) for lr in learners]
    if not full:
        return []
    risks = model.predict(full)
    reasons = model.explain_many(full, top=top)
    return [
        RiskScore(course, lr, day, round(float(p), 4), models.version, model_day, why)
        for lr, p, why in zip(learners, risks, reasons, strict=True)
    ]


def _courses_of(history: Mapping[str, Mapping[str, FeatureState]], learner: str) -> dict[str, FeatureState]:
    return {course: states[learner] for course, states in history.items() if learner in states}
