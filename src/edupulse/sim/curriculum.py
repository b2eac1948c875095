"""Build a random but plausible course: a module a week, assignments, a midterm and a final."""

from __future__ import annotations

import random
from collections import Counter

from edupulse.sim.catalog import DOMAINS, course_code, skill_title
from edupulse.sim.course import Activity, Course, Deadline
from edupulse.sim.vocabulary import BASE_IRI, ActivityKind

__all__ = ["build_course"]

_EXAM_QUESTIONS = 10


class _Builder:
    """Numbers activities per kind and draws their sizes from one random generator."""

    def __init__(self, rng: random.Random, course_iri: str) -> None:
        self.rng = rng
        self.course_iri = course_iri
        self.counts: Counter[str] = Counter()

    def iri(self, kind: ActivityKind) -> str:
        """The IRI of the next activity of a kind: ``.../courses/algebra-101/video/3``."""
        self.counts[kind] += 1
        return f"{self.course_iri}/{kind}/{self.counts[kind]}"

    def question(self, module: int, day: int, skills: tuple[str, ...], prior: tuple[str, ...]) -> Activity:
        rng = self.rng
        main = rng.choice(skills)
        tags = (main,) if not prior or rng.random() > 0.25 else (main, rng.choice(prior))
        parts = 2 if rng.random() < 0.2 else 1
        return Activity(
            "question", self.iri("question"), f"Question on {skill_title(main)}", module, day, skills=tags,
            length_s=rng.uniform(20, 90) * parts, difficulty=rng.uniform(-1, 1), parts=parts,
        )  # fmt: skip

    def quiz(self, module: int, day: int, skills: tuple[str, ...], prior: tuple[str, ...]) -> Activity:
        questions = tuple(self.question(module, day, skills, prior) for _ in range(self.rng.randint(3, 6)))
        covered = tuple(sorted({s for q in questions for s in q.skills}))
        title = f"Week {module + 1} quiz"
        return Activity("quiz", self.iri("quiz"), title, module, day, skills=covered, items=questions)


def _module_skills(skills: tuple[str, ...], k: int, modules: int) -> tuple[str, ...]:
    lo = k * len(skills) // modules
    hi = max(lo + 1, (k + 1) * len(skills) // modules)
    return skills[lo:hi]


def _weekday_on_or_before(day: int, first_weekday: int) -> int:
    while day > 0 and (first_weekday + day) % 7 >= 5:
        day -= 1
    return day


def _module(b: _Builder, k: int, skills: tuple[str, ...], prior: tuple[str, ...]) -> list[Activity]:
    rng, day, names = b.rng, 7 * k, ", ".join(skill_title(s) for s in skills)
    video = [
        Activity("video", b.iri("video"), f"Week {k + 1} video {i + 1}: {skill_title(s)}", k, day,
                 skills=(s,), length_s=rng.uniform(240, 900))
        for i, s in enumerate((skills[0], skills[-1]))
    ]  # fmt: skip
    reading = Activity("reading", b.iri("reading"), f"Week {k + 1} reading: {names}", k, day,
                       skills=skills, length_s=rng.uniform(300, 1200))  # fmt: skip
    return [video[0], reading, video[1], b.quiz(k, day, skills, prior)]


def _assignment(b: _Builder, k: int, skills: tuple[str, ...], due: int) -> Activity:
    n = b.counts["assignment"] + 1
    return Activity(
        "assignment", b.iri("assignment"), f"Assignment {n}", k, 7 * k, skills=skills,
        length_s=b.rng.uniform(1800, 7200), difficulty=b.rng.uniform(-0.5, 0.5), due_day=due,
    )  # fmt: skip


def _exam(b: _Builder, title: str, day: int, module: int, skills: tuple[str, ...]) -> Activity:
    qs = tuple(b.question(module, day, (s,), ()) for s in b.rng.choices(skills, k=_EXAM_QUESTIONS))
    return Activity("exam", b.iri("exam"), title, module, day, skills=skills, items=qs, length_s=3600.0,
                    due_day=day)  # fmt: skip


def _exams(b: _Builder, skills: tuple[str, ...], *, days: int, first_weekday: int) -> list[Activity]:
    """A midterm on the skills taught before mid-course (if the course has 4+ weeks), and a final."""
    n_mod = max(1, days // 7)
    exams = []
    if n_mod >= 4:
        mid = _weekday_on_or_before(days // 2, first_weekday)
        covered = skills[: skills.index(_module_skills(skills, mid // 7 - 1, n_mod)[-1]) + 1]
        exams.append(_exam(b, "Midterm exam", mid, mid // 7, covered))
    final = _weekday_on_or_before(days - 1, first_weekday)
    exams.append(_exam(b, "Final exam", final, n_mod - 1, skills))
    return exams


def build_course(rng: random.Random, index: int, *, skills: int, days: int, first_weekday: int) -> Course:
    """The index-th course of a simulation; ``first_weekday`` is the weekday of day 0 (Monday=0)."""
    domain, course_id = course_code(index)
    iri = f"{BASE_IRI}/{course_id}"
    topics = DOMAINS[domain]
    skill_ids = tuple(f"{domain}.{topics[i]}" for i in sorted(rng.sample(range(len(topics)), skills)))
    b = _Builder(rng, iri)
    n_mod = max(1, days // 7)
    modules: list[Activity] = []
    path: list[Activity] = []
    forums: list[Activity] = []
    deadlines: list[Deadline] = []
    for k in range(n_mod):
        own = _module_skills(skill_ids, k, n_mod)
        prior = skill_ids[: skill_ids.index(own[0])]
        modules.append(Activity("module", b.iri("module"), f"Week {k + 1}", k, 7 * k, skills=own))
        forums.append(Activity("forum", b.iri("forum"), f"Week {k + 1} discussion", k, 7 * k))
        path.extend(_module(b, k, own, prior))
        if k % 2 == 1:
            due = _weekday_on_or_before(min(7 * k + 11, days - 2), first_weekday)
            path.append(_assignment(b, k, skill_ids[: skill_ids.index(own[-1]) + 1][-3:], due))
            deadlines.append(Deadline(due, 1.0, path[-1]))
    exams = _exams(b, skill_ids, days=days, first_weekday=first_weekday)
    deadlines.extend(Deadline(e.release_day, 3.0 if e is exams[-1] else 2.0, e) for e in exams)
    title = f"{domain.title()} {course_id.rsplit('-', 1)[-1]}"
    return Course(
        course_id, iri, title, skill_ids, tuple(modules), tuple(path), tuple(forums),
        tuple(exams), tuple(sorted(deadlines, key=lambda d: d.day)),
    )  # fmt: skip
