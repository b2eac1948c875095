"""How a learner works through each kind of activity, statement by statement."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Final

from edupulse.sim.course import Activity
from edupulse.sim.session import Session
from edupulse.sim.statements import duration
from edupulse.sim.vocabulary import VIDEO_TIME_EXTENSION

__all__ = ["BEHAVIOURS", "answer", "read", "sit_exam", "submit", "take_quiz", "watch", "write_post"]

QUIZ_PASS: Final = 0.6
EXAM_PASS: Final = 0.5
ASSIGNMENT_PASS: Final = 0.5


def _at(position: float) -> dict[str, object]:
    return {"extensions": {VIDEO_TIME_EXTENSION: round(position, 1)}}


def watch(s: Session, video: Activity) -> None:
    """Play a video, with pauses and seeks, to the end or until giving up."""
    rng, length = s.rng, video.length_s
    rate = rng.choice((1.0, 1.0, 1.0, 1.25, 1.5))
    goal = length if rng.random() < s.learner.profile.completion else length * rng.uniform(0.1, 0.9)
    pos = since_play = watched = 0.0
    s.emit("played", video, _at(pos))
    while pos < goal and not s.stopped:
        step = min(goal - pos, rng.uniform(60.0, 400.0))
        s.wait(step / rate)
        pos, since_play, watched = pos + step, since_play + step / rate, watched + step / rate
        if pos >= goal:
            break
        if rng.random() < 0.25:
            pos = min(max(0.0, pos + rng.uniform(-90.0, 120.0)), goal)
            s.emit("seeked", video, _at(pos))
            continue
        s.emit("paused", video, {"duration": duration(since_play), **_at(pos)})
        s.wait(rng.uniform(5.0, 180.0))
        since_play = 0.0
        s.emit("played", video, _at(pos))
    if goal >= length:
        s.emit("completed", video, {"duration": duration(watched), "completion": True, **_at(length)})
    else:
        s.emit("paused", video, {"duration": duration(since_play), **_at(pos)})
    s.learner.practise(video.skills, 0.5 * min(1.0, watched * rate / length))


def read(s: Session, reading: Activity) -> None:
    """Open a reading and spend time on it."""
    rng = s.rng
    done = rng.random() < s.learner.profile.completion
    share = 1.0 if done else rng.uniform(0.1, 0.6)
    spent = reading.length_s * rng.uniform(0.5, 1.5) * share
    s.emit("viewed", reading)
    s.wait(spent)
    s.emit("experienced", reading, {"duration": duration(spent), "completion": done})
    s.learner.practise(reading.skills, 0.3 * share)


def answer(s: Session, question: Activity) -> float:
    """Answer a question (right with a mastery-dependent chance); returns the scaled score."""
    rng, learner = s.rng, s.learner
    p = learner.p_correct(question.skills, question.difficulty)
    right = sum(rng.random() < p for _ in range(question.parts))
    scaled = right / question.parts
    spent = question.length_s * rng.uniform(0.5, 1.5) * (1.6 - p)
    s.wait(spent)
    result = {"success": scaled == 1.0, "score": {"scaled": scaled}, "duration": duration(spent)}
    s.emit("answered", question, result, question.skills)
    learner.practise(question.skills, 1.0)
    return scaled


def _assessment(s: Session, test: Activity, pass_mark: float) -> None:
    s.emit("attempted", test)
    began, scores = s.t, []
    for question in test.items:
        scores.append(answer(s, question))
        if s.stopped:
            return
    scaled = round(sum(scores) / len(scores), 3)
    result = {"success": scaled >= pass_mark, "score": {"scaled": scaled}, "completion": True,
              "duration": duration(s.t - began)}  # fmt: skip
    s.emit("passed" if scaled >= pass_mark else "failed", test, result)


def take_quiz(s: Session, quiz: Activity) -> None:
    """Attempt a quiz: answer each question, then pass or fail it."""
    _assessment(s, quiz, QUIZ_PASS)


def sit_exam(s: Session, exam: Activity) -> None:
    """Sit an exam: answer each question, then pass or fail it."""
    _assessment(s, exam, EXAM_PASS)


def submit(s: Session, assignment: Activity) -> None:
    """Open an assignment, work on it and submit it for a mastery-dependent score."""
    rng, learner = s.rng, s.learner
    s.emit("viewed", assignment)
    spent = assignment.length_s * rng.uniform(0.6, 1.4)
    s.wait(spent)
    known = sum(learner.mastery[k] for k in assignment.skills) / len(assignment.skills)
    quality = math.pow(known, 2.0**assignment.difficulty)
    scaled = round(min(1.0, max(0.0, 0.15 + 0.85 * quality + rng.gauss(0.0, 0.08))), 3)
    result = {"success": scaled >= ASSIGNMENT_PASS, "score": {"scaled": scaled}, "completion": True,
              "duration": duration(spent)}  # fmt: skip
    s.emit("submitted", assignment, result, assignment.skills)
    learner.practise(assignment.skills, 2.0)


def write_post(s: Session, forum: Activity) -> None:
    """Write a new post or comment on someone else's in a module's forum."""
    s.wait(s.rng.uniform(120.0, 900.0))
    s.emit("posted" if s.rng.random() < 0.6 else "commented", forum)


BEHAVIOURS: Final[dict[str, Callable[[Session, Activity], None]]] = {
    "video": watch,
    "reading": read,
    "quiz": take_quiz,
    "exam": sit_exam,
    "assignment": submit,
    "forum": write_post,
}
