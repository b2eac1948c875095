"""What each page shows, aggregated on the server and cut to the caller's scope.

Every function reads the serving views through the same queries as the JSON API, and
returns plain data (numbers, short lists, chart series) that a page renders and that
``/ui/data/...`` returns as JSON. Lists are paginated; counts and bands are computed by
the store (``count`` with bounds), never by loading a course's learners.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from edupulse.alerts import lifecycle
from edupulse.errors import NotFoundError
from edupulse.insights import queries, risk_queries
from edupulse.insights.engagement import LEARNER_VIEW
from edupulse.insights.mastery import MASTERY_VIEW
from edupulse.insights.risk_views import RISK_VIEW
from edupulse.status import pipeline_status
from edupulse.stream.runtime import EVENTS_TOPIC

if TYPE_CHECKING:
    from edupulse.access.caller import Caller
    from edupulse.dashboard.rate import RateMeter
    from edupulse.deployment import Deployment
    from edupulse.insights.risk_explain import RiskExplainer

__all__ = ["alerts_inbox", "course_page", "health", "learner_page", "overview"]

BANDS = (0.0, 0.2, 0.4, 0.6, 0.8)
PAGE_SIZE = 25


def _bands(count_from: Any) -> list[dict[str, Any]]:
    """Learners per band [b, b+0.2), from counts of ``value >= b`` (one store count per edge)."""
    at_least = [count_from(b) for b in BANDS]
    out = []
    for i, b in enumerate(BANDS):
        above = at_least[i + 1] if i + 1 < len(BANDS) else 0
        out.append({"band": f"{b:.1f}–{b + 0.2:.1f}", "learners": at_least[i] - above})
    return out


def overview(dep: Deployment, caller: Caller, meter: RateMeter) -> dict[str, Any]:
    """The courses the caller sees with their totals, active learners and the live event rate."""
    tenant = caller.tenant
    courses = []
    for row in queries.list_courses(dep.store, tenant):
        if caller.sees_course(row["course"]):
            summary = queries.course_summary(dep.store, tenant, row["course"])
            courses.append({**row, "active_learners": summary["active_learners_7d"]})
    events = sum(c["events"] for c in courses)
    scope = "*" if caller.everything else "\x1f".join(c["course"] for c in courses)
    rate = meter.rate(f"{tenant}\x1f{scope}", sum(dep.log.end_offsets(EVENTS_TOPIC)) if caller.everything else events)
    return {
        "events": events,
        "event_rate": None if rate is None else round(rate, 1),
        "active_learners": sum(c["active_learners"] for c in courses),
        "course_count": len(courses),
        "courses": courses,
        "people": _people(dep, caller),
    }


def _people(dep: Deployment, caller: Caller) -> list[dict[str, str]]:
    """The caller's own learner record and their advisees', those with events (roster keys as the views key them)."""
    person = caller.person
    if person is None:
        return []
    found = []
    for relation, keys in (("you", person.own), ("advisee", person.advisees)):
        for key in sorted({dep.learner_key(caller.tenant, k) for k in keys}):
            if dep.store.count(LEARNER_VIEW.name, {"tenant": caller.tenant, "learner": key}):
                found.append({"learner": key, "relation": relation})
    return found


def course_page(
    dep: Deployment, tenant: str, course: str, *, explainer: RiskExplainer, page: int = 1
) -> dict[str, Any]:
    """Engagement over time, assessments, the at-risk list with reasons and a mastery heatmap."""
    store = dep.store
    summary = queries.course_summary(store, tenant, course)
    where = {"tenant": tenant, "course": course}
    learners = queries.course_learners(store, tenant, course, page=page, page_size=PAGE_SIZE)
    at_risk = _at_risk(dep, tenant, course, explainer, page)
    shown = [r["learner"] for r in (at_risk["learners"] if at_risk else learners["learners"])]
    return {
        "course": course,
        "summary": summary,
        "daily": [{"day": d, "events": n} for d, n in summary["daily"].items()],
        "learners": learners,
        "at_risk": at_risk,
        "risk_bands": _bands(lambda b: store.count(RISK_VIEW.name, where, at_least={"risk": b})) if at_risk else [],
        "score_bands": _bands(lambda b: store.count(LEARNER_VIEW.name, where, at_least={"mean_score": b})),
        "heatmap": mastery_heatmap(dep, tenant, shown),
        "page": page,
        "pages": max(1, -(-learners["total"] // PAGE_SIZE)),
    }


def _at_risk(dep: Deployment, tenant: str, course: str, explainer: RiskExplainer, page: int) -> dict[str, Any] | None:
    try:
        return risk_queries.course_at_risk(dep.store, tenant, course, explainer=explainer, page=page, page_size=10)
    except NotFoundError:
        return None  # no risk model stored: the page says so


def mastery_heatmap(dep: Deployment, tenant: str, learners: list[str]) -> dict[str, Any]:
    """P(known) of each shown learner (rows) on each skill any of them attempted (columns)."""
    rows = {lr: {r["skill"]: r["p_mastery"] for r in _mastery(dep, tenant, lr)} for lr in learners}
    skills = sorted({s for by_skill in rows.values() for s in by_skill})
    return {
        "learners": learners,
        "skills": skills,
        "values": [[rows[lr].get(s) for s in skills] for lr in learners],
    }


def _mastery(dep: Deployment, tenant: str, learner: str) -> list[dict[str, Any]]:
    return dep.store.select(MASTERY_VIEW.name, {"tenant": tenant, "learner": learner}, order_by="skill")


def learner_page(
    dep: Deployment, caller: Caller, learner: str, course: str | None, *, explainer: RiskExplainer
) -> dict[str, Any]:
    """A learner's courses, activity timeline, mastery, risk history with reasons, and alerts."""
    tenant = caller.tenant
    rows = [r for r in queries.learner_metrics(dep.store, tenant, learner) if caller.sees_row(r)]
    if not rows:
        raise NotFoundError(f"no events for learner {learner!r} in the courses you may see")
    chosen = next((r for r in rows if r["course"] == course), rows[0])
    risk = risk_queries.risk_and_history(dep.store, tenant, learner, chosen["course"], explainer=explainer)
    alerts = _alerts(dep, tenant, {"learner": learner}, None)
    return {
        "learner": learner,
        "course": chosen["course"],
        "courses": [{k: v for k, v in r.items() if k != "activity"} for r in rows],
        "timeline": [{"day": d, "events": n} for d, n in (chosen.get("activity") or {}).items()],
        "mastery": _mastery(dep, tenant, learner),
        **risk,
        "alerts": [a for a in alerts if caller.sees_row(a)],
    }


