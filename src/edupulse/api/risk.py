"""``/api/v1``: a learner's profile (features, mastery, risk and its history), a course's at-risk list."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from edupulse.api.auth import Access, access
from edupulse.api.routing import Page, PageSize, as_asked
from edupulse.insights import risk_queries
from edupulse.insights.risk_explain import RiskExplainer
from edupulse.stream.runtime import EVENTS_TOPIC

__all__ = ["app_explainer", "router"]

router = APIRouter(prefix="/api/v1", tags=["risk"])
Reader = Annotated[Access, Depends(access("read"))]


def app_explainer(request: Request) -> RiskExplainer:
    """The app's explainer (its loaded models and cached reasons live as long as the app)."""
    state = request.app.state
    explainer: RiskExplainer | None = getattr(state, "risk_explainer", None)
    if explainer is None:
        explainer = state.risk_explainer = RiskExplainer(state.deployment.settings.data_dir / "models")
    return explainer


@router.get("/learner/profile", summary="A learner in a course: features now, mastery, risk with reasons, history")
def learner_profile(
    request: Request,
    reader: Reader,
    learner: Annotated[str, Query(min_length=1)],
    course: Annotated[str, Query(min_length=1)],
    history: Annotated[int, Query(ge=0, le=10_000)] = 100,
) -> dict[str, Any]:
    dep = request.app.state.deployment
    key = dep.learner_key(reader.caller.tenant, learner)  # an identifier or a pseudonym
    reader.caller.check_learner(key)  # the learner, their counsellors, their instructors
    reader.audit(f"profile:{key}:{course}")
    partitions = dep.log.partitions(EVENTS_TOPIC)
    with as_asked(key, learner):
        return risk_queries.learner_profile(
            dep.store, partitions, reader.caller.tenant, key, course, explainer=app_explainer(request), history=history
        )


@router.get("/course/at-risk", summary="A course's learners by current risk, riskiest first, paginated")
def course_at_risk(
    request: Request,
    reader: Reader,
    course: Annotated[str, Query(min_length=1)],
    threshold: Annotated[float, Query(ge=0, le=1)] = 0.0,
    page: Page = 1,
    page_size: PageSize = 50,
) -> dict[str, Any]:
    reader.caller.check_course(course)  # its instructors (and administrators, read keys)
    reader.audit(f"at-risk:{course}")
    store = request.app.state.deployment.store
    return risk_queries.course_at_risk(
        store,
        reader.caller.tenant,
        course,
        explainer=app_explainer(request),
        threshold=threshold,
        page=page,
        page_size=page_size,
    )
