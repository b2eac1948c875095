"""Mastery champions switch in a running processor, between batches, like the at-risk ones."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from edupulse.config import Settings
from edupulse.deployment import Deployment
from edupulse.events.model import LearningEvent, Result
from edupulse.events.vocabulary import Verb
from edupulse.events.xapi import SKILLS_EXTENSION
from edupulse.insights.mastery import MASTERY_VIEW, MasteryOperator
from edupulse.ml import bkt, model_admin
from edupulse.ml.bkt import BktParams
from edupulse.ml.mastery_model import MasteryModel, load_model, mastery_source, save_model
from edupulse.ml.registry import FileRegistry, promote
from edupulse.stream.store.base import Row
from tests.statements import START, statement

OLD = MasteryModel(bkt={"fractions": BktParams(prior=0.3, learn=0.2, forget=0.05, guess=0.2, slip=0.1)})
NEW = MasteryModel(bkt={"fractions": BktParams(prior=0.6, learn=0.05, forget=0.0, guess=0.1, slip=0.3)})


def _settings(tmp_path: Path) -> Settings:
    settings = Settings(data_dir=tmp_path / "d", log={"partitions": 2}, models={"poll_interval_s": 0})
    save_model(NEW, settings.data_dir)
    save_model(OLD, settings.data_dir)
    model_admin.promote(settings, "mastery", OLD.version)
    return settings


def _attempt(learner: str, correct: bool, minutes: int) -> dict[str, Any]:
    stmt = statement(learner, verb="answered", when=START + timedelta(minutes=minutes))
    stmt["context"]["extensions"] = {SKILLS_EXTENSION: ["fractions"]}
    stmt["result"] = {"success": correct}
    return stmt


def _event(learner: str, correct: bool) -> LearningEvent:
    result = Result(success=correct)
    return LearningEvent("e", "t", learner, Verb.ANSWERED, "o", None, None, ("fractions",), result, 0, 0, "test", "1")


def _rows_when(dep: Deployment, done: Callable[[list[Row]], bool]) -> list[Row]:
    """The mastery rows once ``done`` says they are there (the processor commits in the background)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        rows = dep.store.select(MASTERY_VIEW.name, {})
        if done(rows):
            return rows
        time.sleep(0.05)
    raise AssertionError(f"the processor did not write the rows expected; it wrote {rows}")


def _by_learner(rows: list[Row]) -> dict[str, Row]:
    return {str(r["learner"]): r for r in rows}


def test_rows_not_yet_flushed_keep_the_model_they_were_traced_with(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    op = MasteryOperator(mastery_source(settings))
    assert op.model_version == OLD.version
    op.restore(0, {})
    op.process(0, [_event("a", True)])  # not flushed yet (a replay commits many batches at once)
    model_admin.promote(settings, "mastery", NEW.version)
    op.process(0, [_event("b", False)])
    rows = _by_learner(op.flush(0).views[MASTERY_VIEW.name])
    old, new = OLD.bkt["fractions"], NEW.bkt["fractions"]
    assert rows["a"]["model_version"] == OLD.version
    assert rows["a"]["p_correct"] == round(bkt.p_correct(bkt.update(old.prior, True, old), old), 6)
    assert rows["b"]["model_version"] == NEW.version
    assert rows["b"]["p_mastery"] == round(bkt.update(new.prior, False, new), 6)
    op.process(0, [_event("a", False)])  # the same learner-skill twice in one flush: one row, the newest
    assert [r["model_version"] for r in op.flush(0).views[MASTERY_VIEW.name]] == [NEW.version]


def test_running_processor_switches_mastery_champion_and_rolls_back(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    old, new = OLD.bkt["fractions"], NEW.bkt["fractions"]
    with Deployment(settings) as dep:
        dep.start_processing()
        dep.ingest.ingest(json.dumps([_attempt("ann", True, 1)]).encode(), tenant="t")
        first = _rows_when(dep, lambda rows: len(rows) == 1)
        model_admin.promote(settings, "mastery", NEW.version)
        dep.ingest.ingest(json.dumps([_attempt("ann", False, 2), _attempt("bob", True, 3)]).encode(), tenant="t")
        second = _rows_when(dep, lambda rows: len(rows) == 2 and rows[0]["attempts"] + rows[1]["attempts"] == 3)
        model_admin.rollback(settings, "mastery")
        dep.ingest.ingest(json.dumps([_attempt("cat", True, 4)]).encode(), tenant="t")
        third = _rows_when(dep, lambda rows: len(rows) == 3)
    assert [r["model_version"] for r in first] == [OLD.version]
    assert {r["model_version"] for r in second} == {NEW.version}
    # The state carries over: the new model continues from where the old one left the learner.
    ann = bkt.update(bkt.update(old.prior, True, old), False, new)
    bob = bkt.update(new.prior, True, new)
    assert sorted(r["p_mastery"] for r in second) == sorted([round(ann, 6), round(bob, 6)])
    # Rolled back without a restart: a later attempt is traced with the old model again.
    assert {r["model_version"] for r in third} == {OLD.version, NEW.version}
    assert sorted(r["p_mastery"] for r in third if r["model_version"] == OLD.version) == [
        round(bkt.update(old.prior, True, old), 6)
    ]


def test_a_deployment_starts_with_the_champion_even_if_the_served_file_lags(tmp_path: Path) -> None:
    settings = _settings(tmp_path)  # mastery.json holds OLD, the champion
    root = settings.data_dir / "models"
    promote(FileRegistry(root), root, "mastery", NEW.version)  # the alias only (as another host would)
    assert load_model(settings.data_dir).version == OLD.version
    assert mastery_source(settings).model.version == NEW.version
