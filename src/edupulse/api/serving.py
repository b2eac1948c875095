"""``/api/v1``: engagement views for people and tools, each answer cut to the caller's scope.

Reads of a learner's rows or a course's learner list are audited (``Access.audit``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from edupulse.api.auth import Access, access
from edupulse.api.routing import Page, PageSize, as_asked
from edupulse.insights import queries
from edupulse.status import pipeline_status

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["insights"])
Reader = Annotated[Access, Depends(access("read"))]
Operator = Annotated[Access, Depends(access("everything"))]


@router.get("/courses", summary="Every course (that the caller teaches) with its totals")
def courses(request: Request, reader: Reader) -> list[dict[str, Any]]:
    rows = queries.list_courses(request.app.state.deployment.store, reader.caller.tenant)
    return [row for row in rows if reader.caller.sees_course(row.get("course"))]


@router.get("/course", summary="A course's totals, daily activity and active learners")
def course(request: Request, reader: Reader, course: Annotated[str, Query(min_length=1)]) -> dict[str, Any]:
    reader.caller.check_course(course)
    return queries.course_summary(request.app.state.deployment.store, reader.caller.tenant, course)


@router.get("/course/learners", summary="A course's learners ranked by recent activity, paginated")
def course_learners(
    request: Request,
    reader: Reader,
    course: Annotated[str, Query(min_length=1)],
    sort: queries.SortKey = "last_seen",
    order: Annotated[str, Query(pattern="^(asc|desc)$")] = "desc",
    page: Page = 1,
    page_size: PageSize = 50,
) -> dict[str, Any]:
    reader.caller.check_course(course)
    reader.audit(f"course:{course}")
    return queries.course_learners(
        request.app.state.deployment.store,
        reader.caller.tenant,
        course,
        sort=sort,
        descending=order == "desc",
        page=page,
        page_size=page_size,
    )


@router.get("/learner", summary="A learner's engagement per course (one course with ?course=)")
def learner(
    request: Request,
    reader: Reader,
    learner: Annotated[str, Query(min_length=1)],
    course: Annotated[str | None, Query(min_length=1)] = None,
) -> list[dict[str, Any]]:
    dep = request.app.state.deployment
    key = dep.learner_key(reader.caller.tenant, learner)  # an identifier or a pseudonym
    reader.caller.check_learner(key)
    reader.audit(key)
    with as_asked(key, learner):
        rows = queries.learner_metrics(dep.store, reader.caller.tenant, key, course)
    return [row for row in rows if reader.caller.sees_row(row)]


@router.get("/learner/mastery", summary="A learner's mastery per skill: BKT P(known), Elo, attempts")
def learner_mastery(
    request: Request,
    reader: Reader,
    learner: Annotated[str, Query(min_length=1)],
    skill: Annotated[str | None, Query(min_length=1)] = None,
) -> list[dict[str, Any]]:
    dep = request.app.state.deployment
    key = dep.learner_key(reader.caller.tenant, learner)
    reader.caller.check_learner(key)
    reader.audit(key)
    with as_asked(key, learner):
        return queries.learner_mastery(dep.store, reader.caller.tenant, key, skill)


@router.get("/status", summary="Events, learners, courses, and per-partition log and committed offsets")
def status(request: Request, operator: Operator) -> dict[str, Any]:
    return pipeline_status(request.app.state.deployment)
