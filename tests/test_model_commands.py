"""The model commands, mastery versions, and judging a challenger on a hold-out."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import msgspec
import numpy as np
import pytest
from click.testing import CliRunner

from edupulse.cli import main
from edupulse.config import Settings
from edupulse.deployment import Deployment
from edupulse.errors import ConfigError
from edupulse.insights.features import Features
from edupulse.ml import challenger as ch
from edupulse.ml.bkt import BktParams
from edupulse.ml.mastery_model import MasteryModel, load_model, save_model
from edupulse.ml.registry import FileRegistry, ModelCard
from edupulse.ml.registry import save_model as save_version
from edupulse.ml.risk import RiskModel
from edupulse.ml.risk_models import RISK_MODEL, RiskModels
from tests.conftest import LiveServer, basic, shared_data
from tests.risk_models import tiny_models


def _run(data_dir: Path, *args: str) -> tuple[int, str]:
    out = CliRunner().invoke(main, ["models", *args], env={"EDUPULSE_DATA_DIR": str(data_dir)})
    return out.exit_code, out.output


def test_list_promote_rollback_show(tmp_path: Path) -> None:
    for version in ("v1", "v2"):
        models = msgspec.structs.replace(tiny_models(), version=version)
        save_version(tmp_path / "models", ModelCard(RISK_MODEL, version, {"metrics": {"0": {"auc": 0.7}}}), models)
    code, out = _run(tmp_path, "list")
    assert code == 0 and "v2" in out and "[champion]" in out  # no alias yet: the newest is served
    assert _run(tmp_path, "promote", "risk", "v1")[0] == 0
    assert _run(tmp_path, "promote", "risk", "v2", "--alias", "challenger")[0] == 0
    code, out = _run(tmp_path, "list", "--json")
    assert json.loads(out)["risk"]["aliases"] == {"champion": "v1", "challenger": "v2"}
    assert _run(tmp_path, "promote", "risk", "v2")[0] == 0
    code, out = _run(tmp_path, "rollback", "risk")
    assert code == 0 and json.loads(out)["rolled_back_to"] == "v1"
    code, out = _run(tmp_path, "show", "risk")
    body = json.loads(out)
    assert body["version"] == "v1" and body["details"]["metrics"] and len(body["alias_history"]) == 5
    code, out = _run(tmp_path, "promote", "risk", "v7")
    assert code != 0 and "v7" in out and "Traceback" not in out
    code, out = _run(tmp_path, "rollback", "risk", "--alias", "challenger")  # cleared when v2 won: back to v2
    assert code == 0 and json.loads(out)["aliases"] == {"champion": "v1", "challenger": "v2"}
    code, out = _run(tmp_path, "rollback", "risk", "--alias", "challenger")
    assert code != 0 and "no previous challenger" in out


def test_mastery_versions_are_kept_and_promotion_rewrites_the_served_file(tmp_path: Path) -> None:
    first = MasteryModel(bkt={"add": BktParams(0.3, 0.2, 0.0, 0.2, 0.1)}, trained_on={"source": "a"})
    second = MasteryModel(bkt={"add": BktParams(0.6, 0.2, 0.0, 0.2, 0.1)}, trained_on={"source": "b"})
    save_model(first, tmp_path)
    save_model(second, tmp_path)
    assert load_model(tmp_path) == second
    assert _run(tmp_path, "promote", "mastery", first.version)[0] == 0
    assert load_model(tmp_path) == first
    assert _run(tmp_path, "promote", "mastery", second.version)[0] == 0
    assert _run(tmp_path, "rollback", "mastery")[0] == 0
    assert load_model(tmp_path) == first
    code, out = _run(tmp_path, "show", "mastery", second.version)
    assert code == 0 and json.loads(out)["details"]["snapshot"] == {"source": "b"}


def _sets(rng: np.random.Generator) -> dict[int, ch.Holdout]:
    def rows(n: int) -> tuple[list[Features], list[int]]:
        x = rng.normal(size=(n, 2))
        y = (rng.random(n) < 1 / (1 + np.exp(-2 * x[:, 0]))).astype(int)
        return [{"a": float(a), "b": float(b)} for a, b in x], [int(v) for v in y]

    train, test = rows(600), rows(600)
    return {0: ch.Holdout(train[0], train[1], test[0], test[1])}


def _store(root: Path, version: str, model: RiskModel, holdout: str | None) -> RiskModels:
    models = RiskModels({0: model}, version, {"0": 600})
    details = {"snapshot": {"holdout_year": holdout}} if holdout else {}
    save_version(root, ModelCard(RISK_MODEL, version, details), models)
    return models


def test_compare_promotes_only_a_challenger_that_beats_the_margin(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    sets = _sets(rng)
    s = sets[0]
    noise = [{"b": r["b"]} for r in s.train_rows]  # a model that never sees the signal
    weak = _store(tmp_path, "weak", RiskModel("logistic").fit(noise, s.train_labels), "2014")
    strong = _store(tmp_path, "strong", RiskModel("logistic").fit(s.train_rows, s.train_labels), "2014")
    won = ch.compare(sets, tmp_path, weak, strong, holdout_year="2014", margin=0.005, max_ece=0.2)
    assert won.challenger_wins and won.mean_auc_gain > 0.2
    lost = ch.compare(sets, tmp_path, strong, weak, holdout_year="2014", margin=0.005, max_ece=0.2)
    assert not lost.challenger_wins
    same = ch.compare(sets, tmp_path, strong, strong, holdout_year="2014", margin=0.005, max_ece=0.2)
    assert not same.challenger_wins and same.mean_auc_gain == 0
    leaked = _store(tmp_path, "leaked", RiskModel("logistic").fit(s.train_rows, s.train_labels), None)
    with pytest.raises(ConfigError, match="was not trained with 2014 held out"):
        ch.compare(sets, tmp_path, leaked, strong, holdout_year="2014", margin=0.005, max_ece=0.2)


@pytest.mark.integration
def test_oulad_gbm_challenger_beats_logistic_champion_on_2014(tmp_path: Path) -> None:
    """Train on 2013, hold out 2014 (two cut-off days to keep it short): boosting wins and is promoted."""
    data = shared_data("oulad")
    sets = ch.holdout_sets(data, holdout_year="2014", cutoffs=(30, 90))
    root = tmp_path / "models"
    champion, card, _ = ch.retrain(sets, data=data, holdout_year="2014", kind="logistic")
    save_version(root, card, champion)
    challenger, card, reference = ch.retrain(sets, data=data, holdout_year="2014", kind="gbm")
    save_version(root, card, challenger)
    assert card.details["snapshot"]["sha256"] and card.details["features"]["names"]
    assert set(reference.by_day) == {30, 90} and "mean_score" in reference.by_day[90].features
    result = ch.compare(sets, root, champion, challenger, holdout_year="2014", margin=0.005, max_ece=0.1)
    assert result.challenger_wins, result
    floors = (0.74, 0.83)  # just under the measured 0.7478 and 0.8351 (docs/models.md)
    assert all(f.auc > floor for f, floor in zip(result.challenger_figures, floors, strict=True)), result
    assert FileRegistry(root).changes(RISK_MODEL) == []  # compare judges; promoting is the caller's choice


def test_admin_api_promotes_and_rolls_back(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "d", log={"partitions": 2})
    for version in ("v1", "v2"):
        models = msgspec.structs.replace(tiny_models(), version=version)
        save_version(settings.data_dir / "models", ModelCard(RISK_MODEL, version), models)
    with Deployment(settings) as dep, LiveServer(dep) as server:
        admin = basic(dep.credentials.create("ops", tenant="default", scopes=("admin",)))
        reader = basic(dep.credentials.create("dash", tenant="default", scopes=("read",)))
        url = server.url + "/api/v1/models"
        got = httpx.post(f"{url}/risk/versions/v1/promote", json={"alias": "champion"}, headers=admin)
        assert got.status_code == 200 and got.json()["aliases"] == {"champion": "v1"}
        assert httpx.post(f"{url}/risk/versions/v2/promote", json={}, headers=reader).status_code == 403
        assert httpx.post(f"{url}/risk/versions/v2/promote", json={}, headers=admin).status_code == 200
        listing = httpx.get(url, headers=reader).json()
        assert listing["risk"]["aliases"] == {"champion": "v2"}
        card = httpx.get(f"{url}/risk", headers=reader).json()
        assert card["version"] == "v2" and card["alias_history"][-1]["actor"] == "api:ops"
        back = httpx.post(f"{url}/risk/rollback", json={}, headers=admin)
        assert back.status_code == 200 and back.json()["rolled_back_to"] == "v1"
        again = httpx.post(f"{url}/risk/rollback", json={}, headers=admin)
        assert again.status_code == 409 and "no previous champion" in again.text
        missing = httpx.post(f"{url}/risk/versions/v9/promote", json={}, headers=admin)
        assert missing.status_code == 404 and "v9" in missing.text
        bad = httpx.post(f"{url}/risk/versions/v2/promote", json={"alias": "king"}, headers=admin)
        assert bad.status_code == 400 and "alias" in bad.text


def test_watch_once_without_drift_does_not_retrain(tmp_path: Path) -> None:
    save_version(tmp_path / "models", ModelCard(RISK_MODEL, "v1"), msgspec.structs.replace(tiny_models(), version="v1"))
    out = CliRunner().invoke(
        main, ["models", "watch", "--data", str(tmp_path), "--once"], env={"EDUPULSE_DATA_DIR": str(tmp_path / "d")}
    )
    assert out.exit_code != 0 and "no at-risk model" in out.output  # another data directory: nothing to watch
    out = CliRunner().invoke(
        main, ["models", "watch", "--data", str(tmp_path), "--once"], env={"EDUPULSE_DATA_DIR": str(tmp_path)}
    )
    assert out.exit_code == 0 and "0 breach(es); retrain not due" in out.output, out.output
