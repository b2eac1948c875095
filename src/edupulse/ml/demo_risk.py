"""At-risk models for the demo, learnt from a simulated past term: deterministic, seconds.

``edupulse demo`` has no history to learn from, so without stored models it simulates a
small earlier term with the same simulator (another seed), runs it through the stream
operators in a temporary directory, and fits one model on the learners' features at
weekly cut-offs, labelled by whether the simulator made them drop out later. xAPI
sources say nothing of a course's start, so live scores use the day-0 model: the demo
stores one model, under day 0, fitted on all the weekly cut-offs together.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from datetime import timedelta
from pathlib import Path

import msgspec

from edupulse.config import Settings
from edupulse.deployment import STATE_FILE, Deployment
from edupulse.insights.cohort import cohort_features
from edupulse.insights.features import DAY_US, Features
from edupulse.insights.history import history_features
from edupulse.ml.oulad import History, read_history
from edupulse.ml.registry import ModelCard, save_model
from edupulse.ml.risk import RiskModel
from edupulse.ml.risk_models import RISK_MODEL, RiskModels
from edupulse.replay import replay
from edupulse.sim import CourseSimulator, SimConfig

__all__ = ["ensure_demo_models", "train_demo_models"]

_TENANT = "demo-past"
_CUTOFF_DAYS = (7, 14, 21)


def train_demo_models(live: SimConfig, *, learners: int = 60, days: int = 28) -> RiskModels:
    """Fit a model on a simulated term that ended before ``live`` starts (seed ``live.seed + 1``)."""
    past = SimConfig(
        seed=live.seed + 1,
        courses=min(live.courses, 2),
        learners_per_course=learners,
        start=live.start - timedelta(days=days + 7),
        days=days,
    )
    sim = CourseSimulator(past)
    statements = list(sim.statements())
    dropped = {lid for lid, truth in sim.truth.items() if truth.dropout_at is not None}
    with tempfile.TemporaryDirectory(prefix="edupulse-demo-risk-") as tmp:
        settings = Settings(data_dir=Path(tmp), tenant=_TENANT, log={"partitions": 1})
        with Deployment(settings) as dep:
            for i in range(0, len(statements), 5000):
                dep.ingest.ingest(json.dumps(statements[i : i + 5000]).encode(), tenant=_TENANT)
        replay(settings)
        history = read_history(Path(tmp) / STATE_FILE, 1)
    start_us = int(past.start.timestamp() * 1_000_000)
    rows, labels = _examples(history, dropped, start_us)
    model = RiskModel("gbm", seed=past.seed % 1000).fit(rows, labels)  # scikit-learn seeds are 32-bit
    digest = hashlib.blake2b(msgspec.json.encode([past.seed, learners, days, len(rows)]), digest_size=4)
    return RiskModels({0: model}, f"risk-demo-{digest.hexdigest()}", {"0": len(rows)})


def _examples(history: History, dropped: set[str], start_us: int) -> tuple[list[Features], list[int]]:
    """Every learner still active by each cut-off, with features then, and whether they dropped out."""
    by_learner: History = {}
    for course, states in history.items():
        for learner, state in states.items():
            by_learner.setdefault(learner, {})[course] = state
    rows: list[Features] = []
    labels: list[int] = []
    for day in _CUTOFF_DAYS:
        cut = start_us + day * DAY_US
        for course in sorted(history):
            features = cohort_features(history[course], cut)
            for learner in sorted(features):
                row = features[learner]
                if not row.get("activity"):
                    continue
                rows.append(row | history_features(by_learner[learner], course, cut))
                labels.append(int(learner.rsplit("|", 1)[-1] in dropped))
    return rows, labels


def ensure_demo_models(data_dir: Path, live: SimConfig) -> str | None:
    """Train and store demo models unless at-risk models are stored already; the version stored, or None."""
    if (data_dir / "models" / RISK_MODEL / "latest").exists():
        return None
    models = train_demo_models(live)
    card = ModelCard(RISK_MODEL, models.version, {"source": "simulated past term", "examples": models.examples})
    save_model(data_dir / "models", card, models)
    return models.version
