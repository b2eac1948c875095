"""The live risk operator: scores on every relevant update, history, restore, API and CLI."""

from __future__ import annotations

import itertools
import json
import shutil
import time
from pathlib import Path
from typing import Any

import httpx
import msgspec
from click.testing import CliRunner

from edupulse.cli import main
from edupulse.config import Settings
from edupulse.deployment import LOG_FILE, STATE_FILE, Deployment
from edupulse.insights import FeatureOperator, RiskOperator, default_operators, standard_operators
from edupulse.insights.risk_explain import RiskExplainer
from edupulse.insights.risk_views import FEATURES_TOPIC, HISTORY_STEP, HISTORY_VIEW, PREDICTIONS_TOPIC, RISK_VIEW
from edupulse.log.sqlite import SqliteLog
from edupulse.lrs.statements import StatementIngest
from edupulse.ml.registry import ModelCard, save_model
from edupulse.ml.risk_models import RISK_MODEL
from edupulse.replay import replay
from edupulse.stream.runtime import EVENTS_TOPIC, Runtime
from edupulse.stream.store.sqlite import SqliteStore
from tests.conftest import LiveServer, basic
from tests.risk_models import store_tiny_models, tiny_models
from tests.statements import learner_key, random_statements

STATEMENTS = random_statements(600, seed=3, learners=30, courses=2)


def _views(store: SqliteStore) -> dict[str, Any]:
    out: dict[str, Any] = {v.name: store.select(v.name, {}, order_by=v.key[-1]) for v in (RISK_VIEW, HISTORY_VIEW)}
    out["outbox"] = sorted((m.idempotency_key, m.topic, m.payload) for _, m in store.pending_outbox(100_000))
    out["state"] = [store.load_state("risk", p) for p in range(2)]
    return out


def _fill(data_dir: Path) -> SqliteLog:
    log = SqliteLog(data_dir / LOG_FILE)
    log.ensure_topic(EVENTS_TOPIC, 2)
    StatementIngest(log).ingest(json.dumps(STATEMENTS).encode(), tenant="t")
    return log


def _run(data_dir: Path, log: SqliteLog, *, batch: int, stop_after: int | None = None) -> None:
    store = SqliteStore(data_dir / STATE_FILE)
    ops = default_operators(allowed_lateness_us=0, risk=tiny_models(), lake=True)
    runtime = Runtime(log, store, ops, batch_size=batch)
    runtime.assign_all()
    done = 0
    while (n := runtime.run_once().events) and (stop_after is None or done < stop_after):
        done += n
    store.close()


def test_restarting_midway_continues_exactly_as_one_replay(tmp_path: Path) -> None:
    """The cohort summaries and score records are state: a restored operator carries on as if never stopped."""
    log = _fill(tmp_path)
    _run(tmp_path, log, batch=23, stop_after=200)  # stop, then a new runtime restores and carries on
    _run(tmp_path, log, batch=41)
    log.close()
    store = SqliteStore(tmp_path / STATE_FILE)
    live = _views(store)
    store.close()
    store_tiny_models(tmp_path)
    replay(Settings(data_dir=tmp_path, log={"partitions": 2}, lake={"enabled": True}))
    store = SqliteStore(tmp_path / STATE_FILE)
    assert _views(store) == live
    store.close()

    pairs = {
        (s["context"]["contextActivities"]["grouping"][0]["id"], learner_key(s["actor"]["account"]["name"]))
        for s in STATEMENTS
    }
    assert {(r["course"], r["learner"]) for r in live[RISK_VIEW.name]} == pairs
    by_key: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in sorted(live[HISTORY_VIEW.name], key=lambda r: r["seq"]):
        by_key.setdefault((row["course"], row["learner"]), []).append(row)
    assert set(by_key) == pairs
    for (course, learner), rows in by_key.items():
        assert [r["seq"] for r in rows] == list(range(len(rows)))
        for before, after in itertools.pairwise(rows):
            assert abs(after["risk"] - before["risk"]) > HISTORY_STEP or after["model_day"] != before["model_day"]
        current = next(r for r in live[RISK_VIEW.name] if (r["course"], r["learner"]) == (course, learner))
        assert abs(current["risk"] - rows[-1]["risk"]) <= HISTORY_STEP
        assert 0.0 <= current["risk"] <= 1.0 and current["model_version"] == tiny_models().version
        for row in (rows[-1], current):  # the stored features are the ones scored: they give the risk again
            model = tiny_models().by_day[row["model_day"]]
            assert round(float(model.predict([row["features"]])[0]), 4) == row["risk"]
    explainer = RiskExplainer(tmp_path / "models")
    explained = explainer.explain(live[RISK_VIEW.name])
    assert all(r["factors_missing"] is None and "features" not in r for r in explained)
    assert any(r["factors"] for r in explained)
    for row, out in zip(live[RISK_VIEW.name], explained, strict=True):
        model = tiny_models().by_day[row["model_day"]]
        assert out["factors"] == msgspec.to_builtins(model.explain(row["features"]))
        assert all(f["text"] and f["effect"] > 0 for f in out["factors"])
    prediction = msgspec.json.decode(next(p for _, t, p in live["outbox"] if t == PREDICTIONS_TOPIC))
    assert {"tenant", "learner", "course", "seq", "risk", "model_version", "model_day"} <= set(prediction)
    assert "factors" not in prediction  # reasons are computed on read
    topics = [t for _, t, _ in live["outbox"]]
    assert topics.count(PREDICTIONS_TOPIC) == topics.count(FEATURES_TOPIC) == len(live[HISTORY_VIEW.name])
    snapshot = msgspec.json.decode(next(p for _, t, p in live["outbox"] if t == FEATURES_TOPIC))
    assert {"tenant", "learner", "course", "event_time_us", "model_version", "features"} <= set(snapshot)
    assert "activity_percentile" in snapshot["features"] and "other_courses" in snapshot["features"]


