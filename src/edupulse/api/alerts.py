"""``/api/v1/alerts``: alerts raised by the intervention rules, and their lifecycle."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from fastapi import APIRouter, Body, Depends, Query, Request

from edupulse.alerts import lifecycle, outcomes
from edupulse.alerts.ledger import Action, Delivery
from edupulse.api.auth import Access, access
from edupulse.api.routing import Page, PageSize
from edupulse.errors import NotFoundError

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/alerts", tags=["alerts"])
Reader = Annotated[Access, Depends(access("read"))]
Operator = Annotated[Access, Depends(access("everything"))]
Note = Annotated[str | None, Body(embed=True, min_length=1, max_length=4000)]


@router.get("", summary="Alerts (of the caller's courses and learners), newest first, paginated")
def list_alerts(
    request: Request,
    reader: Reader,
    course: Annotated[str | None, Query(min_length=1)] = None,
    learner: Annotated[str | None, Query(min_length=1)] = None,
    status: Literal["open", "acknowledged", "resolved"] | None = None,
    page: Page = 1,
    page_size: PageSize = 50,
) -> list[dict[str, Any]]:
    caller = reader.caller
    dep = request.app.state.deployment
    if learner is not None:
        learner = dep.learner_key(caller.tenant, learner)  # an identifier or a pseudonym
        caller.check_learner(learner)
    elif course is not None:
        caller.check_course(course)
    filters = {k: v for k, v in (("course", course), ("learner", learner)) if v is not None}
    rows = lifecycle.list_alerts(
        dep.store, dep.alerts, caller.tenant, filters=filters, status=status, limit=1 << 62, offset=0
    )
    visible = [row for row in rows if caller.sees_row(row)]
    reader.audit(f"alerts:{learner or course or '*'}")
    return visible[(page - 1) * page_size : page * page_size]


@router.get("/deliveries", summary="Webhook deliveries: delivered, retrying, or dead (dead letters)")
def deliveries(
    request: Request,
    operator: Operator,
    status: Literal["delivered", "retrying", "dead"] | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    ledger = request.app.state.deployment.alerts
    rows = ledger.deliveries(status, limit=limit)
    return {"counts": ledger.delivery_counts(), "deliveries": [_delivery(d) for d in rows]}


def _delivery(d: Delivery) -> dict[str, Any]:
    return msgspec.structs.asdict(d)


@router.get("/reengagement", summary="Per rule: how often an alert was followed by the learner's return")
def reengagement(
    request: Request, reader: Reader, course: Annotated[str | None, Query(min_length=1)] = None
) -> list[dict[str, Any]]:
    """Rates over a course (its instructors may ask) or the whole tenant (administrators, read keys)."""
    caller = reader.caller
    if course is None:
        caller.require_everything()
    else:
        caller.check_course(course)
    return outcomes.reengagement(request.app.state.deployment.store, caller.tenant, course=course)


@router.get("/{alert_id}", summary="One alert with its history")
def get_alert(request: Request, reader: Reader, alert_id: str) -> dict[str, Any]:
    return _visible_alert(request, reader, alert_id)


def _visible_alert(request: Request, reader: Access, alert_id: str) -> dict[str, Any]:
    """The alert, if the caller's scope covers it (else the same 404 as a missing one: ids leak nothing)."""
    dep = request.app.state.deployment
    found = lifecycle.alert(dep.store, dep.alerts, reader.caller.tenant, alert_id)
    if not reader.caller.sees_row(found):
        raise NotFoundError(f"no alert {alert_id!r}; list them with GET /api/v1/alerts")
    reader.audit(f"alert:{alert_id}")
    return found


def _act(request: Request, reader: Access, alert_id: str, action: Action, note: str | None) -> dict[str, Any]:
    _visible_alert(request, reader, alert_id)
    dep = request.app.state.deployment
    caller = reader.caller
    return lifecycle.act(dep.store, dep.alerts, caller.tenant, alert_id, action, actor=caller.name, note=note)


@router.post("/{alert_id}/ack", summary="Acknowledge an open alert (recorded with the key's name)")
def ack(request: Request, reader: Reader, alert_id: str, note: Note = None) -> dict[str, Any]:
    return _act(request, reader, alert_id, "acknowledged", note)


@router.post("/{alert_id}/resolve", summary="Resolve an open or acknowledged alert")
def resolve(request: Request, reader: Reader, alert_id: str, note: Note = None) -> dict[str, Any]:
    return _act(request, reader, alert_id, "resolved", note)


@router.post("/{alert_id}/reopen", summary="Reopen an acknowledged or resolved alert")
def reopen(request: Request, reader: Reader, alert_id: str, note: Note = None) -> dict[str, Any]:
    return _act(request, reader, alert_id, "reopened", note)


@router.post("/{alert_id}/note", summary="Add a note to an alert's history (the status stays)")
def add_note(
    request: Request, reader: Reader, alert_id: str, note: Annotated[str, Body(embed=True, min_length=1)]
) -> dict[str, Any]:
    return _act(request, reader, alert_id, "noted", note)
