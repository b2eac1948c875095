"""Aggregate rules: course and institution figures above a threshold, checked on the wall clock.

Unlike the learner rules, these do not run in the stream. A figure such as "learners
active in the last 15 minutes" spans every partition, and no per-partition operator
sees it whole; and "now" is the wall clock, since the point is operational (scale out,
tell a course's administrator). So a watcher thread of the processor, beside the
outbox relay, reads the serving views every ``rules.aggregate_interval_s`` and writes
each alert it raises to the ``alerts`` view and the outbox in one store transaction;
the relay delivers them like any other.

The figures (``insights.aggregate_rules.Metric``), from the serving views:

* ``active_learners``: learner-course rows whose newest event is within
  ``window_minutes`` of now (institution scope: summed over courses, so a learner
  active in two courses counts twice).
* ``enrolments``: learners with any event in the course (institution: learner-course rows).
* ``submission_backlog``: attempts that carried no score (``attempts - scored`` of the
  course): in a flow where a submission arrives unscored and its grade later as a
  ``graded`` event, the submissions waiting for a grade.

A rule fires when its figure goes above ``above`` and then waits until the figure is
back at or below it (re-armed) and ``cooldown_hours`` have passed since its last alert
for that scope. The last alert is read from the view, so a restart keeps the cooldown;
whether it was re-armed is kept in memory, so after a restart a figure still above the
threshold fires again once the cooldown is over.

One watcher per deployment checks them: in scale-out every processor starts one, and
each check first takes or renews a lease (``alerts.lease``: a row in PostgreSQL, expiring
after ``LEASE_CHECKS`` intervals without renewal); a watcher without the lease checks
nothing, and takes over when the holder stops or dies. Embedded, the data directory's
processing lock already lets one process run it.

Because they come from the wall clock, not the log, these alerts are not rebuilt by a
replay: a replay's ``alerts`` view holds the learner alerts only (deliveries and the
lifecycle of aggregate alerts stay in ``alerts.db``).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from edupulse.alerts.lease import Lease, PostgresLease
from edupulse.config import Settings
from edupulse.errors import EdupulseError
from edupulse.insights.aggregate_rules import AggregateRule
from edupulse.insights.engagement import COURSE_VIEW, LEARNER_VIEW
from edupulse.insights.rules import ALERTS_VIEW, WEBHOOK_TOPIC, alert_id
from edupulse.stream.log_sender import ALERTS_TOPIC
from edupulse.stream.store.base import Commit, OutboxMessage, Row, StateStore

__all__ = ["COMMIT_TOPIC", "LEASE_CHECKS", "AggregateWatcher", "aggregate_lease", "rule_topic"]

logger = logging.getLogger(__name__)
COMMIT_TOPIC = "edupulse.aggregates"  # the store's offsets row of the watcher: the time of its last alert
LEASE_NAME = "aggregates"
LEASE_CHECKS = 3  # the lease outlives this many check intervals without renewal


def aggregate_lease(settings: Settings) -> Lease | None:
    """The lease of a deployment's aggregate watcher: a PostgreSQL row in scale-out; none embedded
    (the processing lock already lets one process run the watcher)."""
    if settings.deployment != "scaleout":
        return None
    pg = settings.postgres
    ttl_s = LEASE_CHECKS * settings.rules.aggregate_interval_s
    return PostgresLease(pg.dsn, schema=pg.schema_name, name=LEASE_NAME, ttl_s=ttl_s)


def rule_topic(rule: AggregateRule, action: str) -> str:
    """The outbox topic of one action of an aggregate rule (a rule's own webhook URL has its own)."""
    if action == "webhook":
        return f"aggregates.webhook.{rule.name}" if rule.webhook_url else WEBHOOK_TOPIC
    return f"alerts.{action}"


class AggregateWatcher:
    """Checks aggregate rules over a store's serving views."""

    def __init__(
        self,
        store: StateStore,
        rules: Sequence[AggregateRule],
        *,
        clock: Callable[[], int] | None = None,
        lease: Lease | None = None,
    ) -> None:
        """``lease``: check only while holding it (one watcher across processes and hosts)."""
        self.store = store
        self.lease = lease
        store.setup([ALERTS_VIEW])  # also when no learner rule (hence no rules operator) creates it
        self.rules = list(rules)
        self.clock = clock or (lambda: time.time_ns() // 1000)
        self._disarmed: set[tuple[str, str, str]] = set()  # rule, tenant, course: fired, not yet back below
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> list[Row]:
        """One check of every rule over every scope; the alerts raised (none without the lease)."""
        if self.lease is not None and not self.lease.acquire():
            self._disarmed.clear()  # another watcher checks; what this one remembered grows stale
            return []
        now = self.clock()
        courses = self._courses()
        rows: list[Row] = []
        outbox: list[OutboxMessage] = []
        for rule in self.rules:
            for (tenant, course), value in self._figures(rule, courses, now).items():
                row = self._check(rule, tenant, course, value, now)
                if row is not None:
                    rows.append(row)
                    outbox += self._messages(rule, row, value)
        if rows:
            self.store.commit(Commit(COMMIT_TOPIC, 0, now, views={ALERTS_VIEW.name: rows}, outbox=outbox))
        return rows

    def _courses(self) -> dict[tuple[str, str], list[Row]]:
        out: dict[tuple[str, str], list[Row]] = {}
        for row in self.store.select(COURSE_VIEW.name, {}):
            out.setdefault((row["tenant"], row["course"]), []).append(row)
        return out

    def _figures(
        self, rule: AggregateRule, courses: dict[tuple[str, str], list[Row]], now: int
    ) -> dict[tuple[str, str], float]:
        """The rule's figure per scope: (tenant, course), course "" for the institution."""
        per_course: dict[tuple[str, str], float] = {}
        for (tenant, course), parts in courses.items():
            where = {"tenant": tenant, "course": course}
            if rule.metric == "active_learners":
                since = {"last_seen_us": now - rule.window_us}
                per_course[tenant, course] = self.store.count(LEARNER_VIEW.name, where, at_least=since)
            elif rule.metric == "enrolments":
                per_course[tenant, course] = self.store.count(LEARNER_VIEW.name, where)
            else:
                per_course[tenant, course] = sum((p["attempts"] or 0) - (p["scored"] or 0) for p in parts)
        if rule.scope == "course":
            return per_course
        totals: dict[tuple[str, str], float] = {}
        for (tenant, _), value in per_course.items():
            totals[tenant, ""] = totals.get((tenant, ""), 0) + value
        return totals

    def _check(self, rule: AggregateRule, tenant: str, course: str, value: float, now: int) -> Row | None:
        key = (rule.name, tenant, course)
        if value <= rule.above:
            self._disarmed.discard(key)
            return None
        if key in self._disarmed:
            return None
        where = {"tenant": tenant, "rule": rule.name, "course": course}
        last = self.store.select(ALERTS_VIEW.name, where, order_by="opened_us", descending=True, limit=1)
        if last and now < last[0]["opened_us"] + rule.cooldown_us:
            return None
        self._disarmed.add(key)
        scope = f"course {course!r}" if course else f"tenant {tenant!r}"
        reason = f"{rule.metric} of {scope} is {value:g}, above {rule.above:g}"
        return {
            "tenant": tenant,
            "id": alert_id(rule.name, tenant, "", course, now),
            "rule": rule.name,
            "learner": "",
            "course": course,
            "opened_us": now,
            "reason": reason,
            "status": "open",
            "outcome": None,
            "reengaged_us": None,
        }

    @staticmethod
    def _messages(rule: AggregateRule, row: Row, value: float) -> list[OutboxMessage]:
        base = {k: v for k, v in row.items() if k not in ("outcome", "reengaged_us")}
        body: dict[str, Any] = {"type": "edupulse.aggregate_alert", **base, "metric": rule.metric}
        body |= {"scope": rule.scope, "value": value, "threshold": rule.above}
        lake = json.dumps(body, sort_keys=True).encode()  # the lake's alerts table; keyed by tenant, as no learner
        out = [OutboxMessage(ALERTS_TOPIC, row["tenant"] + "\x1f", lake, row["id"])]
        for action in rule.actions:
            extra = {"email_to": rule.email_to} if action == "email" else {}
            payload = json.dumps(body | extra, sort_keys=True).encode()
            out.append(OutboxMessage(rule_topic(rule, action), row["id"], payload, f"{row['id']}:{action}"))
        return out

    # -- the watcher thread ----------------------------------------------------------------

    def start(self, interval_s: float) -> None:
        """Check in a background thread every ``interval_s`` until ``stop``."""
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, args=(interval_s,), name="aggregate-rules", daemon=True)
        self._thread.start()

    def _loop(self, interval_s: float) -> None:
        while not self._stop.wait(interval_s):
            try:
                self.run_once()
            except EdupulseError:
                logger.exception("checking the aggregate rules failed; retrying in %.0f s", interval_s)

    def stop(self) -> None:
        """Stop checking; give the lease up so that another watcher takes over at once."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None
        if self.lease is not None:
            try:
                self.lease.release()
            except EdupulseError:
                logger.warning("could not release the aggregate rules' lease; it expires by itself")
            self.lease.close()
            self.lease = None
