"""Knowledge-tracing maths: BKT's update and EM, Elo, AUC, checked against brute force."""

from __future__ import annotations

import itertools
import math
import random
from pathlib import Path

import numpy as np
import pytest

from edupulse.errors import InvalidEventError
from edupulse.ml import bkt, elo
from edupulse.ml.assistments import load_attempts
from edupulse.ml.bkt import BktParams
from edupulse.ml.bkt_fit import FitOptions, _e_step, _Params, fit
from edupulse.ml.metrics import auc
from edupulse.ml.sequences import Sequences

P = BktParams(prior=0.5, learn=0.2, forget=0.1, guess=0.2, slip=0.1)


def test_update_by_hand() -> None:
    # P(correct) = 0.5 * 0.9 + 0.5 * 0.2; posterior after a correct answer = 0.45 / 0.55,
    # then learn/forget: 9/11 * 0.9 + 2/11 * 0.2 = 8.5/11.
    assert bkt.p_correct(0.5, P) == pytest.approx(0.55)
    assert bkt.update(0.5, True, P) == pytest.approx(8.5 / 11)
    # After a wrong answer: posterior 0.05 / 0.45 = 1/9; then 1/9 * 0.9 + 8/9 * 0.2 = 2.5/9.
    assert bkt.update(0.5, False, P) == pytest.approx(2.5 / 9)


def _brute_force(obs: list[int], p: BktParams) -> tuple[float, list[float], list[float]]:
    """Likelihood, P(o_t | o_<t) and smoothed P(known at t) by summing over every hidden path."""
    trans = [[1 - p.learn, p.learn], [p.forget, 1 - p.forget]]

    def emit(state: int, o: int) -> float:
        right = 1 - p.slip if state else p.guess
        return right if o else 1 - right

    def joint(path: tuple[int, ...], upto: int) -> float:
        prob = p.prior if path[0] else 1 - p.prior
        for t in range(upto):
            if t:
                prob *= trans[path[t - 1]][path[t]]
            prob *= emit(path[t], obs[t])
        return prob

    n = len(obs)
    prefix = [sum(joint(path, t) for path in itertools.product((0, 1), repeat=max(t, 1))) for t in range(n + 1)]
    prefix[0] = 1.0
    predictive = [prefix[t + 1] / prefix[t] for t in range(n)]
    paths = list(itertools.product((0, 1), repeat=n))
    total = sum(joint(path, n) for path in paths)
    smoothed = [sum(joint(path, n) for path in paths if path[t]) / total for t in range(n)]
    return total, predictive, smoothed


def test_forward_probabilities_and_smoothing_match_brute_force() -> None:
    obs = [0, 1, 1, 0, 1]
    total, predictive, smoothed = _brute_force(obs, P)
    known, online = P.prior, []
    for o in obs:  # the online update the operator uses
        online.append(bkt.p_correct(known, P) if o else 1 - bkt.p_correct(known, P))
        known = bkt.update(known, bool(o), P)
    assert online == pytest.approx(predictive)
    seqs = Sequences([obs, [1, 0]], [0, 0], 1)
    values = np.array([[P.prior], [P.learn], [P.forget], [P.guess], [P.slip]])
    stats = _e_step(seqs, _Params(values))
    first = [seqs.at(t).start or 0 for t in range(len(obs))]  # the longer sequence sorts first
    assert [stats["gamma1"][i] for i in first] == pytest.approx(smoothed)
    assert sum(stats["log_scale"][i] for i in first) == pytest.approx(math.log(total))


def _simulate(p: BktParams, learners: int, length: int, seed: int) -> list[list[int]]:
    rng = random.Random(seed)
    seqs = []
    for _ in range(learners):
        known, seq = rng.random() < p.prior, []
        for _ in range(rng.randint(2, length)):
            seq.append(int(rng.random() < ((1 - p.slip) if known else p.guess)))
            known = (rng.random() >= p.forget) if known else (rng.random() < p.learn)
        seqs.append(seq)
    return seqs


def test_em_raises_the_likelihood_every_iteration_and_recovers_the_parameters() -> None:
    truth = [BktParams(0.3, 0.15, 0.05, 0.2, 0.1), BktParams(0.6, 0.3, 0.02, 0.25, 0.15)]
    seqs, skills = [], []
    for k, p in enumerate(truth):
        simulated = _simulate(p, 1500, 30, seed=k)
        seqs += simulated
        skills += [k] * len(simulated)
    options = FitOptions(prior_strength=0, max_guess=1, max_slip=1, restarts=1, iterations=40, tolerance=0)
    result = fit(Sequences(seqs, skills, 2), options)
    assert len(result.history) == 40
    assert all(b >= a - 1e-6 for a, b in itertools.pairwise(result.history))
    for got, want in zip(result.params, truth, strict=True):
        for name in ("prior", "learn", "guess", "slip"):
            assert getattr(got, name) == pytest.approx(getattr(want, name), abs=0.06), name


def test_em_is_deterministic_for_a_seed() -> None:
    seqs = _simulate(P, 200, 15, seed=3)
    layout = Sequences(seqs, [0] * len(seqs), 1)
    options = FitOptions(restarts=3, seed=11, iterations=10)
    assert fit(layout, options) == fit(layout, options)


def test_elo_moves_towards_the_outcome() -> None:
    params = elo.EloParams()
    learner, skill = elo.EloState(), elo.EloSkill()
    before = elo.p_correct(learner.ability, skill.knowledge, 0.0)
    elo.update(learner, skill, True, 0.0, params)
    assert elo.p_correct(learner.ability, skill.knowledge, 0.0) > before == 0.5
    assert (learner.attempts, skill.attempts) == (1, 1)


def test_auc_matches_counting_pairs() -> None:
    rng = random.Random(5)
    labels = [rng.random() < 0.4 for _ in range(300)]
    scores = [round(rng.random(), 1) for _ in range(300)]  # many ties
    pos = [s for s, y in zip(scores, labels, strict=True) if y]
    neg = [s for s, y in zip(scores, labels, strict=True) if not y]
    pairs = sum(1.0 if p > n else 0.5 if p == n else 0.0 for p in pos for n in neg)
    assert auc(labels, scores) == pytest.approx(pairs / (len(pos) * len(neg)))
    with pytest.raises(ValueError, match="both"):
        auc([True, True], [0.1, 0.2])


def test_loader_splits_learners_by_sequence_length_and_names_bad_lines(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("user_id,skill_name,correct\n2,a,1\n2,b,0\n2,a,1\n2,a,0\n1,c,1\n")
    learners = [learner for learner, _, _ in load_attempts(path)]
    assert len(set(learners[:2])) == 1 and learners[2] != learners[1] and learners[2] == learners[3]
    assert {learner for learner, _, _ in load_attempts(path, split="user_id")} == {"2", "1"}
    path.write_text("user_id,skill_name,correct\n2,a,1\n2,b,yes\n")
    with pytest.raises(InvalidEventError, match="line 3: correct must be 0 or 1"):
        load_attempts(path)
    path.write_text("learner,skill\n")
    with pytest.raises(InvalidEventError, match="line 1 must be the header"):
        load_attempts(path)
