"""Reads for people and tools: a learner's profile, and a course's at-risk list.

A learner's profile in a course: the features as of now (from the committed feature
states of the learner's partition, placed in the cohort of that partition, as the risk
operator places them), mastery per skill (``learner_skill``), the current risk with its
reasons (``learner_risk``) and the risk history (``risk_history``).

The reasons are computed here, on read, for the rows returned only (``RiskExplainer``):
the stream stores each score's features, not its reasons.
"""

from __future__ import annotations

import time
from typing import Any

from edupulse.errors import NotFoundError
from edupulse.insights.cohort import cohort_features
from edupulse.insights.features import FeatureOperator, Features, FeatureState, split_key
from edupulse.insights.history import history_features
from edupulse.insights.mastery import MASTERY_VIEW
from edupulse.insights.risk_explain import RiskExplainer
from edupulse.insights.risk_views import HISTORY_VIEW, RISK_VIEW
from edupulse.log.base import partition_for
from edupulse.stream.store.base import Row, StateStore

__all__ = ["course_at_risk", "features_now", "learner_profile", "risk_and_history"]

_SEP = "\x1f"


def features_now(
    store: StateStore, partitions: int, tenant: str, learner: str, course: str, *, now_us: int
) -> Features | None:
    """The learner's features in ``course`` as of ``now_us``; None if the learner has no events there."""
    partition = partition_for(f"{tenant}{_SEP}{learner}".encode(), partitions)
    op = FeatureOperator()
    op.restore(partition, store.load_state(op.name, partition))
    cohort: dict[str, FeatureState] = {}
    courses: dict[str, FeatureState] = {}
    for key, state in op.states(partition).items():
        t, c, lr = split_key(key)
        if t != tenant:
            continue
        if c == course:
            cohort[lr] = state
        if lr == learner:
            courses[c] = state
    if learner not in cohort:
        return None
    row = cohort_features(cohort, now_us)[learner]
    return row | history_features(courses, course, now_us)


def learner_profile(
    store: StateStore,
    partitions: int,
    tenant: str,
    learner: str,
    course: str,
    *,
    explainer: RiskExplainer,
    history: int = 100,
) -> dict[str, Any]:
    """Features as of now, mastery per skill, current risk and history, each score with its reasons."""
    now_us = time.time_ns() // 1000
    features = features_now(store, partitions, tenant, learner, course, now_us=now_us)
    if features is None:
        raise NotFoundError(f"no events for learner {learner!r} in course {course!r} of tenant {tenant!r}")
    return {
        "tenant": tenant,
        "learner": learner,
        "course": course,
        "as_of_us": now_us,
        "features": features,
        "mastery": store.select(MASTERY_VIEW.name, {"tenant": tenant, "learner": learner}, order_by="skill"),
        **risk_and_history(store, tenant, learner, course, explainer=explainer, history=history),
    }


def risk_and_history(
    store: StateStore, tenant: str, learner: str, course: str, *, explainer: RiskExplainer, history: int = 100
) -> dict[str, Any]:
    """The learner's current risk in the course (None if unscored) and its history, oldest first, with reasons."""
    where = {"tenant": tenant, "learner": learner, "course": course}
    past = store.select(HISTORY_VIEW.name, where, order_by="seq", descending=True, limit=history)
    current = store.get(RISK_VIEW.name, {"tenant": tenant, "course": course, "learner": learner})
    explained = explainer.explain([*past[::-1], *([current] if current is not None else [])])
    return {"risk": explained[-1] if current is not None else None, "risk_history": explained[: len(past)]}


def course_at_risk(
    store: StateStore,
    tenant: str,
    course: str,
    *,
    explainer: RiskExplainer,
    threshold: float = 0.0,
    page: int = 1,
    page_size: int = 50,
) -> dict[str, Any]:
    """The course's scored learners with risk at least ``threshold``, riskiest first, paginated, with reasons."""
    where = {"tenant": tenant, "course": course}
    if not store.count(RISK_VIEW.name, where):
        raise NotFoundError(f"no risk scores for course {course!r} in tenant {tenant!r} (is a risk model stored?)")
    total = store.count(RISK_VIEW.name, where, at_least={"risk": threshold})
    offset = (page - 1) * page_size
    rows: list[Row] = []
    if offset < total:
        limit = min(page_size, total - offset)
        rows = store.select(RISK_VIEW.name, where, order_by="risk", descending=True, limit=limit, offset=offset)
    learners = explainer.explain(rows)
    return {"course": course, "threshold": threshold, "total": total, "page": page, "learners": learners}
