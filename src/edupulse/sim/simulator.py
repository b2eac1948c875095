"""The course simulator: deterministic synthetic xAPI activity for demos and load tests."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from itertools import islice

from edupulse.sim.config import SimConfig
from edupulse.sim.course import Course
from edupulse.sim.run import run
from edupulse.sim.statements import XapiStatement
from edupulse.sim.streaming import batched, by_event_time, by_rate
from edupulse.sim.truth import LearnerTruth, snapshot
from edupulse.sim.world import World, build_world

__all__ = ["CourseSimulator"]

logger = logging.getLogger(__name__)


class CourseSimulator:
    """Generates the learner activity of several courses as xAPI statements.

    Each call of :meth:`statements` starts a fresh run from the seed, so equal configs give
    equal statements. :attr:`truth` describes the learners of the latest run.
    """

    def __init__(self, config: SimConfig | None = None) -> None:
        self.config = config if config is not None else SimConfig()
        self._world: World = build_world(self.config)

    @property
    def courses(self) -> tuple[Course, ...]:
        """The simulated courses, with their skills, activities and deadlines."""
        return self._world.courses

    @property
    def truth(self) -> dict[str, LearnerTruth]:
        """Per learner id: profile, dropout time and latent mastery, as of the latest run."""
        return {learner.id: snapshot(learner) for learner in self._world.learners}

    def statements(self) -> Iterator[XapiStatement]:
        """Every statement of a fresh run over the whole simulated period, in event-time order."""
        world = build_world(self.config)
        self._world = world
        logger.debug("simulating %d learners in %d courses", len(world.learners), len(world.courses))
        count = 0
        for stmt in run(world):
            count += 1
            yield stmt
        logger.debug("simulation finished after %d statements", count)

    def take(self, n: int) -> list[XapiStatement]:
        """The first n statements of a fresh run."""
        return list(islice(self.statements(), n))

    def batches(self, batch_size: int) -> Iterator[list[XapiStatement]]:
        """A fresh run in lists of up to batch_size statements, as fast as they are made."""
        return batched(self.statements(), batch_size)

    def stream(self, *, rate_per_s: float | None = None, batch_size: int = 100) -> AsyncIterator[list[XapiStatement]]:
        """A fresh run in batches, paced at rate_per_s statements per second or, when None,
        by event time at ``config.speed`` simulated seconds per real second."""
        if rate_per_s is not None:
            return by_rate(self.statements(), rate_per_s, batch_size)
        return by_event_time(self.statements(), self.config.speed, batch_size)
