"""When learners study: a weekly rhythm, evening peaks and spikes before deadlines."""

from __future__ import annotations

import math
import random
from itertools import accumulate
from typing import Final

from edupulse.sim.course import Deadline

__all__ = ["HOUR_WEIGHTS", "WEEKDAY_WEIGHTS", "deadline_pressure", "poisson", "session_start"]

_RAW_WEEKDAYS: Final = (1.1, 1.15, 1.1, 1.05, 0.9, 0.5, 0.6)  # Monday .. Sunday
# Session rate multiplier per weekday (Monday=0); the mean over a week is 1.
WEEKDAY_WEIGHTS: Final = tuple(7 * w / sum(_RAW_WEEKDAYS) for w in _RAW_WEEKDAYS)

# Relative chance that a session starts in each hour of the day: a late-morning and an evening peak.
HOUR_WEIGHTS: Final = (
    0.15, 0.08, 0.04, 0.02, 0.02, 0.04, 0.15, 0.4, 0.8, 1.1, 1.2, 1.1,
    0.9, 1.0, 1.1, 1.1, 1.2, 1.4, 1.7, 2.1, 2.5, 2.3, 1.6, 0.6,
)  # fmt: skip
_CUM_HOURS: Final = tuple(accumulate(HOUR_WEIGHTS))
_HOURS: Final = tuple(range(24))

_HORIZON_DAYS: Final = 7  # a deadline starts to pull this many days ahead
_RAMP_DAYS: Final = 2.0  # e-folding time of the pull


def session_start(rng: random.Random, day_start: float) -> float:
    """A session start time (epoch seconds) on the day beginning at day_start."""
    hour = rng.choices(_HOURS, cum_weights=_CUM_HOURS)[0]
    return day_start + 3600.0 * (hour + rng.random())


def deadline_pressure(deadlines: tuple[Deadline, ...], days: int) -> tuple[float, ...]:
    """Per day, how hard coming deadlines pull: sum of weight * exp(-days left / ramp)."""
    pressure = [0.0] * days
    for deadline in deadlines:
        for left in range(_HORIZON_DAYS + 1):
            day = deadline.day - left
            if 0 <= day < days:
                pressure[day] += deadline.weight * math.exp(-left / _RAMP_DAYS)
    return tuple(pressure)


def poisson(rng: random.Random, mean: float) -> int:
    """A Poisson-distributed count (Knuth's method; a normal approximation for large means)."""
    if mean <= 0.0:
        return 0
    if mean > 30.0:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, k, p = math.exp(-mean), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k
