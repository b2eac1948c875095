"""The ASSISTments 2009 knowledge-tracing benchmark: load the split, fit on train, score test.

The files (``train.csv``, ``test.csv``: ``user_id,skill_name,correct``) are the standard
DKT split. Its ``user_id`` column is not a learner id: it holds the length of each
student's sequence (the first line of the DKT format), and a student's attempts are
consecutive rows. So, by default (``split="sequence"``), a learner is a run of
``user_id`` consecutive rows with that value; ``split="user_id"`` keys learners by the
column as it is, which merges every student with the same sequence length.

Protocol: fit on train.csv; on test.csv, whose learners are all new, predict each
attempt from the learner's attempts so far in test, before seeing it, then update. The
score is the AUC over every test attempt.
"""

from __future__ import annotations

import csv
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Literal

import msgspec

from edupulse.errors import InvalidEventError
from edupulse.ml import Attempt, bkt, bkt_fit, elo
from edupulse.ml.metrics import auc
from edupulse.ml.training import fit_bkt

__all__ = ["Evaluation", "Score", "evaluate", "load_attempts"]

Split = Literal["sequence", "user_id"]
Predictor = Callable[[Sequence[Attempt]], list[float]]
COLUMNS = ("user_id", "skill_name", "correct")


def load_attempts(path: Path, *, split: Split = "sequence", limit: int | None = None) -> list[Attempt]:
    """The attempts of one CSV file, in file order; a bad row is an error naming its line."""
    attempts: list[Attempt] = []
    with path.open(newline="") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header is None or tuple(h.strip() for h in header[:3]) != COLUMNS:
            raise InvalidEventError(f"{path}: line 1 must be the header {','.join(COLUMNS)}, not {header}")
        run_id, run_left, learner = "", 0, ""
        for line, row in enumerate(reader, start=2):
            if limit is not None and len(attempts) >= limit:
                break
            user, skill, correct = _parse(path, line, row)
            if split == "sequence":
                if user != run_id or run_left == 0:
                    run_id, learner = user, f"{user}#{line}"
                    run_left = int(user) if user.isdigit() else 0
                run_left -= 1
            else:
                learner = user
            attempts.append((learner, skill, correct))
    return attempts


def _parse(path: Path, line: int, row: list[str]) -> tuple[str, str, bool]:
    if len(row) < 3:
        raise InvalidEventError(f"{path}: line {line} has {len(row)} fields; expected {','.join(COLUMNS)}")
    user, skill, correct = (v.strip() for v in row[:3])
    if not user or not skill:
        raise InvalidEventError(f"{path}: line {line}: user_id and skill_name must not be empty")
    if correct not in ("0", "1"):
        raise InvalidEventError(f"{path}: line {line}: correct must be 0 or 1, not {correct!r}")
    return user, skill, correct == "1"


def bkt_predictor(params: dict[str, bkt.BktParams], fallback: bkt.BktParams) -> Predictor:
    def predict(attempts: Sequence[Attempt]) -> list[float]:
        known: dict[tuple[str, str], float] = {}
        out = []
        for learner, skill, correct in attempts:
            p = params.get(skill, fallback)
            k = known.get((learner, skill), p.prior)
            out.append(bkt.p_correct(k, p))
            known[(learner, skill)] = bkt.update(k, correct, p)
        return out

    return predict


def elo_predictor(params: elo.EloParams) -> Predictor:
    def predict(attempts: Sequence[Attempt]) -> list[float]:
        learners: dict[str, elo.EloState] = {}
        knowledge: dict[tuple[str, str], elo.EloSkill] = {}
        out = []
        for learner, skill, correct in attempts:
            state = learners.get(learner)
            if state is None:
                state = learners[learner] = elo.EloState()
            known = knowledge.get((learner, skill))
            if known is None:
                known = knowledge[(learner, skill)] = elo.EloSkill()
            d = params.difficulty.get(skill, params.default_difficulty)
            out.append(elo.p_correct(state.ability, known.knowledge, d))
            elo.update(state, known, correct, d, params)
        return out

    return predict


class Score(msgspec.Struct, frozen=True):
    """One model's AUC on the test attempts, and how long it took to fit and to predict."""

    auc: float
    fit_s: float
    predict_s: float


class Evaluation(msgspec.Struct, frozen=True):
    """What ``edupulse evaluate assistments`` reports."""

    train_attempts: int
    test_attempts: int
    split: Split
    seed: int
    bkt: Score
    bkt_forgetting: Score
    elo: Score


def evaluate(data: Path, *, seed: int = 0, split: Split = "sequence", limit: int | None = None) -> Evaluation:
    """Fit every model on ``data/train.csv`` and report its AUC on ``data/test.csv``."""
    train = load_attempts(data / "train.csv", split=split, limit=limit)
    test = load_attempts(data / "test.csv", split=split, limit=limit)
    labels = [c for _, _, c in test]

    def score(fit: Callable[[], Predictor]) -> Score:
        started = time.perf_counter()
        predict = fit()
        fitted = time.perf_counter()
        value = auc(labels, predict(test))
        return Score(round(value, 4), round(fitted - started, 2), round(time.perf_counter() - fitted, 2))

    def bkt_model(forgetting: bool) -> Predictor:
        params, fallback, _ = fit_bkt(train, bkt_fit.FitOptions(forgetting=forgetting, seed=seed))
        return bkt_predictor(params, fallback)

    return Evaluation(
        train_attempts=len(train),
        test_attempts=len(test),
        split=split,
        seed=seed,
        bkt=score(lambda: bkt_model(False)),
        bkt_forgetting=score(lambda: bkt_model(True)),
        elo=score(lambda: elo_predictor(elo.fit(train))),
    )
