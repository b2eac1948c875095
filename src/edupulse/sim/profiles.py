"""Engagement profiles: how often a kind of learner studies, how well and for how long."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

__all__ = ["DEFAULT_MIX", "PROFILES", "Profile", "ProfileName"]

ProfileName = Literal["engaged", "steady", "crammer", "struggling", "dropout"]


@dataclass(frozen=True, slots=True)
class Profile:
    """Behaviour parameters shared by every learner of one kind."""

    name: ProfileName
    sessions_per_week: float  # baseline study sessions in an ordinary week
    focus: float  # mean extra activities per session beyond the first
    cram: float  # how strongly a coming deadline raises the session rate
    prior_mastery: float  # mean latent mastery of a skill before the course
    learn_rate: float  # multiplier on the per-practice learning probability
    completion: float  # chance of finishing a video or reading once started
    forum: float  # chance of writing in the forum during a session
    exam_show: float  # chance of sitting an exam while still enrolled
    dropout: float  # chance of leaving the course before its end
    slip: float  # chance of answering wrongly despite knowing the skill


PROFILES: Final[dict[ProfileName, Profile]] = {
    p.name: p
    for p in (
        Profile("engaged", 6.0, 3.0, 0.5, 0.35, 1.4, 0.95, 0.35, 0.99, 0.02, 0.05),
        Profile("steady", 4.0, 2.0, 0.8, 0.25, 1.0, 0.85, 0.15, 0.95, 0.06, 0.08),
        Profile("crammer", 1.5, 2.5, 4.0, 0.25, 0.9, 0.7, 0.08, 0.9, 0.1, 0.12),
        Profile("struggling", 3.0, 1.5, 1.0, 0.08, 0.5, 0.6, 0.1, 0.75, 0.25, 0.15),
        Profile("dropout", 3.5, 1.5, 0.8, 0.15, 0.8, 0.6, 0.05, 0.8, 1.0, 0.12),
    )
}

DEFAULT_MIX: Final[dict[ProfileName, float]] = {
    "engaged": 0.2,
    "steady": 0.35,
    "crammer": 0.15,
    "struggling": 0.15,
    "dropout": 0.15,
}