def test_scores_do_not_depend_on_what_later_events_say(tmp_path: Path) -> None:
    """Each score reads the state as it stood after its event: appending more events changes no past row."""
    log = SqliteLog(tmp_path / LOG_FILE)
    log.ensure_topic(EVENTS_TOPIC, 2)
    ingest = StatementIngest(log)
    ingest.ingest(json.dumps(STATEMENTS[:300]).encode(), tenant="t")
    _run(tmp_path, log, batch=500)
    store = SqliteStore(tmp_path / STATE_FILE)
    early = store.select(HISTORY_VIEW.name, {}, order_by="seq")
    store.close()
    ingest.ingest(json.dumps(STATEMENTS[300:]).encode(), tenant="t")
    _run(tmp_path, log, batch=7)
    log.close()
    store = SqliteStore(tmp_path / STATE_FILE)
    later = {(r["course"], r["learner"], r["seq"]): r for r in store.select(HISTORY_VIEW.name, {}, order_by="seq")}
    store.close()
    assert early and all(later[(r["course"], r["learner"], r["seq"])] == r for r in early)


def test_the_chain_has_a_risk_operator_that_scores_once_a_model_is_stored(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    empty = next(op for op in standard_operators(settings) if isinstance(op, RiskOperator))
    assert empty.models is None and not (tmp_path / "models").exists()  # nothing to score with, no registry opened
    store_tiny_models(tmp_path)
    ops = standard_operators(settings)
    risk = next(op for op in ops if isinstance(op, RiskOperator))
    assert risk.models is not None and risk.models.version == tiny_models().version
    assert isinstance(risk.features, FeatureOperator) and risk.features in ops and not risk.lake
    assert any(
        isinstance(op, RiskOperator) and op.lake
        for op in standard_operators(Settings(data_dir=tmp_path, lake={"enabled": True}))
    )


def test_lake_messages_only_when_the_lake_is_enabled(tmp_path: Path) -> None:
    log = _fill(tmp_path)
    store = SqliteStore(tmp_path / STATE_FILE)
    runtime = Runtime(log, store, default_operators(allowed_lateness_us=0, risk=tiny_models()), batch_size=100)
    runtime.assign_all()
    runtime.run_until_caught_up()
    assert store.count(HISTORY_VIEW.name, {}) > 0
    assert not [m for _, m in store.pending_outbox(10_000) if m.topic in {PREDICTIONS_TOPIC, FEATURES_TOPIC}]
    store.close()
    log.close()


def test_api_and_cli_serve_profile_and_at_risk_list(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", log={"partitions": 2})
    store_tiny_models(settings.data_dir)
    with Deployment(settings) as dep, LiveServer(dep) as server:
        key = dep.credentials.create("risk", tenant="default")
        headers = {**basic(key), "Content-Type": "application/json", "X-Experience-API-Version": "1.0.3"}
        assert httpx.post(server.url + "/xapi/statements", json=STATEMENTS, headers=headers).status_code == 200
        course = "https://example.edu/courses/c0"
        at_risk = server.url + "/api/v1/course/at-risk"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # until every statement is processed
            status = httpx.get(server.url + "/api/v1/status", headers=basic(key)).json()
            if status["events"] == len(STATEMENTS) and status["processed"] == status["events"]:
                break
            time.sleep(0.1)
        got = httpx.get(at_risk, params={"course": course, "page_size": 500}, headers=basic(key))
        listing = got.json()
        risks = [r["risk"] for r in listing["learners"]]
        assert len(risks) == 30 and risks == sorted(risks, reverse=True)
        cut = risks[9]
        high = httpx.get(
            at_risk, params={"course": course, "threshold": cut, "page_size": 4, "page": 2}, headers=basic(key)
        ).json()
        assert high["total"] == sum(r >= cut for r in risks) and [r["risk"] for r in high["learners"]] == risks[4:8]
        learner = listing["learners"][0]["learner"]
        profile = httpx.get(
            server.url + "/api/v1/learner/profile", params={"learner": learner, "course": course}, headers=basic(key)
        )
        body = profile.json()
        for row in [*listing["learners"], body["risk"], *body["risk_history"]]:  # explained on read
            assert row["factors_missing"] is None and "features" not in row
            assert all(f["text"] and f["effect"] > 0 for f in row["factors"])
        assert any(r["factors"] for r in listing["learners"])
        assert body["risk"]["risk"] == risks[0] and body["risk_history"][-1]["seq"] == len(body["risk_history"]) - 1
        assert body["features"]["activity"] > 0 and "activity_percentile" in body["features"]
        assert isinstance(body["mastery"], list)
        missing = httpx.get(
            server.url + "/api/v1/learner/profile", params={"learner": "nobody", "course": course}, headers=basic(key)
        )
        assert missing.status_code == 404 and "nobody" in missing.text
        bad = httpx.get(at_risk, params={"course": course, "threshold": 2}, headers=basic(key))
        assert bad.status_code == 400 and "threshold" in bad.text
    runner = CliRunner()
    env = {"EDUPULSE_DATA_DIR": str(settings.data_dir), "EDUPULSE_LOG__PARTITIONS": "2"}
    out = runner.invoke(main, ["at-risk", course, "--limit", "3", "--json"], env=env)
    assert out.exit_code == 0, out.output
    assert [r["risk"] for r in json.loads(out.output)["learners"]] == risks[:3]
    out = runner.invoke(main, ["learner", learner, "--course", course], env=env)
    assert out.exit_code == 0 and f"risk {risks[0]:.2f}" in out.output
    out = runner.invoke(main, ["learner", "nobody", "--course", course], env=env)
    assert out.exit_code != 0 and "nobody" in out.output

    # A newer model is stored and the version the scores were made with is deleted:
    # the scores are served without reasons, saying why.
    newer = msgspec.structs.replace(tiny_models(), version="risk-test-newer")
    save_model(settings.data_dir / "models", ModelCard(RISK_MODEL, newer.version), newer)
    shutil.rmtree(settings.data_dir / "models" / RISK_MODEL / tiny_models().version)
    with Deployment(settings) as dep, LiveServer(dep) as server:
        got = httpx.get(
            server.url + "/api/v1/course/at-risk", params={"course": course, "page_size": 3}, headers=basic(key)
        )
        assert got.status_code == 200 and [r["risk"] for r in got.json()["learners"]] == risks[:3]
        assert all(not r["factors"] and tiny_models().version in r["factors_missing"] for r in got.json()["learners"])
        body = httpx.get(
            server.url + "/api/v1/learner/profile", params={"learner": learner, "course": course}, headers=basic(key)
        ).json()
        assert body["risk"]["risk"] == risks[0] and "is not stored" in body["risk"]["factors_missing"]
    out = runner.invoke(main, ["at-risk", course, "--limit", "3"], env=env)
    assert out.exit_code == 0 and "no reasons" in out.output
