"""An alert's lifecycle: open, acknowledged, resolved (and reopened), with who and when.

The stream raises an alert (status ``open``); people act on it through the API. Each
action is appended to the alert's history in the ledger; the status is that of the
newest action that changes it (a note does not).
"""

from __future__ import annotations

from typing import Any

import msgspec

from edupulse.alerts.ledger import Action, AlertAction, AlertLedger
from edupulse.errors import ConflictError, NotFoundError
from edupulse.insights.rules import ALERTS_VIEW
from edupulse.stream.store.base import Row, StateStore

__all__ = ["STATUSES", "act", "alert", "list_alerts", "status_of"]

STATUSES = ("open", "acknowledged", "resolved")
_STATUS_OF: dict[str, str] = {"acknowledged": "acknowledged", "resolved": "resolved", "reopened": "open"}
_ALLOWED_FROM: dict[Action, tuple[str, ...]] = {
    "acknowledged": ("open",),
    "resolved": ("open", "acknowledged"),
    "reopened": ("acknowledged", "resolved"),
    "noted": STATUSES,
}


def status_of(history: list[AlertAction]) -> str:
    """The status after these actions, oldest first."""
    status = "open"
    for action in history:
        status = _STATUS_OF.get(action.action, status)
    return status


def _with_history(row: Row, history: list[AlertAction]) -> dict[str, Any]:
    out = dict(row)
    out["status"] = status_of(history)
    out["history"] = [msgspec.structs.asdict(a) for a in history]
    return out


def list_alerts(
    store: StateStore,
    ledger: AlertLedger,
    tenant: str,
    *,
    filters: dict[str, str],
    status: str | None,
    limit: int,
    offset: int,
) -> list[dict[str, Any]]:
    """A tenant's alerts, newest first, filtered by course or learner and by status."""
    rows = store.select(ALERTS_VIEW.name, {"tenant": tenant, **filters}, order_by="opened_us", descending=True)
    history = ledger.history(tenant, [r["id"] for r in rows])
    merged = [_with_history(r, history[r["id"]]) for r in rows]
    if status is not None:
        merged = [r for r in merged if r["status"] == status]
    return merged[offset : offset + limit]


def alert(store: StateStore, ledger: AlertLedger, tenant: str, alert_id: str) -> dict[str, Any]:
    """One alert with its history, or ``NotFoundError``."""
    row = store.get(ALERTS_VIEW.name, {"tenant": tenant, "id": alert_id})
    if row is None:
        raise NotFoundError(f"no alert {alert_id!r}; list them with GET /api/v1/alerts")
    return _with_history(row, ledger.history(tenant, [alert_id])[alert_id])


def act(
    store: StateStore, ledger: AlertLedger, tenant: str, alert_id: str, action: Action, *, actor: str, note: str | None
) -> dict[str, Any]:
    """Record an action by ``actor``; an action the status does not allow is a ``ConflictError``."""
    current = alert(store, ledger, tenant, alert_id)
    if current["status"] not in _ALLOWED_FROM[action]:
        raise ConflictError(f"alert {alert_id!r} is {current['status']}; it cannot be {action} now")
    ledger.act(tenant, alert_id, action, actor, note)
    return alert(store, ledger, tenant, alert_id)
