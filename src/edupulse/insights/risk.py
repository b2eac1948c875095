"""Live at-risk scores: every relevant update rescores the learner-course, with reasons.

The operator rides on the feature operator (``FeatureOperator.observe``): right after an
event is folded, in log order, it builds the learner's feature row from the state as it
stands then, as of just after the newest fact of that learner-course. Rows wait in a
list; ``process`` predicts them with one call per model and batch. Rows keep the feature
vector they were scored on; the reasons are computed when a row is read
(``insights.risk_explain``), as explaining costs a prediction per feature. A score is a
function of the log up to its event, so it is the same live and in replay, whatever the
batches.

Cohort features need a course's other learners, but a partition holds only its own
learners: the operator places a learner in the cohort of the course's learners of the
same partition (a deterministic sample of it), summarised as of the start of the UTC
day of the cut-off. The summary is rebuilt by the first event (in log order) whose
cut-off falls on a later day, and kept in the operator's state, so a restore continues
with the very summary live used. Other-course features come from the learner's other
courses, all in the learner's partition (``insights.history``).

The models come from the registry (``ml.risk_models.RiskSource``): before scoring a batch
the operator polls the aliases, so a new champion scores from the next batch on, the
whole batch with one version (a deployment started with no model stored has the
operator too, scoring nothing until a first champion or ``latest`` appears); a
challenger, if named, scores the same rows in shadow (``insights.risk_shadow``). A
replay scores with the champion of the time it runs (docs/models.md).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import msgspec

from edupulse.errors import ConfigError
from edupulse.events.model import LearningEvent
from edupulse.insights.cohort import Cohort
from edupulse.insights.features import DAY_US, FeatureOperator, FeatureState, features_as_of, split_key
from edupulse.insights.history import history_features
from edupulse.insights.risk_shadow import SHADOW_VIEW, predict, shadow_rows
from edupulse.insights.risk_silence import SILENCE_PREFIX, WATERMARK_KEY, SilenceClock, silence_event_id
from edupulse.insights.risk_views import HISTORY_STEP, HISTORY_VIEW, RISK_VIEW, Score, lake_messages
from edupulse.stream.operator import Flush
from edupulse.stream.store.base import OutboxMessage, Row, ViewSpec

if TYPE_CHECKING:
    from edupulse.ml.risk_models import RiskModels, RiskSource

__all__ = ["RiskOperator", "RiskState"]

_SEP = "\x1f"
_LEARNER, _COHORT = "L" + _SEP, "C" + _SEP


class RiskState(msgspec.Struct, array_like=True, gc=False):
    """A learner-course's scoring record: newest fact, and the last history row."""

    latest_us: int = -(2**62)
    rows: int = 0  # history rows so far (the next row's seq)
    risk: float = -1.0
    model_version: str = ""
    model_day: int = -1
    # Version 1 kept the last history row's reasons here: decoding ignores that trailing field.


_encode = msgspec.msgpack.Encoder().encode
_decode_state = msgspec.msgpack.Decoder(RiskState).decode
_decode_cohort = msgspec.msgpack.Decoder(Cohort).decode


class _Partition:
    __slots__ = (
        "by_course",
        "by_learner",
        "cohorts",
        "current",
        "dirty",
        "history",
        "outbox",
        "pending",
        "scores",
        "shadow",
        "silent",
    )

    def __init__(self) -> None:
        self.scores: dict[str, RiskState] = {}
        self.cohorts: dict[str, Cohort] = {}
        self.by_course: dict[str, dict[str, FeatureState]] = {}  # tenant<US>course -> learner -> state
        self.by_learner: dict[str, dict[str, FeatureState]] = {}  # tenant<US>learner -> course -> state
        self.pending: list[tuple[str, Score]] = []
        self.silent: list[tuple[str, Score]] = []  # silence rescores among the pending ones
        self.dirty: set[str] = set()
        self.current: dict[str, Row] = {}
        self.history: list[Row] = []
        self.outbox: list[OutboxMessage] = []
        self.shadow: dict[str, Row] = {}  # key -> the challenger's latest score (never the learner's risk)

    def index(self, key: str, state: FeatureState) -> None:
        tenant, course, learner = split_key(key)
        self.by_course.setdefault(tenant + _SEP + course, {})[learner] = state
        self.by_learner.setdefault(tenant + _SEP + learner, {})[course] = state


