"""A simulated learner: engagement profile, latent skill mastery and progress in a course.

Mastery follows a BKT-like model in expectation: each practice moves the probability of
knowing a skill towards 1 by a learn rate, and an answer is right with probability
``guess + (1 - guess - slip) * mastery`` (harder questions need more mastery).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

from edupulse.sim.course import Course
from edupulse.sim.profiles import Profile

__all__ = ["DECAY_DAYS", "GUESS", "Learner", "new_learner"]

GUESS = 0.2  # chance of a right answer without knowing the skill
BASE_LEARN = 0.04  # chance that one full practice teaches an unknown skill
DECAY_DAYS = 10.0  # days over which a leaving learner's activity fades out
_DAY = 86_400.0


@dataclass(slots=True)
class Learner:
    """State of one learner in one course, changed as the simulation runs."""

    id: str
    course: Course
    profile: Profile
    scale: float  # personal multiplier on the profile's session rate
    dropout_at: float | None  # epoch seconds after which the learner is gone
    mastery: dict[str, float]
    aptitude: dict[str, float]  # personal multiplier on the learn rate of each skill
    cursor: int = 0  # next activity of the learning path
    busy_until: float = 0.0
    statements: int = 0
    counts: dict[str, int] = field(default_factory=dict)

    def p_correct(self, skills: tuple[str, ...], difficulty: float) -> float:
        """Chance of answering a question on these skills right."""
        known = sum(self.mastery[s] for s in skills) / len(skills)
        return GUESS + (1.0 - GUESS - self.profile.slip) * math.pow(known, 2.0**difficulty)

    def practise(self, skills: tuple[str, ...], weight: float) -> None:
        """Learn from practice; weight 1 is a full question or exercise."""
        rate = BASE_LEARN * self.profile.learn_rate * weight
        for s in skills:
            self.mastery[s] += rate * self.aptitude[s] * (1.0 - self.mastery[s])

    def presence(self, when: float) -> float:
        """1 while fully engaged, fading to 0 over the days before dropping out, then 0."""
        if self.dropout_at is None:
            return 1.0
        left = (self.dropout_at - when) / _DAY
        return 0.0 if left <= 0 else min(1.0, left / DECAY_DAYS)


def new_learner(
    rng: random.Random, learner_id: str, course: Course, profile: Profile, *, origin: float, days: int
) -> Learner:
    """A learner with mastery drawn around the profile's prior and, maybe, a dropout time."""
    a = 4.0 * profile.prior_mastery
    b = 4.0 * (1.0 - profile.prior_mastery)
    mastery = {s: rng.betavariate(a, b) for s in course.skills}
    aptitude = {s: rng.uniform(0.3, 1.7) for s in course.skills}
    dropout_at = None
    if rng.random() < profile.dropout:
        dropout_at = origin + rng.uniform(0.15, 0.8) * days * _DAY
    scale = rng.uniform(0.6, 1.4)
    return Learner(learner_id, course, profile, scale, dropout_at, mastery, aptitude)
