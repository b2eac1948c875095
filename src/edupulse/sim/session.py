"""One study session: a clock that moves forward and the statements written along the way."""

from __future__ import annotations

import random
from typing import Any

from edupulse.sim.course import Activity
from edupulse.sim.learner import Learner
from edupulse.sim.statements import Draft
from edupulse.sim.vocabulary import VerbWord

__all__ = ["Session"]


class Session:
    """Writes one learner's statements from start until the work is done or ``stop`` is reached.

    Reaching ``stop`` (the learner drops out, or the simulation ends) sets ``stopped``;
    later writes are ignored, as a learner who left mid-session sends nothing more.
    """

    def __init__(
        self,
        rng: random.Random,
        learner: Learner,
        *,
        start: float,
        stop: float,
        out: list[Draft],
    ) -> None:
        self.rng = rng
        self.learner = learner
        self.start = start
        self.t = start
        self.stop = stop
        self.stopped = False
        self._out = out

    def wait(self, seconds: float) -> None:
        """Let simulated time pass."""
        self.t += seconds

    def emit(
        self,
        verb: VerbWord,
        activity: Activity,
        result: dict[str, Any] | None = None,
        skills: tuple[str, ...] = (),
    ) -> None:
        """Write a statement at the current time, unless the session has been cut off."""
        if self.stopped or self.t >= self.stop:
            self.stopped = True
            return
        learner = self.learner
        self._out.append((int(self.t * 1000.0), learner.id, verb, activity, learner.course, result, skills))
        learner.statements += 1
        learner.counts[verb] = learner.counts.get(verb, 0) + 1