class RiskOperator:
    """Rescores a learner-course on every relevant event with the stored risk models."""

    name: str = "risk"
    version: str = "2"  # 2: rows keep their features; no reasons in the stream
    views: Sequence[ViewSpec] = (RISK_VIEW, HISTORY_VIEW, SHADOW_VIEW)

    def __init__(
        self,
        features: FeatureOperator,
        models: RiskModels | None = None,
        *,
        lake: bool = False,
        source: RiskSource | None = None,
        silence_us: Sequence[int] = (),
        allowed_lateness_us: int = 0,
    ) -> None:
        """Scores with ``models``, or with ``source``'s champion (and its challenger, in shadow),
        taking new ones between batches when the aliases move; while the source has no
        champion yet nothing is scored (the batch that finds the first one is not scored:
        its events were folded before the poll; the batches after it are). ``silence_us``: rescore a
        learner-course when it has been silent this long (each length), as the partition's
        watermark passes the deadline (``insights.risk_silence``)."""
        if models is None and source is None:
            raise ConfigError("the risk operator needs at-risk models: train them first (edupulse train risk)")
        self.features = features
        self.models: RiskModels | None = models if models is not None else source.champion if source else None
        self.challenger = source.challenger if source is not None and models is None else None
        self.source = source if models is None else None
        self.lake = lake
        self._parts: dict[int, _Partition] = {}
        self.silence: SilenceClock | None = None
        if silence_us:
            self.silence = SilenceClock(silence_us, allowed_lateness_us=allowed_lateness_us, rescore=self._silent)
        if self.models is not None:
            self._attach()

    def _attach(self) -> None:
        """Start scoring: follow the feature operator's events, every learner-course indexed.

        Until a model is there the operator does not follow them, so the feature operator
        keeps its fast path and an empty source costs a poll per batch."""
        self.features.observe(self._observe)
        if self.silence is not None:
            self.features.tick(self.silence.tick)
        for partition, part in self._parts.items():
            for key, fstate in self.features.states(partition).items():
                if split_key(key)[1]:
                    part.index(key, fstate)

    def restore(self, partition: int, state: Mapping[str, bytes]) -> None:
        """Called after the feature operator's restore (it comes first in the chain)."""
        part = _Partition()
        if self.silence is not None:
            self.silence.restore(partition, state)
        for key, value in state.items():
            if key.startswith(SILENCE_PREFIX) or key == WATERMARK_KEY:
                continue
            if key.startswith(_COHORT):
                part.cohorts[key.removeprefix(_COHORT)] = _decode_cohort(value)
            else:
                part.scores[key.removeprefix(_LEARNER)] = _decode_state(value)
        for key, fstate in self.features.states(partition).items():
            if split_key(key)[1]:
                part.index(key, fstate)
        self._parts[partition] = part

    def revoke(self, partition: int) -> None:
        self._parts.pop(partition, None)
        if self.silence is not None:
            self.silence.revoke(partition)

    def _silent(self, partition: int, key: str, quiet_us: int, deadline_us: int) -> None:
        """Rescore a learner-course silent since ``deadline_us - quiet_us``, as of the deadline."""
        part = self._parts[partition]
        if key not in part.scores:
            return
        score = self.score_as_of(partition, key, deadline_us, silence_event_id(quiet_us, deadline_us), deadline_us)
        part.pending.append((key, score))
        part.silent.append((key, score))

    def _observe(self, partition: int, key: str, state: FeatureState, ev: LearningEvent) -> None:
        """The features of ``key`` right after ``ev``, queued for scoring."""
        part = self._parts[partition]
        record = part.scores.get(key)
        if record is None:
            record = part.scores[key] = RiskState()
            part.index(key, state)
        record.latest_us = max(record.latest_us, ev.event_time_us)
        score = self.score_as_of(partition, key, record.latest_us + 1, ev.event_id, ev.event_time_us)
        part.pending.append((key, score))

    def score_as_of(self, partition: int, key: str, cut: int, event_id: str, event_time_us: int) -> Score:
        """A learner-course's score to be, as of ``cut``: its features from the facts timed before
        ``cut`` (placed in the partition's cohort, with its other courses) and the model of its
        course day. ``process`` predicts it, as it does every pending score."""
        part = self._parts[partition]
        tenant, course, learner = split_key(key)
        state = part.by_course[tenant + _SEP + course][learner]
        row = features_as_of(state, cut)
        self._cohort(part, tenant + _SEP + course, cut).place(row, state, cut)
        row |= history_features(part.by_learner[tenant + _SEP + learner], course, cut)
        return Score(tenant, course, learner, event_id, event_time_us, cut, -1, row)

    def _cohort(self, part: _Partition, course: str, cut: int) -> Cohort:
        """The course's cohort in this partition as of the start of ``cut``'s day (rebuilt on a later day)."""
        start = cut // DAY_US * DAY_US
        cohort = part.cohorts.get(course)
        if cohort is None or cohort.cut_us < start:
            cohort = part.cohorts[course] = Cohort.of(part.by_course[course], start)
            part.dirty.add(_COHORT + course)
        return cohort

    def process(self, partition: int, events: Sequence[LearningEvent]) -> None:
        """Score what the feature operator queued for this batch: one prediction per model."""
        part = self._parts[partition]
        pending, part.pending = part.pending, []
        if self.source is not None and self.source.poll():  # between batches: the whole batch uses one version
            first = self.models is None
            self.models, self.challenger = self.source.champion or self.models, self.source.challenger
            if first and self.models is not None:  # the first model: scores from the next batch on
                self._attach()
        if not pending or self.models is None:
            return
        scores = [s for _, s in pending]
        for s, (day, risk) in zip(scores, predict(self.models, scores), strict=True):
            s.model_day, s.risk = day, risk
        if self.silence is not None:
            for key, s in part.silent:
                self.silence.record(partition, key, s.as_of_us, s.risk)
            part.silent = []
        version = self.models.version
        kept = self._record(part, pending, version)
        self._emit(part, pending, kept, version)
        if self.challenger is not None:
            part.shadow.update(shadow_rows(self.challenger, pending, version))

    def _record(self, part: _Partition, pending: list[tuple[str, Score]], version: str) -> dict[int, int]:
        """Which scores become history rows (index -> seq), updating each learner-course's record."""
        kept: dict[int, int] = {}
        for i, (key, s) in enumerate(pending):
            record = part.scores[key]
            moved = abs(s.risk - record.risk) > HISTORY_STEP
            if moved or record.model_version != version or record.model_day != s.model_day:
                kept[i] = record.rows
                record.rows += 1
                record.risk, record.model_version, record.model_day = s.risk, version, s.model_day
            part.dirty.add(_LEARNER + key)
        return kept

    def _emit(self, part: _Partition, pending: list[tuple[str, Score]], kept: dict[int, int], version: str) -> None:
        """History rows, and each learner-course's latest score, each with its features."""
        for i, seq in kept.items():
            key, score = pending[i]
            row = score.row(version, seq)
            part.history.append(row)
            if self.lake:
                part.outbox.extend(lake_messages(score, row))
        latest = dict(pending)
        for key, score in latest.items():
            part.current[key] = score.row(version)

    def flush(self, partition: int) -> Flush:
        part = self._parts[partition]
        out = Flush()
        for key in sorted(part.dirty):
            if key.startswith(_COHORT):
                out.state[key] = _encode(part.cohorts[key.removeprefix(_COHORT)])
            else:
                out.state[key] = _encode(part.scores[key.removeprefix(_LEARNER)])
        if self.silence is not None:
            out.state.update(self.silence.flush(partition))
        out.views = {RISK_VIEW.name: list(part.current.values()), HISTORY_VIEW.name: part.history}
        if part.shadow:
            out.views[SHADOW_VIEW.name] = list(part.shadow.values())
        out.outbox = part.outbox
        part.dirty, part.current, part.history, part.outbox, part.shadow = set(), {}, [], [], {}
        return out
