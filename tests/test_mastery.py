"""The mastery operator: knowledge traced live, restored after a revoke, equal in replay."""

from __future__ import annotations

import itertools
import json
import random
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edupulse.config import Settings
from edupulse.deployment import LOG_FILE, STATE_FILE, Deployment
from edupulse.errors import ConfigError
from edupulse.events.model import LearningEvent, Result
from edupulse.events.vocabulary import Verb
from edupulse.events.xapi import SKILLS_EXTENSION
from edupulse.insights import default_operators
from edupulse.insights.mastery import MASTERY_VIEW, MasteryOperator, outcome
from edupulse.log.sqlite import SqliteLog
from edupulse.lrs.statements import StatementIngest
from edupulse.ml import bkt
from edupulse.ml.bkt import BktParams
from edupulse.ml.mastery_model import MasteryModel, load_model, save_model
from edupulse.replay import replay
from edupulse.stream.runtime import EVENTS_TOPIC, Runtime
from edupulse.stream.store.sqlite import SqliteStore
from tests.conftest import LiveServer, basic
from tests.statements import START, learner_key, statement

MODEL = MasteryModel(
    bkt={"fractions": BktParams(prior=0.3, learn=0.2, forget=0.05, guess=0.2, slip=0.1)},
    bkt_fallback=BktParams(prior=0.4, learn=0.1, forget=0.0, guess=0.25, slip=0.1),
)


def graded(
    learner: str, skills: list[str], correct: bool | None, minutes: int, verb: str = "answered"
) -> dict[str, Any]:
    stmt = statement(learner, verb=verb, when=START + timedelta(minutes=minutes))
    stmt["context"]["extensions"] = {SKILLS_EXTENSION: skills}
    if correct is not None:
        stmt["result"] = {"success": correct}
    return stmt


def _event(verb: Verb, skills: tuple[str, ...], result: Result | None) -> LearningEvent:
    return LearningEvent("e", "t", "l", verb, "o", None, None, skills, result, 0, 0, "test", "1")


def test_outcome_of_an_attempt() -> None:
    assert outcome(_event(Verb.ANSWERED, ("s",), Result(success=False, score=1.0))) is False
    assert outcome(_event(Verb.PASSED, ("s",), None)) is True
    assert outcome(_event(Verb.SCORED, ("s",), Result(score=0.7))) is True
    assert outcome(_event(Verb.ANSWERED, ("s",), Result(duration_s=3.0))) is None  # not graded
    assert outcome(_event(Verb.ANSWERED, (), Result(success=True))) is None  # no skill
    assert outcome(_event(Verb.VIEWED, ("s",), Result(success=True))) is None  # not an attempt


def _runtime(data_dir: Path, batch: int) -> tuple[Runtime, SqliteLog, SqliteStore]:
    log = SqliteLog(data_dir / LOG_FILE)
    log.ensure_topic(EVENTS_TOPIC, 2)
    store = SqliteStore(data_dir / STATE_FILE)
    runtime = Runtime(log, store, default_operators(allowed_lateness_us=0, mastery=MODEL), batch_size=batch)
    runtime.assign_all()
    return runtime, log, store


def _mastery_rows(store: SqliteStore) -> list[dict[str, Any]]:
    return sorted(store.select(MASTERY_VIEW.name, {}), key=lambda r: (r["learner"], r["skill"]))


