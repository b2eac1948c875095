"""What a learner does in a session: the next steps of the learning path, reviews, the forum."""

from __future__ import annotations

import random

from edupulse.sim.course import Activity
from edupulse.sim.learner import Learner
from edupulse.sim.rhythm import poisson

__all__ = ["plan_session"]

_MAX_ACTIVITIES = 8


def _review(rng: random.Random, learner: Learner) -> Activity | None:
    """A video, reading or quiz already done, to go over again."""
    path = learner.course.path
    for _ in range(3):
        act = path[rng.randrange(learner.cursor)]
        if act.kind != "assignment":
            return act
    return None


def plan_session(rng: random.Random, learner: Learner, day: int) -> list[Activity]:
    """The activities of one session on a day: new material first, then reviews."""
    course, profile = learner.course, learner.profile
    wanted = min(_MAX_ACTIVITIES, 1 + poisson(rng, profile.focus))
    open_ = course.released(day)
    plan: list[Activity] = []
    for _ in range(wanted):
        if learner.cursor < open_:
            plan.append(course.path[learner.cursor])
            learner.cursor += 1
        elif learner.cursor > 0:
            act = _review(rng, learner)
            if act is not None:
                plan.append(act)
    if rng.random() < profile.forum or not plan:
        plan.append(course.forums[course.module_at(day)])
    return plan
