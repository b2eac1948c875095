"""Intervention rules over the event stream, on event time: alerts, cool-downs, dedupe.

State is keyed by (tenant, learner) within the learner's partition: the newest event
time per course, recent failures per rule, course and skill, and when each rule last
alerted. Two rule kinds (``insights.rule_file``):

* ``failed_attempts``: the Nth failure on one skill within the window raises an alert
  at that failure's event time; the count then starts over.
* ``inactive``: a learner silent in a course for ``days`` is alerted when the
  partition's watermark (newest event time minus the allowed lateness) passes the
  deadline. The watermark advances event by event in log order, so live processing
  and replay raise the same alerts at the same event times, whatever the batch sizes.

Every alert has a deterministic id (rule, tenant, learner, course, window start). It
keys the ``alerts`` view row and each action's outbox message (the idempotency key),
so re-processing a batch or replaying the log never delivers an alert twice.
"""

from __future__ import annotations

import bisect
import functools
import hashlib
import heapq
import json
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta

import msgspec

from edupulse.events.model import LearningEvent
from edupulse.events.vocabulary import ATTEMPT_VERBS, Verb
from edupulse.insights.reengagement import STATE_PREFIX as REENGAGE_PREFIX
from edupulse.insights.reengagement import Watch, Watches
from edupulse.insights.rule_file import RuleBase, RuleSet
from edupulse.insights.rules_due import STATE_PREFIX as DUE_PREFIX
from edupulse.insights.rules_due import DueRules, DueWarning
from edupulse.stream.log_sender import ALERTS_TOPIC
from edupulse.stream.operator import Flush
from edupulse.stream.store.base import OutboxMessage, Row, ViewSpec

__all__ = ["ALERTS_VIEW", "WEBHOOK_TOPIC", "RiskAt", "RulesOperator", "alert_id"]

ALERTS_VIEW = ViewSpec(
    name="alerts",
    key=("tenant", "id"),
    columns={
        "tenant": "text",
        "id": "text",
        "rule": "text",
        "learner": "text",
        "course": "text",
        "opened_us": "int",
        "reason": "text",
        "status": "text",
        "outcome": "text",  # re-engagement: pending, reengaged, not_reengaged (insights.reengagement)
        "reengaged_us": "int",
    },
    indexes=(("tenant", "course", "opened_us"), ("tenant", "learner")),
)
WEBHOOK_TOPIC = "alerts.webhook"
ALERT_OBJECT_TYPE = "alert"  # the object type of an alert statement (alerts.xapi_action), as events carry it
_WATERMARK_KEY = "\x00watermark"
_SEP = "\x1f"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
RiskAt = Callable[[int, str, int], float | None]
"""(partition, ``tenant<US>course<US>learner``, deadline): the risk rescored then (``RiskOperator.silence``)."""


class LearnerRules(msgspec.Struct, array_like=True, gc=False):
    """What the rules remember of one learner."""

    last_seen: dict[str, int] = msgspec.field(default_factory=dict)  # course -> newest event time
    failures: dict[str, list[int]] = msgspec.field(default_factory=dict)  # rule, course, skill -> failure times
    alerted: dict[str, int] = msgspec.field(default_factory=dict)  # rule, course -> opened_us of the last alert
    quiet_done: dict[str, int] = msgspec.field(default_factory=dict)  # rule, course -> last_seen already alerted


_encode = msgspec.msgpack.Encoder().encode
_decode = msgspec.msgpack.Decoder(LearnerRules).decode


def alert_id(rule: str, tenant: str, learner: str, course: str, window_start_us: int, *, detail: str = "") -> str:
    """The deterministic id of an alert: the same facts always give the same id.

    ``detail`` tells apart alerts of one rule, learner and course with the same window
    start (the assignment of a due-date alert); empty for the other kinds.
    """
    parts = (rule, tenant, learner, course, str(window_start_us)) + ((detail,) if detail else ())
    raw = _SEP.join(parts)
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


_FAILURE_VERBS = ATTEMPT_VERBS | {Verb.FAILED}


