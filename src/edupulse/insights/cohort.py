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

The cohort is summarised once (``Cohort.of``: the known assessments and, per feature,
the sorted values of the enrolled learners) and each learner is placed in it
(``Cohort.place``). Training sets place every learner in the cohort as of the same
cut-off; the live risk operator (``insights.risk``) keeps a summary per course and day
and places each rescored learner in it, with the same two functions.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Mapping

import msgspec

from edupulse.insights.features import DAY_US, Features, FeatureState, features_as_of, registered_at

__all__ = ["PERCENTILE_OF", "Cohort", "cohort_features"]

PERCENTILE_OF = ("mean_score", "activity", "submitted", "weighted_score", "registration_day")


class Cohort(msgspec.Struct, array_like=True, gc=False):
    """A course's cohort as of ``cut_us``: what placing a learner in it needs."""

    cut_us: int
    due: dict[str, int]  # assessment -> due time, for those someone submitted before the cut-off
    most_reached: float  # the most objects an enrolled learner reached
    values: dict[str, list[float]]  # feature -> the enrolled learners' values, sorted

    @classmethod
    def of(cls, states: Mapping[str, FeatureState], cut_us: int, rows: Mapping[str, Features] | None = None) -> Cohort:
        """The cohort of ``states`` (by learner) as of ``cut_us``; ``rows``: their features
        then, if known (else computed for the enrolled learners, the only ones that count)."""
        enrolled = [learner for learner, s in states.items() if registered_at(s, cut_us)]
        if rows is None:
            rows = {lr: features_as_of(states[lr], cut_us) for lr in enrolled}
        due = {
            obj: a.due_us
            for s in states.values()
            for obj, a in s.attempts.items()
            if a.time_us < cut_us and a.due_us is not None
        }
        most = max((_num(rows[lr], "objects_reached") or 0.0 for lr in enrolled), default=0.0)
        values = {
            name: sorted(v for lr in enrolled if (v := _num(rows[lr], name)) is not None) for name in PERCENTILE_OF
        }
        return cls(cut_us, due, most, values)

    def place(self, row: Features, state: FeatureState, cut_us: int) -> None:
        """Add the cohort features to ``row``, the learner's features as of ``cut_us``."""
        done = {obj for obj, a in state.attempts.items() if a.time_us < cut_us}
        over = {obj for obj, due in self.due.items() if due + DAY_US <= cut_us}
        row["missed"] = float(len(over - done))
        reached = _num(row, "objects_reached") or 0.0
        row["material_share"] = reached / self.most_reached if self.most_reached else None
        for name in PERCENTILE_OF:
            ordered, value = self.values[name], _num(row, name)
            row[f"{name}_percentile"] = _percentile(ordered, value) if value is not None and ordered else None


def cohort_features(states: Mapping[str, FeatureState], cut_us: int) -> dict[str, Features]:
    """Features of every learner of one course (``states`` by learner) as of ``cut_us``."""
    rows = {learner: features_as_of(s, cut_us) for learner, s in states.items()}
    cohort = Cohort.of(states, cut_us, rows)
    for learner, row in rows.items():
        cohort.place(row, states[learner], cut_us)
    return rows


def _num(row: Features, name: str) -> float | None:
    value = row.get(name)
    return float(value) if isinstance(value, int | float) else None


def _percentile(ordered: list[float], value: float) -> float:
    below = bisect_left(ordered, value)
    ties = bisect_right(ordered, value) - below
    return (below + ties / 2) / len(ordered)
