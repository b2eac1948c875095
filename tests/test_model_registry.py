"""The model registry: aliases on both backends, promote and rollback, and hot swap in a running processor."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest

from edupulse.config import Settings
from edupulse.deployment import Deployment
from edupulse.errors import ConflictError, NotFoundError
from edupulse.insights import default_operators
from edupulse.insights.risk_explain import RiskExplainer
from edupulse.insights.risk_queries import risk_and_history
from edupulse.insights.risk_shadow import SHADOW_VIEW
from edupulse.insights.risk_views import HISTORY_VIEW, RISK_VIEW
from edupulse.log.sqlite import SqliteLog
from edupulse.lrs.statements import StatementIngest
from edupulse.ml.registry import (
    CHALLENGER,
    CHAMPION,
    FileRegistry,
    ModelCard,
    Registry,
    aliases,
    promote,
    resolve,
    rollback,
    save_model,
)
from edupulse.ml.registry.postgres import PostgresRegistry
from edupulse.ml.registry.watch import AliasWatch
from edupulse.ml.risk_models import RISK_MODEL, RiskModels, RiskSource
from edupulse.stream.runtime import EVENTS_TOPIC, Runtime
from edupulse.stream.store.base import Row
from edupulse.stream.store.sqlite import SqliteStore
from tests.risk_models import tiny_models
from tests.services import postgres_dsn, scratch_schema
from tests.statements import learner_key, random_statements


def _store(root: Path, *versions: str) -> None:
    for version in versions:
        save_model(root, ModelCard(RISK_MODEL, version), msgspec.structs.replace(tiny_models(), version=version))


@pytest.fixture(params=["files", "postgres"])
def registry(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Registry]:
    if request.param == "files":
        reg: Registry = FileRegistry(tmp_path / "models")
    else:
        schema = scratch_schema("t_" + hashlib.blake2b(str(tmp_path).encode(), digest_size=8).hexdigest())
        reg = PostgresRegistry(postgres_dsn(), schema=schema)
    yield reg
    reg.close()


def test_promote_and_rollback_on_every_backend(registry: Registry, tmp_path: Path) -> None:
    root = tmp_path / "models"
    _store(root, "v1", "v2", "v3")
    assert resolve(registry, root, RISK_MODEL) == "v3"  # no champion yet: the newest version
    before = registry.stamp(RISK_MODEL)
    promote(registry, root, RISK_MODEL, "v1")
    assert registry.stamp(RISK_MODEL) != before
    promote(registry, root, RISK_MODEL, "v2")
    promote(registry, root, RISK_MODEL, "v3", alias=CHALLENGER)
    assert aliases(registry, RISK_MODEL) == {CHAMPION: "v2", CHALLENGER: "v3"}
    promote(registry, root, RISK_MODEL, "v3")  # the challenger wins: it is no longer the challenger
    assert aliases(registry, RISK_MODEL) == {CHAMPION: "v3"}
    assert rollback(registry, RISK_MODEL) == "v2"
    assert rollback(registry, RISK_MODEL) == "v1"  # rollbacks walk back, never flip-flop
    assert resolve(registry, root, RISK_MODEL) == "v1"
    with pytest.raises(ConflictError, match="no previous champion"):
        rollback(registry, RISK_MODEL)
    with pytest.raises(NotFoundError, match="v9"):
        promote(registry, root, RISK_MODEL, "v9")
    with pytest.raises(NotFoundError, match="unknown alias"):
        promote(registry, root, RISK_MODEL, "v2", alias="king")
    with pytest.raises(ConflictError, match="already"):
        promote(registry, root, RISK_MODEL, "v1")
    kinds = [(c.alias, c.kind, c.version) for c in registry.changes(RISK_MODEL)]
    assert kinds[-2:] == [(CHAMPION, "rollback", ""), (CHAMPION, "rollback", "")]
    assert [c.seq for c in registry.changes(RISK_MODEL)] == sorted(c.seq for c in registry.changes(RISK_MODEL))


def test_watch_polls_at_most_every_interval_and_sees_a_promotion(tmp_path: Path) -> None:
    root = tmp_path / "models"
    _store(root, "v1", "v2")
    registry = FileRegistry(root)
    now = [0.0]
    watch = AliasWatch(registry, root, RISK_MODEL, poll_s=5.0, clock=lambda: now[0])
    assert watch.served == ("v2", None)
    promote(registry, root, RISK_MODEL, "v1")
    assert watch.poll() is None  # too soon
    now[0] = 5.0
    assert watch.poll() == ("v1", None)
    now[0] = 10.0
    assert watch.poll() is None  # nothing moved


def test_watch_opens_the_registry_only_once_a_version_is_stored(tmp_path: Path) -> None:
    root = tmp_path / "models"
    opened: list[FileRegistry] = []

    def opener() -> FileRegistry:
        opened.append(FileRegistry(root))
        return opened[-1]

    watch = AliasWatch(None, root, RISK_MODEL, poll_s=0, opener=opener)
    assert watch.served == (None, None) and watch.poll() is None and not opened
    _store(root, "v1")
    assert watch.poll() == ("v1", None) and len(opened) == 1
    promote(opened[0], root, RISK_MODEL, "v1", alias=CHALLENGER)
    assert watch.poll() == ("v1", "v1") and len(opened) == 1
    assert AliasWatch(None, root, RISK_MODEL, poll_s=0, opener=opener).served == ("v1", "v1")  # stored: opened now


def test_risk_source_follows_promotions_on_every_backend(registry: Registry, tmp_path: Path) -> None:
    root = tmp_path / "models"
    _store(root, "v1", "v2")
    promote(registry, root, RISK_MODEL, "v1")
    source = RiskSource(AliasWatch(registry, root, RISK_MODEL, poll_s=0))
    assert source.champion is not None and source.champion.version == "v1" and source.challenger is None
    assert not source.poll()  # nothing moved
    promote(registry, root, RISK_MODEL, "v2")
    promote(registry, root, RISK_MODEL, "v1", alias=CHALLENGER)
    assert source.poll()
    assert source.champion.version == "v2" and source.challenger is not None and source.challenger.version == "v1"
    rollback(registry, RISK_MODEL)
    assert source.poll() and source.champion.version == "v1"


def _wait_processed(runtime: Runtime, events: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if sum(runtime.log.end_offsets(EVENTS_TOPIC)) >= events and not any(runtime.lag().values()):
            return
        time.sleep(0.05)
    raise AssertionError("the processor did not catch up")


def test_running_processor_switches_champion_without_restart(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "d", log={"partitions": 2}, models={"poll_interval_s": 0})
    root = settings.data_dir / "models"
    old = tiny_models()
    new = RiskModels(dict.fromkeys(old.by_day, old.by_day[0]), "risk-test-new", old.examples)  # other scores
    save_model(root, ModelCard(RISK_MODEL, old.version), old)
    save_model(root, ModelCard(RISK_MODEL, new.version), new)
    registry = FileRegistry(root)
    promote(registry, root, RISK_MODEL, old.version)
    statements = random_statements(400, seed=5, learners=12, courses=2)
    first, second = statements[:200], statements[200:]
    with Deployment(settings) as dep:
        runtime = dep.start_processing()
        dep.ingest.ingest(json.dumps(first).encode(), tenant="t")
        _wait_processed(runtime, 200)
        before = {r["event_id"] for r in dep.store.select(HISTORY_VIEW.name, {})}
        assert {r["model_version"] for r in dep.store.select(RISK_VIEW.name, {})} == {old.version}
        promote(registry, root, RISK_MODEL, new.version)
        promote(registry, root, RISK_MODEL, old.version, alias=CHALLENGER)
        dep.ingest.ingest(json.dumps(second).encode(), tenant="t")
        _wait_processed(runtime, 400)
        history = dep.store.select(HISTORY_VIEW.name, {})
        current = dep.store.select(RISK_VIEW.name, {})
        shadow = dep.store.select(SHADOW_VIEW.name, {})
    after = [r for r in history if r["event_id"] not in before]
    assert after and {r["model_version"] for r in after} == {new.version}
    assert {r["model_version"] for r in history if r["event_id"] in before} == {old.version}
    # Every learner-course scored after the switch has a history row of the new version (the model changed).
    assert {r["model_version"] for r in current} == {new.version}
    # The challenger is scored in shadow: its rows are apart and never the learner's risk.
    assert shadow and {r["model_version"] for r in shadow} == {old.version}
    by_key = {(r["course"], r["learner"]): r for r in current}
    for row in shadow:
        assert row["champion_version"] == new.version
        assert row["champion_risk"] == by_key[row["course"], row["learner"]]["risk"]


def _replay_views(data_dir: Path, risk: RiskModels | RiskSource) -> tuple[list[Row], list[Row], list[Row]]:
    log = SqliteLog(data_dir / "log.db")
    log.ensure_topic(EVENTS_TOPIC, 2)
    StatementIngest(log).ingest(json.dumps(random_statements(300, seed=9, learners=15, courses=2)).encode(), tenant="t")
    store = SqliteStore(data_dir / "state.db")
    runtime = Runtime(log, store, default_operators(allowed_lateness_us=0, risk=risk, lake=True), batch_size=37)
    runtime.assign_all()
    runtime.run_until_caught_up()
    views = tuple(store.select(v.name, {}, order_by="learner") for v in (RISK_VIEW, HISTORY_VIEW, SHADOW_VIEW))
    store.close()
    log.close()
    return views


def test_shadow_scoring_does_not_change_the_learners_risk(tmp_path: Path) -> None:
    root = tmp_path / "with" / "models"
    champion = tiny_models()
    challenger = RiskModels(
        dict.fromkeys(champion.by_day, champion.by_day[3]), "risk-test-challenger", champion.examples
    )
    save_model(root, ModelCard(RISK_MODEL, champion.version), champion)
    save_model(root, ModelCard(RISK_MODEL, challenger.version), challenger)
    registry = FileRegistry(root)
    promote(registry, root, RISK_MODEL, champion.version)
    promote(registry, root, RISK_MODEL, challenger.version, alias=CHALLENGER)
    (tmp_path / "without").mkdir()
    current, history, shadow = _replay_views(
        tmp_path / "with", RiskSource(AliasWatch(registry, root, RISK_MODEL, poll_s=0))
    )
    alone = _replay_views(tmp_path / "without", champion)
    assert (current, history) == alone[:2] and not alone[2]
    assert len(shadow) == len(current) and {r["model_version"] for r in shadow} == {challenger.version}
    assert any(s["risk"] != s["champion_risk"] for s in shadow)  # the challenger does score differently


def test_running_processor_scores_once_the_first_model_is_stored(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "d", log={"partitions": 2}, models={"poll_interval_s": 0})
    root = settings.data_dir / "models"
    statements = random_statements(450, seed=6, learners=12, courses=2)
    models = tiny_models()
    with Deployment(settings) as dep:
        runtime = dep.start_processing()
        dep.ingest.ingest(json.dumps(statements[:150]).encode(), tenant="t")
        _wait_processed(runtime, 150)
        assert dep.store.count(RISK_VIEW.name, {}) == 0 and not root.exists()  # no model: nothing scored
        first = statements[0]
        course = first["context"]["contextActivities"]["grouping"][0]["id"]
        learner = dep.learner_key("t", learner_key(first["actor"]["account"]["name"]))
        assert risk_and_history(dep.store, "t", learner, course, explainer=RiskExplainer(root))["risk"] is None
        save_model(root, ModelCard(RISK_MODEL, models.version), models)
        promote(FileRegistry(root), root, RISK_MODEL, models.version)
        dep.ingest.ingest(json.dumps(statements[150:300]).encode(), tenant="t")  # its first batches find the model
        _wait_processed(runtime, 300)
        before = dep.store.count(HISTORY_VIEW.name, {})
        dep.ingest.ingest(json.dumps(statements[300:]).encode(), tenant="t")
        _wait_processed(runtime, 450)
        # Every learner-course with events after the model was found gets scored on one of them.
        later = statements[300:]
        late = {s["id"] for s in later}
        courses = [s["context"]["contextActivities"]["grouping"][0]["id"] for s in later]
        touched = set(zip(courses, [s["actor"]["account"]["name"] for s in later], strict=True))
        deadline = time.monotonic() + 30
        while len([r for r in dep.store.select(RISK_VIEW.name, {}) if r["event_id"] in late]) < len(touched):
            assert time.monotonic() < deadline, "the events after the first model was stored were not all scored"
            time.sleep(0.05)
        history = dep.store.select(HISTORY_VIEW.name, {})
        current = dep.store.select(RISK_VIEW.name, {})
    assert len(history) > before and len([r for r in current if r["event_id"] in late]) == len(touched)
    assert {r["model_version"] for r in history} == {models.version}
