"""Training the mastery model from a history of graded attempts: a CSV, or the event log.

From the log, the attempts are picked by the same rule the mastery operator uses
(``insights.mastery.outcome``), in log order, so the model is trained on exactly what
the operator will trace.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import msgspec

from edupulse.events.model import LearningEvent, decode_event, decode_events
from edupulse.insights.mastery import outcome
from edupulse.log.base import EventLog, LogRecord
from edupulse.ml import Attempt, bkt_fit, elo
from edupulse.ml.bkt import BktParams
from edupulse.ml.mastery_model import MasteryModel
from edupulse.ml.sequences import Sequences, group_sequences

__all__ = ["attempts_from_log", "fit_bkt", "train"]

logger = logging.getLogger(__name__)
_BATCH = 50_000


def fit_bkt(attempts: Sequence[Attempt], options: bkt_fit.FitOptions) -> tuple[dict[str, BktParams], BktParams, float]:
    """BKT parameters per skill, a global fallback fitted on every skill pooled, and the log-likelihood."""
    seqs, skills = group_sequences(attempts)
    names = sorted(set(skills))
    index = {name: i for i, name in enumerate(names)}
    pooled = len(names)
    layout = Sequences(seqs + seqs, [index[s] for s in skills] + [pooled] * len(seqs), pooled + 1)
    result = bkt_fit.fit(layout, options)
    return dict(zip(names, result.params, strict=False)), result.params[pooled], result.log_likelihood


def train(attempts: Sequence[Attempt], options: bkt_fit.FitOptions, *, source: str = "") -> MasteryModel:
    """Fit BKT (per skill, with a pooled fallback) and Elo difficulties from a history of attempts."""
    per_skill, fallback, loglik = fit_bkt(attempts, options)
    return MasteryModel(
        bkt=per_skill,
        bkt_fallback=fallback,
        elo=elo.fit(attempts),
        trained_on={
            "source": source,
            "attempts": len(attempts),
            "options": msgspec.to_builtins(options),
            "log_likelihood": round(loglik, 3),
        },
    )


def attempts_from_log(log: EventLog, topic: str) -> list[Attempt]:
    """Every graded attempt in the log, per skill, partition after partition in log order.

    Learners are keyed by tenant and learner; a record that cannot be decoded is skipped
    with a warning (the runtime dead-letters it too).
    """
    attempts: list[Attempt] = []
    starts = log.start_offsets(topic)
    for partition in range(log.partitions(topic)):
        offset = starts[partition]
        while records := log.read(topic, partition, offset, _BATCH):
            offset = records[-1].offset + 1
            for ev in _decode(records):
                correct = outcome(ev)
                if correct is not None:
                    learner = ev.tenant + "\x1f" + ev.learner
                    attempts.extend((learner, skill, correct) for skill in dict.fromkeys(ev.skills))
    return attempts


def _decode(records: list[LogRecord]) -> list[LearningEvent]:
    try:
        return decode_events([r.value for r in records])
    except msgspec.DecodeError:
        pass
    events = []
    for rec in records:
        try:
            events.append(decode_event(rec.value))
        except msgspec.DecodeError as exc:
            logger.warning("skipping undecodable record %d/%d: %s", rec.partition, rec.offset, exc)
    return events
