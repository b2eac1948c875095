"""What the live risk operator serves: the current risk, the score history, the lake messages.

- ``learner_risk``: one row per (tenant, course, learner), the latest score, indexed by
  course and risk for a course's at-risk list;
- ``risk_history``: a row each time a learner-course's score moves by more than
  ``HISTORY_STEP`` from the last recorded one, or the model (version or cut-off day)
  changes; numbered per learner-course (``seq``), in log order;
- outbox topics ``predictions`` (each history row) and ``feature_snapshots`` (the
  feature vector it was scored on), for the lakehouse, when the lake is enabled.

Every row keeps the feature vector it was scored on (``features``) with the model
version and cut-off day: the reasons are computed from them when the row is read
(``insights.risk_explain``), not in the stream.
"""

from __future__ import annotations

from typing import Any

import msgspec

from edupulse.insights.features import Features
from edupulse.stream.store.base import OutboxMessage, Row, ViewSpec

__all__ = [
    "FEATURES_TOPIC",
    "HISTORY_STEP",
    "HISTORY_VIEW",
    "PREDICTIONS_TOPIC",
    "RISK_VIEW",
    "Score",
    "lake_messages",
]

HISTORY_STEP = 0.02  # a history row when the risk moves by more than this (or the model changes)
PREDICTIONS_TOPIC = "predictions"
FEATURES_TOPIC = "feature_snapshots"

_SCORE_COLUMNS: dict[str, Any] = {
    "risk": "real",
    "model_version": "text",
    "model_day": "int",
    "course_day": "real",
    "as_of_us": "int",
    "event_id": "text",
    "event_time_us": "int",
    "features": "json",  # the feature vector scored: the reasons are computed from it on read
}
RISK_VIEW = ViewSpec(
    name="learner_risk",
    key=("tenant", "course", "learner"),
    columns={"tenant": "text", "course": "text", "learner": "text", **_SCORE_COLUMNS},
    indexes=(("tenant", "course", "risk"), ("tenant", "learner")),
)
HISTORY_VIEW = ViewSpec(
    name="risk_history",
    key=("tenant", "learner", "course", "seq"),
    columns={"tenant": "text", "learner": "text", "course": "text", "seq": "int", **_SCORE_COLUMNS},
)


class Score(msgspec.Struct, gc=False):
    """One learner-course scored after one event (``as_of_us``: the features' cut-off)."""

    tenant: str
    course: str
    learner: str
    event_id: str
    event_time_us: int
    as_of_us: int
    model_day: int
    features: Features
    risk: float = 0.0

    def row(self, model_version: str, seq: int | None = None) -> Row:
        course_day = self.features.get("course_day")
        out: Row = {
            "tenant": self.tenant,
            "course": self.course,
            "learner": self.learner,
            "risk": self.risk,
            "model_version": model_version,
            "model_day": self.model_day,
            "course_day": course_day if isinstance(course_day, float) else None,
            "as_of_us": self.as_of_us,
            "event_id": self.event_id,
            "event_time_us": self.event_time_us,
            "features": self.features,
        }
        if seq is not None:
            out["seq"] = seq
        return out


def lake_messages(score: Score, row: Row) -> list[OutboxMessage]:
    """The history row (without its features), and the features it was scored on, for the lake
    (idempotent by event). The reasons are not sent: they are computed on read."""
    # Unique per model version: a rebuild with a new model must add its predictions, not be taken
    # for a repeat of the old ones (the log keeps the first record of an idempotency key).
    ident = f"{score.tenant}/{score.course}/{score.learner}/{score.event_id}/{row['model_version']}/{row['model_day']}"
    key = f"{score.tenant}\x1f{score.learner}"  # as events are keyed: tenant retention and erasure find them
    base = {k: row[k] for k in ("tenant", "learner", "course", "event_id", "event_time_us", "as_of_us")}
    base |= {"model_version": row["model_version"], "model_day": row["model_day"]}
    prediction = msgspec.json.encode(base | {"seq": row["seq"], "risk": row["risk"]})
    snapshot = msgspec.json.encode(base | {"seq": row["seq"], "features": score.features})
    return [
        OutboxMessage(PREDICTIONS_TOPIC, key, prediction, f"{PREDICTIONS_TOPIC}/{ident}"),
        OutboxMessage(FEATURES_TOPIC, key, snapshot, f"{FEATURES_TOPIC}/{ident}"),
    ]
