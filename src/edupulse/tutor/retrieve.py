"""Passages for a learner: their weakest skills and recent failures, within one course.

The learner's context is read from the live ``learner_skill`` view (the mastery
operator's), so it follows their events as they are processed. Only skills some
passage of the course carries count. With a question, the passages closest to it
win, and those on a focus skill get ``focus_boost`` added; without one, each focus
skill in turn contributes its passages closest to the skill's description.
"""

from __future__ import annotations

from typing import Any

from edupulse.errors import NotFoundError
from edupulse.insights.mastery import MASTERY_VIEW
from edupulse.stream.store.base import Row, StateStore
from edupulse.tutor.index.base import Hit
from edupulse.tutor.tutor import Tutor

__all__ = ["focus", "retrieve"]


def focus(tutor: Tutor, rows: list[Row], course_skills: set[str]) -> tuple[list[Row], list[Row]]:
    """(weakest skills, skills whose latest attempt failed, most recent first) among ``course_skills``."""
    settings = tutor.settings
    mine = [r for r in rows if r["skill"] in course_skills]
    weak = sorted((r for r in mine if r["p_mastery"] < settings.mastered), key=lambda r: (r["p_mastery"], r["skill"]))
    failed = sorted((r for r in mine if _latest_failed(r)), key=lambda r: (-r["last_attempt_us"], r["skill"]))
    return weak[: settings.weak_skills], failed[: settings.recent_failures]


def _latest_failed(row: Row) -> bool:
    """Whether the learner's latest attempt on the skill failed; a row written before the
    view recorded it (``last_failed`` NULL) counts if any attempt on the skill failed."""
    last = row.get("last_failed")
    return bool(last) if last is not None else bool(row["attempts"] > row["correct"])


def _by_question(tutor: Tutor, where: tuple[str, str], question: str, skills: list[str], k: int) -> list[Hit]:
    tenant, course = where
    vector = tutor.embed_question(question)
    hits = tutor.index.search(tenant, course, vector, max(k * 4, 20))
    boost = tutor.settings.focus_boost
    wanted = set(skills)
    ranked = [Hit(h.chunk, h.score + (boost if wanted.intersection(h.chunk.skills) else 0.0)) for h in hits]
    ranked.sort(key=lambda h: -h.score)
    return ranked[:k]


def _by_skills(tutor: Tutor, tenant: str, course: str, skills: list[str], k: int) -> list[Hit]:
    per_skill = [
        tutor.index.search(tenant, course, tutor.embed_description(tutor.describe(s)), k, skills=[s]) for s in skills
    ]
    out: list[Hit] = []
    seen: set[str] = set()
    for rank in range(k):
        for hits in per_skill:
            if rank < len(hits) and hits[rank].chunk.id not in seen and len(out) < k:
                seen.add(hits[rank].chunk.id)
                out.append(hits[rank])
    return out


def _passage(hit: Hit, focus_skills: set[str]) -> dict[str, Any]:
    chunk = hit.chunk
    return {
        "text": chunk.text,
        "score": round(hit.score, 6),
        "skills": list(chunk.skills),
        "focus_skills": sorted(focus_skills.intersection(chunk.skills)),
        "citation": {"source": chunk.source, "section": chunk.section, "passage": chunk.ordinal, "id": chunk.id},
    }


def retrieve(
    tutor: Tutor,
    store: StateStore,
    *,
    tenant: str,
    learner: str,
    course: str,
    question: str | None = None,
    k: int | None = None,
) -> dict[str, Any]:
    """The passages for ``learner`` in ``course`` (and their question), with citations."""
    k = k or tutor.settings.passages
    course_skills = tutor.index.skills(tenant, course)
    if not course_skills and tutor.index.count(tenant, course) == 0:
        raise NotFoundError(f"no content for course {course!r}: import it with `edupulse content import PATH --course`")
    rows = store.select(MASTERY_VIEW.name, {"tenant": tenant, "learner": learner})
    weak, failed = focus(tutor, rows, course_skills)
    skills = list(dict.fromkeys([r["skill"] for r in failed] + [r["skill"] for r in weak]))
    if question:
        hits = _by_question(tutor, (tenant, course), question, skills, k)
    else:
        hits = _by_skills(tutor, tenant, course, skills, k)
    wanted = set(skills)
    return {
        "learner": learner,
        "course": course,
        "question": question,
        "weak_skills": [{"skill": r["skill"], "p_mastery": r["p_mastery"]} for r in weak],
        "recent_failures": [
            {"skill": r["skill"], "failed": r["attempts"] - r["correct"], "last_attempt_us": r["last_attempt_us"]}
            for r in failed
        ],
        "passages": [_passage(h, wanted) for h in hits],
    }
