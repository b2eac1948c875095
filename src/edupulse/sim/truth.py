"""Ground truth of a run, for checking what analytics infer against what was simulated."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from edupulse.sim.learner import Learner
from edupulse.sim.profiles import ProfileName

__all__ = ["LearnerTruth", "snapshot"]


@dataclass(frozen=True, slots=True)
class LearnerTruth:
    """What the simulator knows about a learner and analytics can only estimate."""

    learner_id: str
    course_id: str
    profile: ProfileName
    dropout_at: datetime | None  # when the learner leaves; None if they stay to the end
    mastery: dict[str, float]  # latent probability of knowing each skill of the course
    statements: int  # statements simulated so far (a run simulates whole days at a time)
    verbs: dict[str, int]  # the same, per verb word


def snapshot(learner: Learner) -> LearnerTruth:
    """The learner's truth now (final once the run is exhausted); copies, so it does not change."""
    dropout = None if learner.dropout_at is None else datetime.fromtimestamp(learner.dropout_at, UTC)
    return LearnerTruth(
        learner.id,
        learner.course.id,
        learner.profile.name,
        dropout,
        dict(learner.mastery),
        learner.statements,
        dict(learner.counts),
    )
