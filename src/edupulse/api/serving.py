"""``/api/v1``: engagement views for people and tools."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from edupulse.api.auth import require
from edupulse.errors import NotFoundError
from edupulse.insights import queries
from edupulse.privacy.credentials import Principal
from edupulse.status import pipeline_status

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["insights"])
Reader = Annotated[Principal, Depends(require("read"))]


@router.get("/courses", summary="Every course with its totals")
def courses(request: Request, principal: Reader) -> list[dict[str, Any]]:
    return queries.list_courses(request.app.state.deployment.store, principal.tenant)


@router.get("/course", summary="A course's totals, daily activity and active learners")
def course(request: Request, principal: Reader, course: Annotated[str, Query(min_length=1)]) -> dict[str, Any]:
    return queries.course_summary(request.app.state.deployment.store, principal.tenant, course)


@router.get("/course/learners", summary="A course's learners ranked by recent activity, paginated")
def course_learners(
    request: Request,
    principal: Reader,
    course: Annotated[str, Query(min_length=1)],
    sort: queries.SortKey = "last_seen",
    order: Annotated[str, Query(pattern="^(asc|desc)$")] = "desc",
    page: Annotated[int, Query(ge=1)] = 1,
    page_size: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict[str, Any]:
    return queries.course_learners(
        request.app.state.deployment.store,
        principal.tenant,
        course,
        sort=sort,
        descending=order == "desc",
        page=page,
        page_size=page_size,
    )


@router.get("/learner", summary="A learner's engagement per course (one course with ?course=)")
def learner(
    request: Request,
    principal: Reader,
    learner: Annotated[str, Query(min_length=1)],
    course: Annotated[str | None, Query(min_length=1)] = None,
) -> list[dict[str, Any]]:
    dep = request.app.state.deployment
    return queries.learner_metrics(dep.store, principal.tenant, dep.learner_key(principal.tenant, learner), course)


@router.get("/learner/mastery", summary="A learner's mastery per skill: BKT P(known), Elo, attempts")
def learner_mastery(
    request: Request,
    principal: Reader,
    learner: Annotated[str, Query(min_length=1)],
    skill: Annotated[str | None, Query(min_length=1)] = None,
) -> list[dict[str, Any]]:
    dep = request.app.state.deployment
    key = dep.learner_key(principal.tenant, learner)
    try:
        return queries.learner_mastery(dep.store, principal.tenant, key, skill)
    except NotFoundError as exc:  # name the learner as the caller did, not by their pseudonym
        raise NotFoundError(str(exc).replace(repr(key), repr(learner))) from exc


@router.get("/status", summary="Events, learners, courses, and per-partition log and committed offsets")
def status(request: Request, principal: Reader) -> dict[str, Any]:
    return pipeline_status(request.app.state.deployment)
