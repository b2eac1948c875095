"""An Elo-style knowledge model: learner ability, learner-skill knowledge, skill difficulty.

P(correct) = sigmoid(ability + knowledge[skill] - difficulty[skill]). After each attempt
the learner's ability and knowledge of the skill move by the surprise (``correct - P``)
times a step that shrinks with the number of attempts seen (``k / (1 + decay * n)``), the
uncertainty function of Pelánek's Elo variants. Difficulties are fitted once from
history (``fit``) and then held fixed, so every partition predicts with the same ones.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import msgspec

from edupulse.ml import Attempt

__all__ = ["EloParams", "EloSkill", "EloState", "fit", "p_correct", "update"]


class EloParams(msgspec.Struct, frozen=True):
    """Skill difficulties and the step sizes."""

    difficulty: dict[str, float] = msgspec.field(default_factory=dict)
    default_difficulty: float = 0.0
    k_ability: float = 1.0
    k_knowledge: float = 1.0
    decay: float = 0.05


class EloState(msgspec.Struct, array_like=True, gc=False):
    """One learner's ability, with the attempts it rests on."""

    ability: float = 0.0
    attempts: int = 0


class EloSkill(msgspec.Struct, array_like=True, gc=False):
    """A learner's knowledge of one skill, with the attempts it rests on."""

    knowledge: float = 0.0
    attempts: int = 0


def _sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


def p_correct(ability: float, knowledge: float, difficulty: float) -> float:
    """P(correct) of a learner with ``ability`` and ``knowledge`` of a skill this hard."""
    return _sigmoid(ability + knowledge - difficulty)


def update(learner: EloState, skill: EloSkill, correct: bool, difficulty: float, params: EloParams) -> None:
    """Move the learner's ability and knowledge of the skill after one attempt."""
    surprise = (1.0 if correct else 0.0) - _sigmoid(learner.ability + skill.knowledge - difficulty)
    learner.ability += params.k_ability / (1.0 + params.decay * learner.attempts) * surprise
    learner.attempts += 1
    skill.knowledge += params.k_knowledge / (1.0 + params.decay * skill.attempts) * surprise
    skill.attempts += 1


def fit(attempts: Iterable[Attempt], *, k: float = 1.0, decay: float = 0.05) -> EloParams:
    """Skill difficulties from one pass over history, learners and skills moving together."""
    difficulty: dict[str, float] = {}
    seen: dict[str, int] = {}
    learners: dict[str, EloState] = {}
    knowledge: dict[tuple[str, str], EloSkill] = {}
    params = EloParams(k_ability=k, k_knowledge=k, decay=decay)
    for learner, skill, correct in attempts:
        state = learners.get(learner)
        if state is None:
            state = learners[learner] = EloState()
        known = knowledge.get((learner, skill))
        if known is None:
            known = knowledge[(learner, skill)] = EloSkill()
        d = difficulty.get(skill, 0.0)
        m = seen.get(skill, 0)
        surprise = (1.0 if correct else 0.0) - p_correct(state.ability, known.knowledge, d)
        update(state, known, correct, d, params)
        difficulty[skill] = d - k / (1.0 + decay * m) * surprise
        seen[skill] = m + 1
    mean = sum(difficulty.values()) / len(difficulty) if difficulty else 0.0
    return EloParams(difficulty=difficulty, default_difficulty=mean, k_ability=k, k_knowledge=k, decay=decay)
