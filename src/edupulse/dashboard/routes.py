"""``/ui``: the dashboard's pages, and ``/ui/data/...``: the same data as JSON.

Each page is one function returning its data; it is registered twice, as the data
endpoint and (rendered by its template) as the page. Both go through the API's access
checks (``access``) and audit their reads as the API does.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from edupulse.api.auth import Access, access
from edupulse.api.risk import app_explainer
from edupulse.api.routing import Page
from edupulse.dashboard import views
from edupulse.dashboard.rate import RateMeter
from edupulse.dashboard.render import page

__all__ = ["router"]

router = APIRouter(tags=["dashboard"])
Reader = Annotated[Access, Depends(access("read"))]
Operator = Annotated[Access, Depends(access("everything"))]
Builder = Callable[..., dict[str, Any]]


def _meter(request: Request) -> RateMeter:
    state = request.app.state
    meter: RateMeter | None = getattr(state, "dashboard_rates", None)
    if meter is None:
        meter = state.dashboard_rates = RateMeter()
    return meter


def _chrome(request: Request, reader: Access, title: str, stream: dict[str, str]) -> dict[str, Any]:
    """What every page shows around its data: who is signed in, the navigation, the live stream."""
    dep = request.app.state.deployment
    caller = reader.caller
    query = urlencode(stream)
    return {
        "title": title,
        "who": caller.name,
        "roles": caller.roles,
        "operator": caller.everything,
        "stream_url": "/api/v1/stream" + (f"?{query}" if query else ""),
        "view_names": sorted({v.name for op in dep.operators for v in op.views} | {"alerts"}),
    }


def _register(path: str, template: str, summary: str) -> Callable[[Builder], Builder]:
    """Register ``build`` as ``/ui/data/<path>`` (JSON) and, rendered with ``template``, as ``/ui/<path>``."""

    def deco(build: Builder) -> Builder:
        @functools.wraps(build)
        def html(**kwargs: Any) -> HTMLResponse:
            return page(kwargs["request"], template, build(**kwargs))

        router.add_api_route(f"/ui/data/{path}".rstrip("/"), build, methods=["GET"], summary=summary + " (data)")
        router.add_api_route(f"/ui/{path}", html, methods=["GET"], summary=summary, response_class=HTMLResponse)
        return build

    return deco


@_register("", "overview.html", "Dashboard: the institution's (or your) courses, live")
def overview(request: Request, reader: Reader) -> dict[str, Any]:
    dep = request.app.state.deployment
    data = views.overview(dep, reader.caller, _meter(request))
    return {**_chrome(request, reader, "Overview", {}), "poll": 2000, **data}


@_register("course", "course.html", "Dashboard: a course's engagement, at-risk learners, mastery, assessments")
def course(
    request: Request, reader: Reader, course: Annotated[str, Query(min_length=1)], page: Page = 1
) -> dict[str, Any]:
    reader.caller.check_course(course)
    reader.audit(f"course:{course}")
    data = views.course_page(
        request.app.state.deployment, reader.caller.tenant, course, explainer=app_explainer(request), page=page
    )
    return {**_chrome(request, reader, f"Course {course}", {"course": course}), **data}


@_register("learner", "learner.html", "Dashboard: a learner's timeline, mastery, risk history and alerts")
def learner(
    request: Request,
    reader: Reader,
    learner: Annotated[str, Query(min_length=1)],
    course: Annotated[str | None, Query(min_length=1)] = None,
) -> dict[str, Any]:
    dep = request.app.state.deployment
    key = dep.learner_key(reader.caller.tenant, learner)  # an identifier or a pseudonym
    reader.caller.check_learner(key)
    reader.audit(key)
    data = views.learner_page(dep, reader.caller, key, course, explainer=app_explainer(request))
    return {**_chrome(request, reader, "Learner", {"learner": key}), **data}


@_register("alerts", "alerts.html", "Dashboard: the alerts inbox (acknowledge, resolve, add a note)")
def alerts(
    request: Request,
    reader: Reader,
    status: Literal["open", "acknowledged", "resolved"] | None = None,
    page: Page = 1,
) -> dict[str, Any]:
    reader.audit("alerts:*")
    data = views.alerts_inbox(request.app.state.deployment, reader.caller, status, page)
    return {**_chrome(request, reader, "Alerts", {}), **data}


@_register("health", "health.html", "Dashboard: pipeline health (lag, throughput, errors, dead letters)")
def health(request: Request, operator: Operator) -> dict[str, Any]:
    data = views.health(request.app.state.deployment, _meter(request), operator.caller.tenant)
    return {**_chrome(request, operator, "Pipeline health", {}), "poll": 2000, **data}
