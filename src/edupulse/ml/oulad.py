"""The OULAD evaluation: at-risk prediction at cut-off days, trained on 2013, tested on 2014.

The history is built the way a deployment builds it: the OULAD tables are imported onto
an embedded log in a working directory, the log is replayed through the default stream
operators, and the feature states are read back from the state store. The examples of
cut-off day ``d`` of a presentation are its learners enrolled at the end of day ``d``
(registered by then and not unregistered), with their features as of that moment
(``insights.cohort``); the label is a final result of Withdrawn or Fail.
"""

from __future__ import annotations

import csv
import hashlib
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

import msgspec
import numpy as np
from sklearn.metrics import roc_auc_score

from edupulse.config import Settings
from edupulse.deployment import STATE_FILE, Deployment
from edupulse.errors import ConfigError
from edupulse.events.oulad import MAPPING_VERSION
from edupulse.importers.base import run_import
from edupulse.importers.oulad import OuladImporter
from edupulse.insights.cohort import cohort_features
from edupulse.insights.features import DAY_US, FeatureOperator, Features, FeatureState, registered_at, split_key
from edupulse.insights.history import history_features
from edupulse.log.base import partition_for
from edupulse.ml.calibration import expected_calibration_error
from edupulse.ml.risk import ModelKind, RiskModel
from edupulse.ml.risk_models import RiskModels
from edupulse.replay import replay
from edupulse.stream.store.sqlite import SqliteStore

__all__ = [
    "CUTOFF_DAYS",
    "TARGET_AUC",
    "CutoffResult",
    "Evaluation",
    "Examples",
    "RiskModels",
    "build_history",
    "evaluate",
    "train",
]

CUTOFF_DAYS = (0, 30, 60, 90, 120)
TARGET_AUC = {0: 0.65, 30: 0.74, 60: 0.80, 90: 0.83, 120: 0.86}
TARGET_ECE = 0.05
AT_RISK = frozenset({"Withdrawn", "Fail"})
TENANT = "oulad"
History = dict[str, dict[str, FeatureState]]
Say = Callable[[str], None]


class Examples(msgspec.Struct):
    """The learners of a cut-off day: features, label, presentation year, course."""

    rows: list[Features]
    labels: list[int]
    years: list[str]
    courses: list[str]


class CutoffResult(msgspec.Struct):
    """Test figures at one cut-off day (``auc``/``ece``: gradient boosting)."""

    day: int
    auc: float
    ece: float
    n: int
    n_train: int
    positives: float
    baseline_auc: float
    baseline_ece: float


class Evaluation(msgspec.Struct):
    cutoffs: list[CutoffResult]
    seed: int
    train: str
    test: str
    mapping_version: str
    target: str = "final_result in (Withdrawn, Fail)"


def build_history(data: Path, workdir: Path, *, say: Say | None = None) -> History:
    """Import the tables onto a log in ``workdir``, replay it, and read the feature states."""
    # A scratch copy of a public data set, joined to its outcomes by the data set's own ids:
    # nothing here leaves the temporary directory, so it is not pseudonymised.
    settings = Settings(data_dir=workdir, tenant=TENANT, privacy={"pseudonymise": False})
    with Deployment(settings) as dep:
        report = run_import(dep.log, OuladImporter(tenant=TENANT), [data], checkpoint_dir=workdir / "imports")
    if say is not None:
        say(f"imported {report.events} events from {report.lines} lines ({report.bad_lines} bad)")
    replayed = replay(settings)
    if say is not None:
        say(f"replayed {replayed.events} events in {replayed.seconds:.1f} s")
    return read_history(workdir / STATE_FILE, settings.log.partitions)


def read_history(path: Path, partitions: int) -> History:
    """The feature states of a state store, by course and learner."""
    history: History = {}
    store = SqliteStore(path, serving=False)
    try:
        for partition in range(partitions):
            op = FeatureOperator()
            op.restore(partition, store.load_state(op.name, partition))
            for key, state in op.states(partition).items():
                _, course, learner = split_key(key)
                history.setdefault(course, {})[learner] = state
    finally:
        store.close()
    return history


def read_outcomes(data: Path) -> dict[tuple[str, str], int]:
    """1 when ``final_result`` is Withdrawn or Fail, by (course, learner) as the mapping names them."""
    path = data / "studentInfo.csv"
    if not path.exists():
        raise ConfigError(f"{path} is missing: the outcomes come from studentInfo.csv")
    with path.open(newline="", encoding="utf-8-sig") as file:
        return {
            (f"{r['code_module']}_{r['code_presentation']}", f"oulad:{r['id_student']}"): int(
                r["final_result"] in AT_RISK
            )
            for r in csv.DictReader(file)
        }


