"""``/api/v1``: a learner's profile (features, mastery, risk and its history), a course's at-risk list."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from edupulse.api.auth import require
from edupulse.insights import risk_queries
from edupulse.privacy.credentials import Principal
from edupulse.stream.runtime import EVENTS_TOPIC

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["risk"])
Reader = Annotated[Principal, Depends(require("read"))]


@router.get("/learner/profile", summary="A learner in a course: features now, mastery, risk with reasons, history")
def learner_profile(
    request: Request,
    principal: Reader,
    learner: Annotated[str, Query(min_length=1)],
    course: Annotated[str, Query(min_length=1)],
    history: Annotated[int, Query(ge=0, le=10_000)] = 100,
) -> dict[str, Any]:
    dep = request.app.state.deployment
    partitions = dep.log.partitions(EVENTS_TOPIC)
    return risk_queries.learner_profile(dep.store, partitions, principal.tenant, learner, course, history=history)


@router.get("/course/at-risk", summary="A course's learners by current risk, riskiest first, paginated")
def course_at_risk(
    request: Request,
    principal: Reader,
    course: Annotated[str, Query(min_length=1)],
    threshold: Annotated[float, Query(ge=0, le=1)] = 0.0,
    page: Annotated[int, Query(ge=1)] = 1,
    page_size: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict[str, Any]:
    store = request.app.state.deployment.store
    return risk_queries.course_at_risk(
        store, principal.tenant, course, threshold=threshold, page=page, page_size=page_size
    )
