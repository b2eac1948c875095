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

from edupulse.errors import InvalidEventError
from edupulse.ml import Attempt, bkt, bkt_fit, elo
from edupulse.ml.metrics import auc
from edupulse.ml.training import fit_bkt

__all__ = ["evaluate", "load_attempts"]

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


def evaluate(data: Path, *, seed: int = 0, split: Split = "sequence", limit: int | None = None) -> dict[str, object]:
    """Fit every model on ``data/train.csv`` and report its AUC on ``data/test.csv``."""
    train = load_attempts(data / "train.csv", split=split, limit=limit)
    test = load_attempts(data / "test.csv", split=split, limit=limit)
    labels = [c for _, _, c in test]
    models: dict[str, object] = {}
    for name, forgetting in (("bkt", False), ("bkt_forgetting", True)):
        started = time.perf_counter()
        params, fallback, _ = fit_bkt(train, bkt_fit.FitOptions(forgetting=forgetting, seed=seed))
        fitted = time.perf_counter()
        scores = bkt_predictor(params, fallback)(test)
        models[name] = _report(labels, scores, fitted - started, time.perf_counter() - fitted)
    started = time.perf_counter()
    elo_params = elo.fit(train)
    fitted = time.perf_counter()
    models["elo"] = _report(labels, elo_predictor(elo_params)(test), fitted - started, time.perf_counter() - fitted)
    return {"train_attempts": len(train), "test_attempts": len(test), "split": split, "seed": seed, **models}


def _report(labels: list[bool], scores: list[float], fit_s: float, predict_s: float) -> dict[str, float]:
    return {"auc": round(auc(labels, scores), 4), "fit_s": round(fit_s, 2), "predict_s": round(predict_s, 2)}