def test_mastery_follows_the_bkt_update_for_each_skill(tmp_path: Path) -> None:
    runtime, log, store = _runtime(tmp_path, batch=2)
    answers = [True, False, True, True]
    stmts = [graded("ada", ["fractions", "ratios"], c, i) for i, c in enumerate(answers)]
    stmts.append(graded("ada", ["fractions"], None, 9))  # ungraded: changes nothing
    StatementIngest(log).ingest(json.dumps(stmts).encode(), tenant="t")
    runtime.run_until_caught_up()
    rows = {r["skill"]: r for r in _mastery_rows(store)}
    for skill, params in (("fractions", MODEL.bkt["fractions"]), ("ratios", MODEL.bkt_fallback)):
        known = params.prior
        for c in answers:
            known = bkt.update(known, c, params)
        row = rows[skill]
        assert row["p_mastery"] == pytest.approx(known, abs=1e-6)
        assert row["p_correct"] == pytest.approx(bkt.p_correct(known, params), abs=1e-6)
        assert (row["attempts"], row["correct"], row["learner"]) == (4, 3, learner_key("ada"))
        assert row["model_version"] == MODEL.version != "defaults"
    assert rows["fractions"]["elo_p_correct"] > 0.5
    store.close()
    log.close()


def test_the_row_says_whether_the_latest_attempt_failed(tmp_path: Path) -> None:
    runtime, log, store = _runtime(tmp_path, batch=2)
    stmts = [
        graded("ada", ["fractions"], False, 1),
        graded("ada", ["fractions", "ratios"], True, 5),
        graded("ada", ["ratios"], False, 3),  # logged last, but earlier: not the latest attempt
        graded("ada", ["decimals"], True, 2),
        graded("ada", ["decimals"], False, 2),  # a tie in time: the one logged last counts
    ]
    StatementIngest(log).ingest(json.dumps(stmts).encode(), tenant="t")
    runtime.run_until_caught_up()
    rows = {r["skill"]: r for r in _mastery_rows(store)}
    assert {s: (r["last_failed"], r["attempts"] - r["correct"]) for s, r in rows.items()} == {
        "fractions": (0, 1),
        "ratios": (0, 1),
        "decimals": (1, 1),
    }
    store.close()
    log.close()


def test_state_restored_after_a_revoke_continues_identically(tmp_path: Path) -> None:
    rng = random.Random(1)
    stmts = [graded(f"l{rng.randrange(5)}", [rng.choice("abc")], rng.random() < 0.6, i) for i in range(200)]
    runtime, log, store = _runtime(tmp_path / "one", batch=7)
    StatementIngest(log).ingest(json.dumps(stmts[:120]).encode(), tenant="t")
    runtime.run_until_caught_up()
    runtime.revoke([0, 1])  # a rebalance: memory is dropped, the store keeps the state
    runtime.assign([0, 1])
    StatementIngest(log).ingest(json.dumps(stmts[120:]).encode(), tenant="t")
    runtime.run_until_caught_up()
    interrupted = _mastery_rows(store)
    store.close()
    log.close()
    runtime, log, store = _runtime(tmp_path / "two", batch=500)
    StatementIngest(log).ingest(json.dumps(stmts).encode(), tenant="t")
    runtime.run_until_caught_up()
    assert _mastery_rows(store) == interrupted
    assert sum(r["attempts"] for r in interrupted) == 200
    store.close()
    log.close()


def test_replay_with_the_stored_model_equals_live(tmp_path: Path) -> None:
    save_model(MODEL, tmp_path)
    assert load_model(tmp_path) == MODEL
    rng = random.Random(2)
    stmts = [graded(f"l{rng.randrange(8)}", rng.sample("abcd", 2), rng.random() < 0.5, i) for i in range(300)]
    runtime, log, store = _runtime(tmp_path, batch=5)
    ingest = StatementIngest(log)
    for i in range(0, 300, 40):
        ingest.ingest(json.dumps(stmts[i : i + 40]).encode(), tenant="t")
        runtime.run_once()
    runtime.run_until_caught_up()
    live = _mastery_rows(store)
    store.close()
    log.close()
    replay(Settings(data_dir=tmp_path, runtime={"replay_batch_size": 64}), workers=2)
    store = SqliteStore(tmp_path / STATE_FILE)
    assert _mastery_rows(store) == live
    assert {r["model_version"] for r in live} == {MODEL.version}
    store.close()