def _alerts(dep: Deployment, tenant: str, filters: dict[str, str], status: str | None) -> list[dict[str, Any]]:
    """Alerts, newest first; none while no rule has created the alerts view (the store's only 404 here)."""
    try:
        return lifecycle.list_alerts(
            dep.store, dep.alerts, tenant, filters=filters, status=status, limit=1 << 62, offset=0
        )
    except NotFoundError:
        return []


def _visible_alerts(dep: Deployment, caller: Caller, status: str | None) -> list[dict[str, Any]]:
    """Everything for administrators; for others, the alerts of their courses and learners,
    read by course and by learner (indexed) rather than by filtering the tenant's."""
    if caller.everything or caller.person is None:
        return [r for r in _alerts(dep, caller.tenant, {}, status) if caller.sees_row(r)]
    p = caller.person
    filters = [{"course": c} for c in sorted(p.courses)] + [{"learner": lr} for lr in sorted(p.own | p.advisees)]
    found = {r["id"]: r for f in filters for r in _alerts(dep, caller.tenant, f, status)}
    return sorted(found.values(), key=lambda r: (-r["opened_us"], r["id"]))


def alerts_inbox(dep: Deployment, caller: Caller, status: str | None, page: int) -> dict[str, Any]:
    """The alerts of the caller's courses and learners, newest first, one page at a time."""
    visible = _visible_alerts(dep, caller, status)
    start = (page - 1) * PAGE_SIZE
    return {
        "status": status,
        "total": len(visible),
        "page": page,
        "pages": max(1, -(-len(visible) // PAGE_SIZE)),
        "alerts": visible[start : start + PAGE_SIZE],
    }


def health(dep: Deployment, meter: RateMeter, tenant: str) -> dict[str, Any]:
    """Lag per partition, throughput (events processed per second), delivery errors and dead letters."""
    status = pipeline_status(dep)
    rate = meter.rate(f"{tenant}\x1fprocessed", status["processed"])
    counts = dep.alerts.delivery_counts()
    dead = [
        {"topic": d.topic, "key": d.idempotency_key, "attempts": d.attempts, "error": d.last_error}
        for d in dep.alerts.deliveries("dead", limit=20)
    ]
    return {
        **status,
        "throughput": None if rate is None else round(rate, 1),
        "deliveries": {k: counts.get(k, 0) for k in ("delivered", "retrying", "dead")},
        "dead_letters": dead,
    }
