"""Mastery per learner and skill: knowledge tracing on every graded attempt.

Each graded attempt (an attempt verb, at least one skill, and a known outcome) updates,
for every skill it carries, the learner's BKT probability of knowing the skill and their
Elo knowledge, with the parameters of the stored mastery model (``edupulse train
mastery``), or defaults. The outcome is ``result.success``; failing that the verb
(``passed``/``failed``); failing that ``result.score >= 0.5``.

Knowledge tracing depends on the order of attempts: it follows log order, which is the
same live and in replay. State is keyed by (tenant, learner) within the learner's
partition; the serving view ``learner_skill`` has one row per learner and skill.

With a ``MasterySource`` (``ml.mastery_model``) the operator polls the mastery champion
before each batch: a new one traces from that batch on, the whole batch with one model.
Rows not yet written are first computed with the model they were traced with, so every
row's ``model_version`` names the parameters behind its figures. The state (each learner's
probabilities) carries over: a new model continues from where the old one left each
learner, where a replay traces the whole log with today's champion (docs/models.md).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import msgspec

from edupulse.events.model import LearningEvent
from edupulse.events.vocabulary import ATTEMPT_VERBS, Verb
from edupulse.ml import bkt, elo
from edupulse.ml.mastery_model import MasteryModel, MasterySource
from edupulse.stream.operator import Flush
from edupulse.stream.store.base import Row, ViewSpec

__all__ = ["MASTERY_VIEW", "LearnerMastery", "MasteryOperator", "SkillMastery", "outcome"]

MASTERY_VIEW = ViewSpec(
    name="learner_skill",
    key=("tenant", "learner", "skill"),
    columns={
        "tenant": "text",
        "learner": "text",
        "skill": "text",
        "p_mastery": "real",
        "p_correct": "real",
        "elo": "real",
        "elo_p_correct": "real",
        "attempts": "int",
        "correct": "int",
        "last_attempt_us": "int",
        "last_failed": "int",
        "model_version": "text",
    },
    indexes=(("tenant", "skill"),),
)
_SEP = "\x1f"
_SCORE_PASS = 0.5


class SkillMastery(msgspec.Struct, array_like=True, gc=False):
    """A learner's record on one skill."""

    p_known: float
    elo: elo.EloSkill
    attempts: int = 0
    correct: int = 0
    last_attempt_us: int = -(2**62)
    rating: float = 0.0  # Elo: ability + knowledge - difficulty, right after the last attempt on the skill
    last_failed: bool = False  # the outcome of the latest attempt (by event time; the last logged of a tie)


class LearnerMastery(msgspec.Struct, array_like=True, gc=False):
    """A learner's Elo ability and their record on every skill they attempted."""

    ability: elo.EloState = msgspec.field(default_factory=elo.EloState)
    skills: dict[str, SkillMastery] = msgspec.field(default_factory=dict)


_encode = msgspec.msgpack.Encoder().encode
_decode = msgspec.msgpack.Decoder(LearnerMastery).decode


def outcome(event: LearningEvent) -> bool | None:
    """Whether a graded attempt was correct; None if the event is not one."""
    if event.verb not in ATTEMPT_VERBS or not event.skills:
        return None
    res = event.result
    if res is not None and res.success is not None:
        return res.success
    if event.verb is Verb.PASSED or event.verb is Verb.FAILED:
        return event.verb is Verb.PASSED
    if res is not None and res.score is not None:
        return res.score >= _SCORE_PASS
    return None


class _Partition:
    __slots__ = ("dirty", "learners", "rows")

    def __init__(self) -> None:
        self.learners: dict[str, LearnerMastery] = {}
        self.dirty: dict[str, set[str]] = {}  # learner key -> skills changed since the last flush
        self.rows: list[Row] = []  # rows computed before a model swap, not flushed yet


