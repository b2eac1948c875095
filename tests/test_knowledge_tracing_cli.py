"""`edupulse evaluate assistments` and `edupulse train mastery` on the real ASSISTments 2009 split."""

from __future__ import annotations

import json
import random
from pathlib import Path

from click.testing import CliRunner

from edupulse.cli import main
from edupulse.config import Settings
from edupulse.deployment import Deployment
from edupulse.ml.assistments import evaluate
from edupulse.ml.mastery_model import load_model
from tests.conftest import shared_data
from tests.statements import statement
from tests.test_mastery import graded


def _slice(tmp_path: Path, rows: int) -> Path:
    """The first ``rows`` attempts of each file (whole learners cut at the end are fine)."""
    source = shared_data("assistments2009")
    out = tmp_path / "slice"
    out.mkdir()
    for name in ("train.csv", "test.csv"):
        lines = (source / name).read_text().splitlines(keepends=True)
        (out / name).write_text("".join(lines[: rows + 1]))
    return out


def test_evaluate_prints_an_auc_per_model_reproducibly(tmp_path: Path) -> None:
    data = _slice(tmp_path, 20_000)
    runs = [CliRunner().invoke(main, ["evaluate", "assistments", "--data", str(data), "--json"]) for _ in range(2)]
    assert runs[0].exit_code == 0, runs[0].output
    report = json.loads(runs[0].output)
    assert report["train_attempts"] == report["test_attempts"] == 20_000
    for model in ("bkt", "bkt_forgetting", "elo"):
        assert 0.6 < report[model]["auc"] < 1.0
    strip = {"fit_s", "predict_s"}
    same = [
        {m: {k: v for k, v in r[m].items() if k not in strip} for m in ("bkt", "bkt_forgetting", "elo")}
        for r in map(json.loads, (run.output for run in runs))
    ]
    assert same[0] == same[1]


def test_train_stores_the_model_the_pipeline_loads(tmp_path: Path) -> None:
    data = _slice(tmp_path, 5_000)
    env = {"EDUPULSE_DATA_DIR": str(tmp_path / "dd")}
    result = CliRunner().invoke(main, ["train", "mastery", "--data", str(data), "--restarts", "2"], env=env)
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    model = load_model(tmp_path / "dd")
    assert report["version"] == model.version
    assert model.version.startswith("m1-")
    assert report["attempts"] == 5_000 and set(model.bkt) == set(model.elo.difficulty)


def test_a_bad_row_is_a_one_line_error_naming_the_line(tmp_path: Path) -> None:
    (tmp_path / "train.csv").write_text("user_id,skill_name,correct\n1,a,1\n1,a,2\n")
    (tmp_path / "test.csv").write_text("user_id,skill_name,correct\n1,a,1\n")
    result = CliRunner().invoke(main, ["evaluate", "assistments", "--data", str(tmp_path)])
    assert result.exit_code == 2
    assert "line 3: correct must be 0 or 1" in result.output


def test_full_split_meets_the_auc_targets() -> None:
    """The issue's targets on the whole split: AUC >= 0.76 (pyBKT), stretch 0.80 with forgetting."""
    report = evaluate(shared_data("assistments2009"), seed=0)
    assert report.test_attempts == 117_567
    assert report.bkt_forgetting.auc >= 0.80
    assert report.elo.auc >= 0.76
    assert report.bkt.auc >= 0.72  # plain BKT: 0.73 in Khajah et al. 2016


def test_evaluate_needs_data() -> None:
    result = CliRunner().invoke(main, ["evaluate", "assistments"])
    assert result.exit_code == 2 and "--data" in result.output


def test_train_from_the_event_log_uses_the_graded_attempts(tmp_path: Path) -> None:
    data_dir = tmp_path / "dd"
    empty = CliRunner().invoke(main, ["train", "mastery", "--data-dir", str(data_dir)])
    assert empty.exit_code == 2 and "no graded attempts" in empty.output
    rng = random.Random(4)
    stmts = [graded(f"l{rng.randrange(30)}", [rng.choice(["add", "sub"])], rng.random() < 0.7, i) for i in range(600)]
    stmts += [statement("l1", verb="experienced")] * 3  # not attempts
    with Deployment(Settings(data_dir=data_dir)) as deployment:
        deployment.ingest.ingest(json.dumps(stmts).encode(), tenant="default")
    result = CliRunner().invoke(main, ["train", "mastery", "--data-dir", str(data_dir), "--restarts", "1"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["attempts"] == 600 and report["skills"] == 2
    assert set(load_model(data_dir).bkt) == {"add", "sub"}
