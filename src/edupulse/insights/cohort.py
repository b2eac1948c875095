"""Where a learner stands in the course cohort, as of a cut-off, from the features states.

Learners of a course may live in different partitions, so what needs the whole course
is computed when read, from the states the feature operator keeps, with the same
cut-off rule: only facts timed before the cut-off count.

- ``missed``: assessments of the course whose due day is over by the cut-off (known
  because someone submitted them before it) that the learner has not submitted;
- ``material_share``: objects reached over the most any enrolled learner reached;
- ``*_percentile``: the share of the enrolled cohort below the learner (ties count
  half), for the mean score, the activity, the number of submissions and the day of
  registration.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Mapping

from edupulse.insights.features import DAY_US, Features, FeatureState, features_as_of, registered_at

__all__ = ["PERCENTILE_OF", "cohort_features"]

PERCENTILE_OF = ("mean_score", "activity", "submitted", "weighted_score", "registration_day")


def cohort_features(states: Mapping[str, FeatureState], cut_us: int) -> dict[str, Features]:
    """Features of every learner of one course (``states`` by learner) as of ``cut_us``."""
    rows = {learner: features_as_of(s, cut_us) for learner, s in states.items()}
    enrolled = [learner for learner, s in states.items() if registered_at(s, cut_us)]
    due = {
        obj
        for s in states.values()
        for obj, a in s.attempts.items()
        if a.time_us < cut_us and a.due_us is not None and a.due_us + DAY_US <= cut_us
    }
    most = max((_num(rows[lr], "objects_reached") or 0.0 for lr in enrolled), default=0.0)
    for learner, row in rows.items():
        done = {obj for obj, a in states[learner].attempts.items() if a.time_us < cut_us}
        row["missed"] = float(len(due - done))

        reached = _num(row, "objects_reached") or 0.0
        row["material_share"] = reached / most if most else None
    for name in PERCENTILE_OF:
        values = sorted(v for lr in enrolled if (v := _num(rows[lr], name)) is not None)
        for row in rows.values():
            value = _num(row, name)
            row[f"{name}_percentile"] = _percentile(values, value) if value is not None and values else None
    return rows


def _num(row: Features, name: str) -> float | None:
    value = row.get(name)
    return float(value) if isinstance(value, int | float) else None


def _percentile(ordered: list[float], value: float) -> float:
    below = bisect_left(ordered, value)
    ties = bisect_right(ordered, value) - below
    return (below + ties / 2) / len(ordered)
