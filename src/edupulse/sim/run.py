"""The day-by-day loop that turns a world into a time-ordered stream of statements."""

from __future__ import annotations

import math
import random
from bisect import bisect_left
from collections.abc import Iterator
from operator import itemgetter
from typing import Final

from edupulse.sim.activities import BEHAVIOURS
from edupulse.sim.course import Activity
from edupulse.sim.learner import Learner
from edupulse.sim.planner import plan_session
from edupulse.sim.rhythm import WEEKDAY_WEIGHTS, poisson, session_start
from edupulse.sim.session import Session
from edupulse.sim.statements import Draft, StatementFactory, XapiStatement, duration
from edupulse.sim.world import World

__all__ = ["run"]

_DAY: Final = 86_400.0
_FIRST_EXAM_HOUR: Final = 9
_EXAM_HOURS: Final = 7
_by_time = itemgetter(0)


class _Day:
    """Writes every session of one day into a shared buffer."""

    def __init__(self, world: World, day: int, out: list[Draft]) -> None:
        self.world, self.day, self.out = world, day, out
        self.start = world.origin + day * _DAY
        self.weekday_weight = WEEKDAY_WEIGHTS[(world.first_weekday + day) % 7]
        self.exams = {c.id: e for c in world.courses for e in c.exams if e.release_day == day}

    def sessions(self, learner: Learner) -> list[tuple[float, Activity | None]]:
        """Start times of the learner's sessions today, with the exam sat in one if any."""
        rng, profile = self.world.rng, learner.profile
        pull = 1.0 + profile.cram * self.world.pressure[learner.course.id][self.day]
        presence = learner.presence(self.start + _DAY / 2)
        mean = profile.sessions_per_week / 7.0 * learner.scale * self.weekday_weight * pull * presence
        plan: list[tuple[float, Activity | None]] = [
            (session_start(rng, self.start), None) for _ in range(poisson(rng, mean))
        ]
        exam = self.exams.get(learner.course.id)
        if exam is not None and presence > 0 and rng.random() < profile.exam_show:
            hour = _FIRST_EXAM_HOUR + _EXAM_HOURS * rng.random()
            plan.append((self.start + 3600.0 * hour, exam))
        plan.sort(key=_by_time)
        return plan

    def learner_day(self, learner: Learner) -> None:
        rng, world = self.world.rng, self.world
        stop = min(world.end, learner.dropout_at if learner.dropout_at is not None else math.inf)
        for planned, exam in self.sessions(learner):
            start = max(planned, learner.busy_until + rng.uniform(600.0, 3600.0))
            if start < world.start or start >= stop:
                continue
            todo = [exam] if exam is not None else plan_session(rng, learner, self.day)
            session = Session(rng, learner, start=start, stop=stop, out=self.out)
            _run_session(session, todo)


def _run_session(s: Session, todo: list[Activity]) -> None:
    learner = s.learner
    module = learner.course.modules[todo[0].module]
    s.emit("initialized", module)
    for activity in todo:
        s.wait(s.rng.uniform(3.0, 40.0))
        BEHAVIOURS[activity.kind](s, activity)
        if s.stopped:
            break
    s.wait(s.rng.uniform(2.0, 30.0))
    s.emit("terminated", module, {"duration": duration(s.t - s.start)})
    learner.busy_until = s.t


def run(world: World) -> Iterator[XapiStatement]:
    """Every statement of the world, in event-time order (ties in a fixed order).

    A day is simulated into drafts, which are sorted; those of that day become statements
    (with ids from their own random stream), the rest wait for the next day.
    """
    build = StatementFactory(random.Random(world.rng.getrandbits(64))).build  # noqa: S311 - not security
    pending: list[Draft] = []
    for day in range(world.days):
        today = _Day(world, day, pending)
        for learner in world.learners:
            today.learner_day(learner)
        pending.sort(key=_by_time)
        cut = bisect_left(pending, int((today.start + _DAY) * 1000.0), key=_by_time)
        for draft in pending[:cut]:
            yield build(draft)
        pending = pending[cut:]
    for draft in pending:
        yield build(draft)
