"""Watching the champion: feature drift, prediction drift, and AUC and calibration as outcomes arrive.

Computed on what the stream stores: the current scores in ``learner_risk`` of the
champion version (each row keeps the feature vector it was scored on and its cut-off
day), within the window (``models.window_days`` before the newest scored event). For
each cut-off day with a reference and at least ``models.min_rows`` rows: PSI and KS of
each numeric feature, and PSI of the scores. With outcomes (``(course, learner) -> 1``
for Withdrawn/Fail), the AUC and ECE of the rows whose outcome is known. A figure past
its threshold is a breach; ``raise_alert`` writes one ``model_drift`` alert per tenant
to the ``alerts`` view and the outbox, where the alerts API and deliveries find it.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Literal

import msgspec
import numpy as np

from edupulse.config import ModelsSettings
from edupulse.insights.features import DAY_US
from edupulse.insights.risk_views import RISK_VIEW
from edupulse.insights.rules import ALERTS_VIEW, alert_id
from edupulse.ml.calibration import expected_calibration_error
from edupulse.ml.metrics import auc
from edupulse.ml.monitor.drift import ks_statistic, psi
from edupulse.ml.monitor.reference import ModelReference
from edupulse.stream.log_sender import ALERTS_TOPIC
from edupulse.stream.store.base import Commit, OutboxMessage, Row, StateStore

__all__ = ["ALERT_RULE", "Figure", "MonitorReport", "monitor", "raise_alert"]

ALERT_RULE = "model_drift"
COMMIT_TOPIC = "edupulse.models"
Kind = Literal["feature_psi", "feature_ks", "prediction_psi", "auc", "ece"]


class Figure(msgspec.Struct, frozen=True):
    """One monitored figure: ``feature`` is None for the score and outcome figures."""

    kind: Kind
    day: int | None
    feature: str | None
    value: float
    threshold: float
    rows: int
    breached: bool


class MonitorReport(msgspec.Struct):
    tenant: str
    model_version: str
    window_start_us: int
    window_end_us: int
    rows: int
    outcomes: int
    figures: list[Figure]

    @property
    def breaches(self) -> list[Figure]:
        return [f for f in self.figures if f.breached]


def _window(rows: list[Row], days: float) -> tuple[list[Row], int, int]:
    end = max((r["event_time_us"] for r in rows), default=0)
    start = end - int(days * DAY_US)
    return [r for r in rows if r["event_time_us"] >= start], start, end


def _drift(rows: list[Row], reference: ModelReference, cfg: ModelsSettings) -> list[Figure]:
    out = []
    for day, ref in sorted(reference.by_day.items()):
        group = [r for r in rows if r["model_day"] == day]
        if len(group) < cfg.min_rows:
            continue
        for name, feature in sorted(ref.features.items()):
            values = [(r["features"] or {}).get(name) for r in group]
            p, k = psi(feature, values), ks_statistic(feature, values)
            out.append(Figure("feature_psi", day, name, round(p, 4), cfg.drift_psi, len(group), p > cfg.drift_psi))
            out.append(Figure("feature_ks", day, name, round(k, 4), cfg.drift_ks, len(group), k > cfg.drift_ks))
        if ref.score is not None:
            p = psi(ref.score, [r["risk"] for r in group])
            out.append(
                Figure("prediction_psi", day, None, round(p, 4), cfg.prediction_psi, len(group), p > cfg.prediction_psi)
            )
    return out


def _quality(rows: list[Row], outcomes: Mapping[tuple[str, str], int], cfg: ModelsSettings) -> tuple[list[Figure], int]:
    known = [(outcomes[r["course"], r["learner"]], r["risk"]) for r in rows if (r["course"], r["learner"]) in outcomes]
    labels = np.asarray([y for y, _ in known], dtype=np.int_)
    if len(known) < cfg.min_rows or labels.min() == labels.max():
        return [], len(known)
    scores = np.asarray([p for _, p in known], dtype=np.float64)
    a, e = auc(labels, scores), expected_calibration_error(labels, scores)
    figures = [
        Figure("auc", None, None, round(a, 4), cfg.min_auc, len(known), a < cfg.min_auc),
        Figure("ece", None, None, round(e, 4), cfg.max_ece, len(known), e > cfg.max_ece),
    ]
    return figures, len(known)


def monitor(
    store: StateStore,
    tenant: str,
    version: str,
    reference: ModelReference | None,
    *,
    cfg: ModelsSettings,
    outcomes: Mapping[tuple[str, str], int] | None = None,
) -> MonitorReport:
    """The figures of the champion ``version`` over the window of a tenant's current scores."""
    rows, start, end = _window(
        store.select(RISK_VIEW.name, {"tenant": tenant, "model_version": version}), cfg.window_days
    )
    figures = _drift(rows, reference, cfg) if reference is not None else []
    known = 0
    if outcomes:
        quality, known = _quality(rows, outcomes, cfg)
        figures += quality
    return MonitorReport(tenant, version, start, end, len(rows), known, figures)


def _reason(report: MonitorReport) -> str:
    def one(f: Figure) -> str:
        where = " ".join(x for x in (f.feature or "", f"day {f.day}" if f.day is not None else "") if x)
        sign = "<" if f.kind == "auc" else ">"
        return f"{f.kind}{f' ({where})' if where else ''} {f.value:g} {sign} {f.threshold:g}"

    worst = sorted(report.breaches, key=lambda f: -abs(f.value - f.threshold))
    more = f" and {len(worst) - 5} more" if len(worst) > 5 else ""
    return f"risk model {report.model_version}: " + "; ".join(one(f) for f in worst[:5]) + more


def raise_alert(store: StateStore, report: MonitorReport, *, now_us: int | None = None) -> Row | None:
    """A ``model_drift`` alert for the report's breaches (None if there are none)."""
    if not report.breaches:
        return None
    now = now_us if now_us is not None else time.time_ns() // 1000
    ident = alert_id(ALERT_RULE, report.tenant, "", "", report.window_end_us, detail=report.model_version)
    row: Row = {
        "tenant": report.tenant,
        "id": ident,
        "rule": ALERT_RULE,
        "learner": "",
        "course": "",
        "opened_us": now,
        "reason": _reason(report),
        "status": "open",
        "outcome": None,
        "reengaged_us": None,
    }
    body = {k: v for k, v in row.items() if k not in ("outcome", "reengaged_us")} | {"type": "edupulse.model_drift"}
    body["breaches"] = msgspec.to_builtins(report.breaches)
    message = OutboxMessage(ALERTS_TOPIC, report.tenant + "\x1f", msgspec.json.encode(body), ident)
    store.setup([ALERTS_VIEW])
    store.commit(Commit(COMMIT_TOPIC, 0, now, views={ALERTS_VIEW.name: [row]}, outbox=[message]))
    return row
