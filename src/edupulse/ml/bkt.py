"""Bayesian Knowledge Tracing with forgetting: per-skill parameters and the online update.

A learner either knows a skill or not. Before the first attempt they know it with
probability ``prior``; an attempt is correct with probability ``1 - slip`` if they know
it and ``guess`` if not; after each attempt an unknown skill is learnt with probability
``learn`` and a known one forgotten with probability ``forget``.

The online update is plain float arithmetic on one number, P(known) before the next
attempt, so the stream operator pays well under a microsecond per skill per attempt.
Fitting the parameters from history is in ``bkt_fit``.
"""

from __future__ import annotations

import msgspec

__all__ = ["DEFAULT_PARAMS", "BktParams", "p_correct", "update"]


class BktParams(msgspec.Struct, frozen=True):
    """The five parameters of one skill."""

    prior: float
    learn: float
    forget: float
    guess: float
    slip: float

    def __post_init__(self) -> None:
        for name in ("prior", "learn", "forget"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"BKT {name} must be within [0, 1], not {getattr(self, name)}")
        for name in ("guess", "slip"):  # strictly inside: an update divides by P(answer)
            if not 0.0 < getattr(self, name) < 1.0:
                raise ValueError(f"BKT {name} must be within (0, 1), not {getattr(self, name)}")


# Used for a skill no model was fitted for, when no fitted global fallback exists either.
DEFAULT_PARAMS = BktParams(prior=0.4, learn=0.1, forget=0.0, guess=0.2, slip=0.1)


def p_correct(p_known: float, params: BktParams) -> float:
    """P(the next attempt is correct) for a learner who knows the skill with ``p_known``."""
    return p_known * (1.0 - params.slip) + (1.0 - p_known) * params.guess


def update(p_known: float, correct: bool, params: BktParams) -> float:
    """P(known) before the next attempt, after observing this one.

    Bayes' rule on the observation, then one step of the learn/forget transition.
    """
    if correct:
        known = p_known * (1.0 - params.slip)
        posterior = known / (known + (1.0 - p_known) * params.guess)
    else:
        known = p_known * params.slip
        posterior = known / (known + (1.0 - p_known) * (1.0 - params.guess))
    return posterior * (1.0 - params.forget) + (1.0 - posterior) * params.learn