def examples(
    history: History, outcomes: dict[tuple[str, str], int], day: int, *, cohort_partitions: int | None = None
) -> Examples:
    """Learners enrolled at the end of ``day`` of their presentation, with features as of then.

    ``cohort_partitions``: place each learner only among the course's learners of the
    same log partition (as the live risk operator does), for that many partitions.
    """
    out = Examples([], [], [], [])
    by_learner: dict[str, dict[str, FeatureState]] = {}
    for course, states in history.items():
        for learner, state in states.items():
            by_learner.setdefault(learner, {})[course] = state
    for course in sorted(history):
        states = history[course]
        start = next((s.course_start_us for s in states.values() if s.course_start_us is not None), None)
        if start is None:
            continue
        cut = start + (day + 1) * DAY_US
        rows = _cohorts(states, cut, cohort_partitions)
        for learner in sorted(states):
            label = outcomes.get((course, learner))
            if label is None or not registered_at(states[learner], cut):
                continue
            out.rows.append(rows[learner] | history_features(by_learner[learner], course, cut))
            out.labels.append(label)
            out.years.append(course.rsplit("_", 1)[-1][:4])
            out.courses.append(course)
    return out


def _cohorts(states: dict[str, FeatureState], cut: int, partitions: int | None) -> dict[str, Features]:
    if partitions is None:
        return cohort_features(states, cut)
    groups: dict[int, dict[str, FeatureState]] = {}
    for learner, state in states.items():
        groups.setdefault(partition_for(f"{TENANT}\x1f{learner}".encode(), partitions), {})[learner] = state
    return {lr: row for group in groups.values() for lr, row in cohort_features(group, cut).items()}


def split(ex: Examples, year: str) -> tuple[list[Features], list[int]]:
    keep = [i for i, y in enumerate(ex.years) if y == year]
    return [ex.rows[i] for i in keep], [ex.labels[i] for i in keep]


def score(
    kind: ModelKind, ex: Examples, *, seed: int, test: Examples | None = None
) -> tuple[float, float, int, int, float]:
    """(AUC, ECE, n test, n train, positive share) of a model trained on 2013, tested on 2014
    (of ``test`` if given: the same learners with other features)."""
    train_rows, train_y = split(ex, "2013")
    test_rows, test_y = split(test or ex, "2014")
    model = RiskModel(kind, seed=seed).fit(train_rows, train_y)
    probs = model.predict(test_rows)
    y = np.asarray(test_y)
    auc = float(roc_auc_score(y, probs))
    ece = expected_calibration_error(y, probs)
    return auc, ece, len(test_y), len(train_y), float(y.mean())


def evaluate(
    data: Path,
    *,
    seed: int = 0,
    cutoffs: Sequence[int] = CUTOFF_DAYS,
    workdir: Path | None = None,
    say: Say | None = None,
    cohort_partitions: int | None = None,
) -> Evaluation:
    """Build the history through the stream operators, then score each cut-off day.

    ``cohort_partitions``: test on cohort features from each learner's partition only
    (the live risk operator's view), with models trained on the exact ones.
    """
    with tempfile.TemporaryDirectory(prefix="edupulse-oulad-") as tmp:
        history = build_history(data, workdir or Path(tmp), say=say)
    outcomes = read_outcomes(data)
    results = []
    for day in cutoffs:
        ex = examples(history, outcomes, day)
        test = examples(history, outcomes, day, cohort_partitions=cohort_partitions) if cohort_partitions else None
        auc, ece, n, n_train, positives = score("gbm", ex, seed=seed, test=test)
        base_auc, base_ece, *_ = score("logistic", ex, seed=seed, test=test)
        results.append(
            CutoffResult(
                day,
                round(auc, 4),
                round(ece, 4),
                n,
                n_train,
                round(positives, 4),
                round(base_auc, 4),
                round(base_ece, 4),
            )
        )
        if say is not None:
            say(f"day {day}: AUC {auc:.4f} ECE {ece:.4f} (logistic {base_auc:.4f} / {base_ece:.4f}), n={n}")
    return Evaluation(results, seed, "2013 presentations", "2014 presentations", MAPPING_VERSION)


def train(data: Path, *, seed: int = 0, cutoffs: Sequence[int] = CUTOFF_DAYS, say: Say | None = None) -> RiskModels:
    """Models for each cut-off day, fitted on every presentation of the tables."""
    with tempfile.TemporaryDirectory(prefix="edupulse-oulad-") as tmp:
        history = build_history(data, Path(tmp), say=say)
    outcomes = read_outcomes(data)
    models: dict[int, RiskModel] = {}
    sizes: dict[str, int] = {}
    for day in cutoffs:
        ex = examples(history, outcomes, day)
        models[day] = RiskModel("gbm", seed=seed).fit(ex.rows, ex.labels)
        sizes[str(day)] = len(ex.labels)
        if say is not None:
            say(f"day {day}: fitted on {len(ex.labels)} learners")
    digest = hashlib.blake2b(msgspec.json.encode([MAPPING_VERSION, seed, sorted(sizes.items())]), digest_size=4)
    return RiskModels(models, f"risk-gbm-{digest.hexdigest()}", sizes)
