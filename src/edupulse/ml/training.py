"""Training the mastery model from a history of graded attempts."""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from edupulse.ml import Attempt, bkt_fit, elo
from edupulse.ml.bkt import BktParams
from edupulse.ml.mastery_model import MasteryModel
from edupulse.ml.sequences import Sequences, group_sequences

__all__ = ["fit_bkt", "train"]


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