class MasteryOperator:
    """BKT (with forgetting) and Elo per learner and skill, live."""

    name: str = "mastery"
    version: str = "2"  # 2: the row says whether the latest attempt failed
    views: Sequence[ViewSpec] = (MASTERY_VIEW,)

    def __init__(self, model: MasteryModel | MasterySource | None = None) -> None:
        """Traces with ``model``, or with the source's model, taking its new champions between batches."""
        self.source = model if isinstance(model, MasterySource) else None
        self.model: MasteryModel = model.model if isinstance(model, MasterySource) else model or MasteryModel()
        self.model_version = self.model.version
        self._parts: dict[int, _Partition] = {}

    def _swap(self) -> None:
        """Between batches: take the source's new champion, once the pending rows are computed with the old one."""
        if self.source is None or not self.source.poll():
            return
        for part in self._parts.values():
            part.rows.extend(self._rows(part))
        self.model = self.source.model
        self.model_version = self.model.version

    def restore(self, partition: int, state: Mapping[str, bytes]) -> None:
        part = _Partition()
        for key, value in state.items():
            part.learners[key] = _decode(value)
        self._parts[partition] = part

    def revoke(self, partition: int) -> None:
        self._parts.pop(partition, None)

    def process(self, partition: int, events: Sequence[LearningEvent]) -> None:
        self._swap()
        part = self._parts[partition]
        for ev in events:
            if ev.verb not in ATTEMPT_VERBS:
                continue
            correct = outcome(ev)
            if correct is None:
                continue
            lkey = ev.tenant + _SEP + ev.learner
            learner = part.learners.get(lkey)
            if learner is None:
                learner = part.learners[lkey] = LearnerMastery()
            dirty = part.dirty.setdefault(lkey, set())
            for skill in dict.fromkeys(ev.skills):  # a skill listed twice is one attempt at it
                self._attempt(learner, skill, correct, ev.event_time_us)
                dirty.add(skill)

    def _attempt(self, learner: LearnerMastery, skill: str, correct: bool, time_us: int) -> None:
        model = self.model
        params = model.bkt_for(skill)
        record = learner.skills.get(skill)
        if record is None:
            record = learner.skills[skill] = SkillMastery(p_known=params.prior, elo=elo.EloSkill())
        record.p_known = bkt.update(record.p_known, correct, params)
        difficulty = model.elo.difficulty.get(skill, model.elo.default_difficulty)
        elo.update(learner.ability, record.elo, correct, difficulty, model.elo)
        record.rating = learner.ability.ability + record.elo.knowledge - difficulty
        record.attempts += 1
        record.correct += correct
        if time_us >= record.last_attempt_us:
            record.last_attempt_us = time_us
            record.last_failed = not correct

    def flush(self, partition: int) -> Flush:
        part = self._parts[partition]
        out = Flush()
        for lkey in part.dirty:
            out.state[lkey] = _encode(part.learners[lkey])
        rows = {(r["tenant"], r["learner"], r["skill"]): r for r in (*part.rows, *self._rows(part))}  # the last wins
        part.rows = []
        part.dirty.clear()
        out.views = {MASTERY_VIEW.name: list(rows.values())}
        return out

    def _rows(self, part: _Partition) -> list[Row]:
        """The rows of the skills changed since the last call, with the model in use (the state stays dirty)."""
        rows: list[Row] = []
        for lkey, skills in part.dirty.items():
            tenant, name = lkey.split(_SEP, 1)
            rows.extend(self._row(tenant, name, skill, part.learners[lkey]) for skill in sorted(skills))
            skills.clear()
        return rows

    def _row(self, tenant: str, learner: str, skill: str, state: LearnerMastery) -> Row:
        record = state.skills[skill]
        params = self.model.bkt_for(skill)
        return {
            "tenant": tenant,
            "learner": learner,
            "skill": skill,
            "p_mastery": round(record.p_known, 6),
            "p_correct": round(bkt.p_correct(record.p_known, params), 6),
            "elo": round(record.rating, 6),
            "elo_p_correct": round(elo.p_correct(record.rating, 0.0, 0.0), 6),
            "attempts": record.attempts,
            "correct": record.correct,
            "last_attempt_us": record.last_attempt_us,
            "last_failed": int(record.last_failed),
            "model_version": self.model_version,
        }
