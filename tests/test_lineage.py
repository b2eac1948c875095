"""Lineage: every view row traces to the commit that wrote it, its offsets, versions and events."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from edupulse.config import Settings
from edupulse.deployment import Deployment
from edupulse.insights.engagement import COURSE_VIEW, LEARNER_VIEW
from edupulse.roster.oneroster import import_roster
from edupulse.stream.store.base import Commit, Lineage, StateStore, ViewSpec
from tests.access_callers import AUTH_SETTINGS, CHEM, EVE, headers_for
from tests.conftest import LiveServer, basic
from tests.contract.backends import STORE_BACKENDS, Handles
from tests.roster_files import write_roster
from tests.test_access_scope import _mbox
from tests.test_api import post, wait_for

VIEW = ViewSpec("items", key=("tenant", "id"), columns={"tenant": "text", "id": "text", "n": "int"})
CODE = Lineage({"edupulse": "0.1.0", "counter": "3"}, {"mastery": "bkt-7"})


@pytest.fixture(params=sorted(STORE_BACKENDS))
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StateStore]:
    handles: Handles[StateStore] = Handles(STORE_BACKENDS[request.param], tmp_path)
    opened = handles.open()
    opened.setup([VIEW])
    yield opened
    handles.close_all()


def test_a_row_traces_to_the_commit_that_last_wrote_it(store: StateStore) -> None:
    store.commit(Commit("events", 1, 10, views={"items": [{"tenant": "t", "id": "a", "n": 1}]}, lineage=CODE))
    rows = [{"tenant": "t", "id": "b", "n": 2}, {"tenant": "t", "id": "a", "n": 3}]
    store.commit(Commit("events", 1, 25, views={"items": rows}, from_offset=10, lineage=CODE))
    store.commit(Commit("events", 2, 4, views={"items": [{"tenant": "t", "id": "c", "n": 4}]}))  # no lineage asked

    found = store.row_lineage("items", {"tenant": "t", "id": "a"})
    assert found is not None
    assert (found.topic, found.partition, found.from_offset, found.to_offset) == ("events", 1, 10, 25)
    assert found.operators == CODE.operators and found.models == CODE.models and found.committed_us > 0
    assert store.get("items", {"tenant": "t", "id": "a"}) == {"tenant": "t", "id": "a", "n": 3}  # lineage is hidden
    assert store.row_lineage("items", {"tenant": "t", "id": "c"}) is None
    assert store.row_lineage("items", {"tenant": "t", "id": "zz"}) is None


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, dict[str, dict[str, str]]]]:
    tmp = tmp_path_factory.mktemp("lineage")
    settings = Settings(data_dir=tmp / "data", log={"partitions": 2}, auth=AUTH_SETTINGS)
    with Deployment(settings) as dep, LiveServer(dep) as server:
        import_roster(dep.roster, [write_roster(tmp / "roster")], tenant="default", checkpoint_dir=tmp / "imports")
        source = dep.credentials.create("lms", tenant="default", scopes=("ingest", "read"))
        statements = [_mbox("eve@school.example", CHEM), _mbox("cy@school.example", CHEM)]
        statements += [_mbox("eve@school.example", CHEM, verb="experienced")]
        assert post(server, source, statements).status_code == 200
        wait_for(lambda: httpx.get(server.url + "/api/v1/status", headers=basic(source)).json()["lag"] == 0)
        yield server, headers_for(dep)


def _lineage(server: LiveServer, headers: dict[str, str], view: str, key: dict[str, Any]) -> httpx.Response:
    params = {"view": view, "key": json.dumps(key)}
    return httpx.get(server.url + "/api/v1/lineage", params=params, headers=headers, timeout=10)


def test_the_api_answers_the_commit_versions_and_events_of_a_row(
    served: tuple[LiveServer, dict[str, dict[str, str]]],
) -> None:
    server, h = served
    response = _lineage(server, h["eve"], LEARNER_VIEW.name, {"course": CHEM, "learner": EVE})
    assert response.status_code == 200, response.text
    body = response.json()

    assert body["row"]["events"] == 2
    commit = body["commit"]
    assert commit["topic"] == "learning-events" and commit["from_offset"] < commit["to_offset"]
    assert commit["operators"]["engagement"] and commit["operators"]["edupulse"]
    assert "mastery" in commit["models"]
    events = body["events"]
    assert len(events) == 2 and {e["event"]["learner"] for e in events} == {
        server.deployment.learner_key("default", EVE)
    }
    assert all(commit["from_offset"] <= e["offset"] < commit["to_offset"] for e in events)
    log = server.deployment.log
    stored = log.read(commit["topic"], commit["partition"], events[0]["offset"], 1)[0]
    assert stored.offset == events[0]["offset"]


def test_lineage_is_scoped_like_the_row(served: tuple[LiveServer, dict[str, dict[str, str]]]) -> None:
    server, h = served
    key = {"course": CHEM, "learner": EVE}
    assert _lineage(server, h["ada"], LEARNER_VIEW.name, key).status_code == 403
    assert _lineage(server, h["alan"], LEARNER_VIEW.name, key).status_code == 200
    assert _lineage(server, h["alan"], COURSE_VIEW.name, {"course": CHEM, "partition": 0}).status_code in (200, 404)
    assert _lineage(server, h["eve"], "no_such_view", key).status_code == 404
    partial = _lineage(server, h["alan"], LEARNER_VIEW.name, {"course": CHEM})
    assert partial.status_code == 400 and "every key column" in partial.json()["message"]
    bad = httpx.get(server.url + "/api/v1/lineage", params={"view": "x", "key": "[1"}, headers=h["eve"])
    assert bad.status_code == 400 and "key" in bad.json()["message"]
