"""``/api/v1/alerts``: alerts raised by the intervention rules, and their lifecycle."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from fastapi import APIRouter, Body, Depends, Query, Request

from edupulse.alerts import lifecycle, outcomes
from edupulse.alerts.ledger import Action, Delivery
from edupulse.api.auth import require
from edupulse.privacy.credentials import Principal

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/alerts", tags=["alerts"])
Reader = Annotated[Principal, Depends(require("read"))]
Note = Annotated[str | None, Body(embed=True, min_length=1, max_length=4000)]


@router.get("", summary="Alerts, newest first, by course, learner and status, paginated")
def list_alerts(
    request: Request,
    principal: Reader,
    course: Annotated[str | None, Query(min_length=1)] = None,
    learner: Annotated[str | None, Query(min_length=1)] = None,
    status: Literal["open", "acknowledged", "resolved"] | None = None,
    page: Annotated[int, Query(ge=1)] = 1,
    page_size: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[dict[str, Any]]:
    dep = request.app.state.deployment
    if learner is not None:
        learner = dep.learner_key(principal.tenant, learner)
    filters = {k: v for k, v in (("course", course), ("learner", learner)) if v is not None}
    return lifecycle.list_alerts(
        dep.store,
        dep.alerts,
        principal.tenant,
        filters=filters,
        status=status,
        limit=page_size,
        offset=(page - 1) * page_size,
    )


@router.get("/deliveries", summary="Webhook deliveries: delivered, retrying, or dead (dead letters)")
def deliveries(
    request: Request,
    principal: Reader,
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
    request: Request, principal: Reader, course: Annotated[str | None, Query(min_length=1)] = None
) -> list[dict[str, Any]]:
    return outcomes.reengagement(request.app.state.deployment.store, principal.tenant, course=course)


@router.get("/{alert_id}", summary="One alert with its history")
def get_alert(request: Request, principal: Reader, alert_id: str) -> dict[str, Any]:
    dep = request.app.state.deployment
    return lifecycle.alert(dep.store, dep.alerts, principal.tenant, alert_id)


def _act(request: Request, principal: Principal, alert_id: str, action: Action, note: str | None) -> dict[str, Any]:
    dep = request.app.state.deployment
    return lifecycle.act(dep.store, dep.alerts, principal.tenant, alert_id, action, actor=principal.name, note=note)


@router.post("/{alert_id}/ack", summary="Acknowledge an open alert (recorded with the key's name)")
def ack(request: Request, principal: Reader, alert_id: str, note: Note = None) -> dict[str, Any]:
    return _act(request, principal, alert_id, "acknowledged", note)


@router.post("/{alert_id}/resolve", summary="Resolve an open or acknowledged alert")
def resolve(request: Request, principal: Reader, alert_id: str, note: Note = None) -> dict[str, Any]:
    return _act(request, principal, alert_id, "resolved", note)


@router.post("/{alert_id}/reopen", summary="Reopen an acknowledged or resolved alert")
def reopen(request: Request, principal: Reader, alert_id: str, note: Note = None) -> dict[str, Any]:
    return _act(request, principal, alert_id, "reopened", note)


@router.post("/{alert_id}/note", summary="Add a note to an alert's history (the status stays)")
def add_note(
    request: Request, principal: Reader, alert_id: str, note: Annotated[str, Body(embed=True, min_length=1)]
) -> dict[str, Any]:
    return _act(request, principal, alert_id, "noted", note)
