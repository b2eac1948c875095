"""The population of a simulation: its courses and their enrolled learners."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC

from edupulse.sim.config import SimConfig
from edupulse.sim.course import Course
from edupulse.sim.curriculum import build_course
from edupulse.sim.learner import Learner, new_learner
from edupulse.sim.profiles import PROFILES, ProfileName
from edupulse.sim.rhythm import deadline_pressure

__all__ = ["World", "build_world"]


@dataclass(slots=True)
class World:
    """Courses, learners and the timeline of one run; ``rng`` drives everything that follows."""

    rng: random.Random
    courses: tuple[Course, ...]
    learners: list[Learner]
    origin: float  # epoch seconds of midnight UTC on the first day
    start: float  # epoch seconds when the courses open
    end: float  # epoch seconds when the simulation ends
    days: int
    first_weekday: int  # weekday of day 0, Monday=0
    pressure: dict[str, tuple[float, ...]]  # per course id, deadline pull per day


def _profiles(rng: random.Random, config: SimConfig) -> list[ProfileName]:
    names = [n for n, w in config.profile_mix.items() if w > 0]
    weights = [config.profile_mix[n] for n in names]
    return rng.choices(names, weights=weights, k=config.learners_per_course)


def build_world(config: SimConfig) -> World:
    """The same world for the same config: courses first, then learners course by course."""
    rng = random.Random(config.seed)  # noqa: S311 - reproducible simulation, not security
    start_at = config.start.astimezone(UTC)
    midnight = start_at.replace(hour=0, minute=0, second=0, microsecond=0)
    origin, start = midnight.timestamp(), start_at.timestamp()
    end = start + config.days * 86_400.0
    days = int((end - origin) // 86_400.0) + 1
    weekday = midnight.weekday()
    courses = tuple(
        build_course(rng, i, skills=config.skills_per_course, days=config.days, first_weekday=weekday)
        for i in range(config.courses)
    )
    learners: list[Learner] = []
    for course in courses:
        for name in _profiles(rng, config):
            learner_id = f"learner-{len(learners) + 1:05d}"
            learners.append(new_learner(rng, learner_id, course, PROFILES[name], origin=start, days=config.days))
    pressure = {c.id: deadline_pressure(c.deadlines, days) for c in courses}
    return World(rng, courses, learners, origin, start, end, days, weekday, pressure)