def is_failure(ev: LearningEvent) -> bool:
    """A failed attempt: the verb ``failed``, or an attempt whose result says unsuccessful."""
    if ev.verb == Verb.FAILED:
        return True
    return ev.verb in ATTEMPT_VERBS and ev.result is not None and ev.result.success is False


class _Partition:
    __slots__ = ("alerts", "dirty", "learners", "max_seen", "outbox", "queue", "scheduled", "watches")

    def __init__(self) -> None:
        self.learners: dict[str, LearnerRules] = {}
        self.max_seen = -(2**62)
        self.queue: list[tuple[int, str, str, int]] = []  # deadline, learner key, course, inactive rule index
        self.scheduled: dict[tuple[str, str], int] = {}  # learner key, course -> bit i: rule i has a deadline queued
        self.dirty: set[str] = set()
        self.alerts: list[Row] = []
        self.outbox: list[OutboxMessage] = []
        self.watches = Watches()  # alerts waiting for their learner to come back


class RulesOperator:
    """Evaluates a rules file over every event of the partitions it owns."""

    name: str = "rules"
    version: str = "1"
    views: Sequence[ViewSpec] = (ALERTS_VIEW,)

    def __init__(self, ruleset: RuleSet, *, allowed_lateness_us: int, risk_at: RiskAt | None = None) -> None:
        """``risk_at``: the risks rescored at silence deadlines, for ``inactive`` rules with
        ``risk_above`` (without it such rules raise nothing: there is no risk to compare)."""
        self.lateness_us = allowed_lateness_us
        self.risk_at = risk_at
        self.failed_rules = ruleset.failed_attempts
        self.inactive_rules = ruleset.inactive
        self._full_mask = (1 << len(self.inactive_rules)) - 1
        self.keep_us = max((r.window_us for r in self.failed_rules), default=0)
        self.due = DueRules(ruleset.due_not_started, ruleset.calendar) if ruleset.due_not_started else None
        self._parts: dict[int, _Partition] = {}

    # -- lifecycle ------------------------------------------------------------------

    def restore(self, partition: int, state: Mapping[str, bytes]) -> None:
        part = _Partition()
        due_state: dict[str, bytes] = {}
        watch_state: dict[str, bytes] = {}
        for key, value in state.items():
            if key == _WATERMARK_KEY:
                part.max_seen = int(value)
            elif key.startswith(DUE_PREFIX):
                due_state[key[len(DUE_PREFIX) :]] = value
            elif key.startswith(REENGAGE_PREFIX):
                watch_state[key[len(REENGAGE_PREFIX) :]] = value
            else:
                part.learners[key] = _decode(value)
        part.watches.restore(watch_state)
        if self.due is not None:
            self.due.restore(partition, due_state)
        for lkey in sorted(part.learners):
            for course in sorted(part.learners[lkey].last_seen):
                self._schedule(part, lkey, course)
        self._parts[partition] = part

    def revoke(self, partition: int) -> None:
        self._parts.pop(partition, None)
        if self.due is not None:
            self.due.revoke(partition)

    def process(self, partition: int, events: Sequence[LearningEvent]) -> None:
        # Runs once per event: locals, and the helpers only when a rule may be concerned.
        part = self._parts[partition]
        learners, dirty, scheduled = part.learners, part.dirty, part.scheduled
        full = self._full_mask
        failures = bool(self.failed_rules)
        due, raise_due = self.due, functools.partial(self._due_alert, part)
        watches = part.watches
        watching = watches.learners
        for ev in events:
            t = ev.event_time_us
            if t > part.max_seen:
                part.max_seen = t
                if part.queue:
                    self._expire(partition, part)
                if due is not None:
                    due.expire(partition, t - self.lateness_us, raise_due)
                if watches.queue:
                    part.alerts.extend(watches.expire(t - self.lateness_us))
            if ev.object_type == ALERT_OBJECT_TYPE and ev.verb == Verb.OTHER:
                continue  # an alert recorded back in our own LRS (the xapi action): not learning activity
            lkey = ev.tenant + _SEP + ev.learner
            state = learners.get(lkey)
            if state is None:
                state = learners[lkey] = LearnerRules()
            dirty.add(lkey)
            course = ev.course or ""
            if lkey in watching:
                part.alerts.extend(watches.observe(lkey, course, t))
            seen = state.last_seen
            if t > seen.get(course, -(2**62)):
                seen[course] = t
                if full and scheduled.get((lkey, course), 0) != full:
                    self._schedule(part, lkey, course)
            if failures and ev.verb in _FAILURE_VERBS and is_failure(ev):
                self._failure(part, ev, state, course)
            if due is not None:
                due.observe(partition, lkey, ev, course)

    def flush(self, partition: int) -> Flush:
        part = self._parts[partition]
        out = Flush()
        for lkey in part.dirty:
            out.state[lkey] = _encode(part.learners[lkey])
        part.dirty.clear()
        out.state[_WATERMARK_KEY] = str(part.max_seen).encode()
        out.state.update(part.watches.flush())
        if self.due is not None:
            out.state.update(self.due.flush(partition))
        # An alert raised and re-engaged in one batch has two rows: the last one stands.
        out.views = {ALERTS_VIEW.name: list({r["id"]: r for r in part.alerts}.values())}
        out.outbox = part.outbox
        part.alerts, part.outbox = [], []
        return out

    # -- failed attempts --------------------------------------------------------------

    def _failure(self, part: _Partition, ev: LearningEvent, state: LearnerRules, course: str) -> None:
        t = ev.event_time_us
        for skill in dict.fromkeys(ev.skills or (ev.object_id,)):
            for rule in self.failed_rules:
                fkey = _SEP.join((rule.name, course, skill))
                times = sorted([*state.failures.get(fkey, ()), t])
                times = times[bisect.bisect_left(times, times[-1] - self.keep_us) :]
                window = _window_with(times, t, rule.count, rule.window_us)
                if window is not None and self._cooled(state, rule, course, window[-1]):
                    reason = (
                        f"{len(window)} failed attempts on skill {skill!r} within {rule.within_hours:g} h "
                        f"(from {_iso(window[0])} to {_iso(window[-1])})"
                    )
                    self._raise(
                        part,
                        state,
                        rule,
                        tenant=ev.tenant,
                        learner=ev.learner,
                        course=course,
                        window_start=window[0],
                        opened=window[-1],
                        reason=reason,
                    )
                    times = []  # counting starts over
                state.failures[fkey] = times

    # -- inactivity ---------------------------------------------------------------------

    def _schedule(self, part: _Partition, lkey: str, course: str) -> None:
        """Make sure every inactive rule has a deadline queued for this learner and course."""
        last = part.learners[lkey].last_seen[course]
        mask = part.scheduled.get((lkey, course), 0)
        for i, rule in enumerate(self.inactive_rules):
            if not mask & (1 << i):
                mask |= 1 << i
                heapq.heappush(part.queue, (last + rule.quiet_us, lkey, course, i))
        part.scheduled[(lkey, course)] = mask

    def _expire(self, partition: int, part: _Partition) -> None:
        """Alert every learner whose deadline the watermark has passed."""
        watermark = part.max_seen - self.lateness_us
        queue = part.queue
        while queue and queue[0][0] <= watermark:
            _, lkey, course, i = heapq.heappop(queue)
            rule = self.inactive_rules[i]
            state = part.learners[lkey]
            last = state.last_seen[course]
            if last + rule.quiet_us > watermark:  # active since: wait for the new deadline
                heapq.heappush(queue, (last + rule.quiet_us, lkey, course, i))
                continue
            remaining = part.scheduled.pop((lkey, course), 0) & ~(1 << i)
            if remaining:
                part.scheduled[(lkey, course)] = remaining
            done_key = rule.name + _SEP + course
            if state.quiet_done.get(done_key) == last:
                continue
            state.quiet_done[done_key] = last
            part.dirty.add(lkey)
            opened = last + rule.quiet_us
            tenant, learner = lkey.split(_SEP, 1)
            reason = f"no activity in course {course!r} for {rule.days:g} days (last seen {_iso(last)})"
            if rule.risk_above is not None:
                risk = self._risk_at(partition, tenant, course, learner, opened)
                if risk is None or risk <= rule.risk_above:
                    continue
                reason = f"risk {risk:.2f} (above {rule.risk_above:g}) and " + reason
            if self._cooled(state, rule, course, opened):
                self._raise(
                    part,
                    state,
                    rule,
                    tenant=tenant,
                    learner=learner,
                    course=course,
                    window_start=last,
                    opened=opened,
                    reason=reason,
                )

    def _risk_at(self, partition: int, tenant: str, course: str, learner: str, deadline: int) -> float | None:
        if self.risk_at is None or not course:
            return None
        return self.risk_at(partition, tenant + _SEP + course + _SEP + learner, deadline)

    # -- due dates (insights.rules_due) ----------------------------------------------------

    def _due_alert(self, part: _Partition, warning: DueWarning) -> None:
        lkey, rule, course = warning.lkey, warning.rule, warning.course
        state = part.learners[lkey]
        if not self._cooled(state, rule, course, warning.warn_us):
            return
        part.dirty.add(lkey)
        tenant, learner = lkey.split(_SEP, 1)
        reason = (
            f"assignment {warning.assignment!r} is due {_iso(warning.due_us)} and not started {rule.hours:g} h before"
        )
        self._raise(
            part,
            state,
            rule,
            tenant=tenant,
            learner=learner,
            course=course,
            window_start=warning.due_us,
            opened=warning.warn_us,
            reason=reason,
            detail=warning.assignment,
        )

    # -- alerts ------------------------------------------------------------------------

    @staticmethod
    def _cooled(state: LearnerRules, rule: RuleBase, course: str, t: int) -> bool:
        last = state.alerted.get(rule.name + _SEP + course)
        return last is None or t >= last + rule.cooldown_us

    def _raise(
        self,
        part: _Partition,
        state: LearnerRules,
        rule: RuleBase,
        *,
        tenant: str,
        learner: str,
        course: str,
        window_start: int,
        opened: int,
        reason: str,
        detail: str = "",
    ) -> None:
        state.alerted[rule.name + _SEP + course] = opened
        aid = alert_id(rule.name, tenant, learner, course, window_start, detail=detail)
        row: Row = {
            "tenant": tenant,
            "id": aid,
            "rule": rule.name,
            "learner": learner,
            "course": course,
            "opened_us": opened,
            "reason": reason,
            "status": "open",
        }
        watch = Watch(aid, rule.name, course, opened, opened + rule.reengage_us, reason)
        part.alerts.append(part.watches.track(tenant + _SEP + learner, watch))
        payload = json.dumps({"type": "edupulse.alert", **row}, sort_keys=True).encode()
        part.outbox.append(OutboxMessage(ALERTS_TOPIC, f"{tenant}{_SEP}{learner}", payload, aid))  # the lake's alerts
        for action in rule.actions:
            body = payload
            if action == "email":
                body = json.dumps({"type": "edupulse.alert", **row, "email_to": rule.email_to}, sort_keys=True).encode()
            part.outbox.append(OutboxMessage(f"alerts.{action}", aid, body, f"{aid}:{action}"))


def _window_with(times: list[int], t: int, count: int, width_us: int) -> list[int] | None:
    """The earliest ``count`` sorted failure times spanning at most ``width_us`` that include ``t``.

    Events may arrive out of event-time order: a late failure can complete a window
    that ends after it.
    """
    for i in range(len(times) - count + 1):
        first, last = times[i], times[i + count - 1]
        if first > t:
            break
        if last >= t and last - first <= width_us:
            return times[i : i + count]
    return None


def _iso(time_us: int) -> str:
    """An event time in plain words (ISO 8601, UTC, to the second)."""
    return (_EPOCH + timedelta(microseconds=time_us)).isoformat(timespec="seconds")
