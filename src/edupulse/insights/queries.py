"""Read-side queries over the engagement views, shared by the API and the CLI."""

from __future__ import annotations

from collections import Counter
from typing import Any, Literal

from edupulse.errors import NotFoundError
from edupulse.insights.engagement import COURSE_VIEW, LEARNER_VIEW
from edupulse.insights.mastery import MASTERY_VIEW
from edupulse.insights.windows import DAY_US
from edupulse.stream.store.base import Row, StateStore

__all__ = ["course_learners", "course_summary", "learner_mastery", "learner_metrics", "list_courses"]

SortKey = Literal["last_seen", "events", "active_days", "mean_score", "attempts", "time_on_task"]
_SORT_COLUMNS = {
    "last_seen": "last_seen_us",
    "events": "events",
    "active_days": "active_days",
    "mean_score": "mean_score",
    "attempts": "attempts",
    "time_on_task": "time_on_task_s",
}
_SUMMED = ("events", "learners", "attempts", "score_sum", "scored", "time_on_task_s", "late_events")


def _merge(rows: list[Row]) -> dict[str, Any]:
    totals: dict[str, Any] = dict.fromkeys(_SUMMED, 0)
    daily: Counter[str] = Counter()
    for row in rows:
        for k in _SUMMED:
            totals[k] += row[k] or 0
        daily.update(row["daily"] or {})
    totals["mean_score"] = round(totals["score_sum"] / totals["scored"], 6) if totals["scored"] else None
    totals["time_on_task_s"] = round(totals["time_on_task_s"], 6)
    totals["daily"] = dict(sorted(daily.items()))
    del totals["score_sum"]
    return totals


def list_courses(store: StateStore, tenant: str) -> list[dict[str, Any]]:
    """Every course of a tenant with its totals, busiest first."""
    by_course: dict[str, list[Row]] = {}
    for row in store.select(COURSE_VIEW.name, {"tenant": tenant}):
        by_course.setdefault(row["course"], []).append(row)
    courses = []
    for course, rows in by_course.items():
        totals = _merge(rows)
        del totals["daily"]
        courses.append({"course": course, **totals})
    return sorted(courses, key=lambda c: (-c["events"], c["course"]))


def course_summary(store: StateStore, tenant: str, course: str, *, window_days: int = 7) -> dict[str, Any]:
    """A course's totals, daily activity, and learners active in the trailing window.

    The window ends at the course's newest event (not the wall clock), so a replayed
    or imported history reads the same as it did live.
    """
    rows = store.select(COURSE_VIEW.name, {"tenant": tenant, "course": course})
    if not rows:
        raise NotFoundError(f"no events for course {course!r} in tenant {tenant!r}")
    newest = store.select(
        LEARNER_VIEW.name, {"tenant": tenant, "course": course}, order_by="last_seen_us", descending=True, limit=1
    )
    as_of = newest[0]["last_seen_us"] if newest else 0
    active = store.count(
        LEARNER_VIEW.name,
        {"tenant": tenant, "course": course},
        at_least={"last_seen_us": as_of - window_days * DAY_US},
    )
    return {"course": course, "as_of_us": as_of, f"active_learners_{window_days}d": active, **_merge(rows)}


def course_learners(
    store: StateStore,
    tenant: str,
    course: str,
    *,
    sort: SortKey = "last_seen",
    descending: bool = True,
    page: int = 1,
    page_size: int = 50,
) -> dict[str, Any]:
    """One page of a course's learners, ranked (by default most recently active first)."""
    where = {"tenant": tenant, "course": course}
    total = store.count(LEARNER_VIEW.name, where)
    rows = store.select(
        LEARNER_VIEW.name,
        where,
        order_by=_SORT_COLUMNS[sort],
        descending=descending,
        limit=page_size,
        offset=(page - 1) * page_size,
    )
    for row in rows:
        row.pop("activity", None)
    return {"course": course, "total": total, "page": page, "page_size": page_size, "learners": rows}


def learner_metrics(store: StateStore, tenant: str, learner: str, course: str | None = None) -> list[Row]:
    """A learner's engagement in one course, or in every course they have."""
    where = {"tenant": tenant, "learner": learner}
    if course is not None:
        where["course"] = course
    rows = store.select(LEARNER_VIEW.name, where, order_by="course")
    if not rows:
        scope = f" in course {course!r}" if course is not None else ""
        raise NotFoundError(f"no events for learner {learner!r}{scope}")
    return rows


def learner_mastery(store: StateStore, tenant: str, learner: str, skill: str | None = None) -> list[Row]:
    """A learner's mastery of every skill they attempted (or of one), by skill."""
    where = {"tenant": tenant, "learner": learner}
    if skill is not None:
        where["skill"] = skill
    rows = store.select(MASTERY_VIEW.name, where, order_by="skill")
    if not rows:
        scope = f" on skill {skill!r}" if skill is not None else ""
        raise NotFoundError(f"no graded attempts of learner {learner!r}{scope}")
    return rows
