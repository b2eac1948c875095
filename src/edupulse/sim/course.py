"""The shape of a simulated course: modules of activities, skills and deadlines."""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field

from edupulse.sim.vocabulary import ActivityKind

__all__ = ["Activity", "Course", "Deadline"]


@dataclass(frozen=True, slots=True)
class Activity:
    """One thing a learner can do in a course: a video, a reading, a quiz, a question..."""

    kind: ActivityKind
    iri: str
    title: str
    module: int
    release_day: int
    skills: tuple[str, ...] = ()
    length_s: float = 0.0  # running time, reading time or expected effort
    difficulty: float = 0.0  # -1 (easy) .. 1 (hard)
    parts: int = 1  # sub-answers of a question, for partial credit
    items: tuple[Activity, ...] = ()  # the questions of a quiz or an exam
    due_day: int | None = None


@dataclass(frozen=True, slots=True)
class Deadline:
    """An assessment due on a day; the weight scales the study spike before it."""

    day: int
    weight: float
    activity: Activity


@dataclass(frozen=True, slots=True)
class Course:
    """A course: its modules, the learning path through them, forums, exams and deadlines."""

    id: str
    iri: str
    title: str
    skills: tuple[str, ...]
    modules: tuple[Activity, ...]
    path: tuple[Activity, ...]
    forums: tuple[Activity, ...]
    exams: tuple[Activity, ...]
    deadlines: tuple[Deadline, ...]
    _release_days: tuple[int, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_release_days", tuple(a.release_day for a in self.path))

    def released(self, day: int) -> int:
        """How many activities of the learning path are open on a day (counted from 0)."""
        return bisect_right(self._release_days, day)

    def module_at(self, day: int) -> int:
        """The newest module open on a day."""
        return max(0, min(day // 7, len(self.modules) - 1))