def test_a_broken_model_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "models" / "mastery.json"
    path.parent.mkdir()
    bad = {"prior": 2, "learn": 0.1, "forget": 0, "guess": 0.2, "slip": 0.1}
    path.write_text(json.dumps({"format": 1, "bkt": {"s": bad}}))
    with pytest.raises(ConfigError, match=r"not a mastery model .*prior must be within \[0, 1\]") as info:
        load_model(tmp_path)
    assert "edupulse train mastery" in str(info.value)
    path.write_text("{")
    with pytest.raises(ConfigError, match="not valid JSON"):
        load_model(tmp_path)
    assert MasteryOperator().model_version == "defaults"
    assert msgspec.json.decode(msgspec.json.encode(MODEL), type=MasteryModel).version == MODEL.version


def test_the_api_serves_mastery_per_skill(live_server: LiveServer, deployment: Deployment) -> None:
    key = deployment.credentials.create("kt", tenant="default")
    body = [graded("kim", ["algebra"], True, 0), graded("kim", ["algebra", "graphs"], False, 1)]
    headers = {**basic(key), "Content-Type": "application/json", "X-Experience-API-Version": "1.0.3"}
    assert httpx.post(live_server.url + "/xapi/statements", json=body, headers=headers).status_code == 200
    url = live_server.url + "/api/v1/learner/mastery"
    for _ in range(500):
        response = httpx.get(url, params={"learner": learner_key("kim")}, headers=basic(key))
        if response.status_code == 200 and len(response.json()) == 2:
            break
    rows = response.json()
    assert [(r["skill"], r["attempts"], r["correct"]) for r in rows] == [("algebra", 2, 1), ("graphs", 1, 0)]
    missing = httpx.get(url, params={"learner": "nobody"}, headers=basic(key))
    assert missing.status_code == 404 and "nobody" in missing.text


attempt = st.builds(
    lambda learner, skills, correct, minutes, verb: graded(f"l{learner}", skills, correct, minutes, verb),
    learner=st.integers(0, 4),
    skills=st.lists(st.sampled_from(["a", "b", "c"]), min_size=0, max_size=2),
    correct=st.none() | st.booleans(),
    minutes=st.integers(0, 60 * 24 * 3),
    verb=st.sampled_from(["answered", "passed", "failed", "experienced"]),
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    stmts=st.lists(attempt, min_size=1, max_size=60),
    cuts=st.lists(st.integers(0, 60), max_size=5),
    live_batch=st.integers(1, 20),
    replay_batch=st.integers(1, 100),
)
def test_live_equals_replay_whatever_the_batches(
    stmts: list[dict[str, Any]], cuts: list[int], live_batch: int, replay_batch: int
) -> None:
    for i, stmt in enumerate(stmts):
        stmt["id"] = f"00000000-0000-4000-8000-{i:012d}"
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        save_model(MODEL, data_dir)
        runtime, log, store = _runtime(data_dir, batch=live_batch)
        ingest = StatementIngest(log)
        bounds = sorted({0, len(stmts), *(min(c, len(stmts)) for c in cuts)})
        for a, b in itertools.pairwise(bounds):
            ingest.ingest(json.dumps(stmts[a:b]).encode(), tenant="t")
            runtime.run_once()
        runtime.run_until_caught_up()
        live = _mastery_rows(store)
        store.close()
        log.close()
        replay(Settings(data_dir=data_dir, runtime={"replay_batch_size": replay_batch}))
        store = SqliteStore(data_dir / STATE_FILE)
        assert _mastery_rows(store) == live
        store.close()
    graded_attempts = sum(
        len(set(s["context"]["extensions"][SKILLS_EXTENSION]))
        for s in stmts
        if s["verb"]["display"]["en-US"] != "experienced"
        and s["context"]["extensions"][SKILLS_EXTENSION]
        and ("result" in s or s["verb"]["display"]["en-US"] in ("passed", "failed"))
    )
    assert sum(r["attempts"] for r in live) == graded_attempts
