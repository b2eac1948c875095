"""Scope with real data: each person sees only their rows, identified data needs a purpose, and reads are audited."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from edupulse.cli import main
from edupulse.config import Settings
from edupulse.deployment import Deployment
from edupulse.roster.oneroster import import_roster
from tests.access_callers import AUTH_SETTINGS, CHEM, EVE, headers_for, token
from tests.conftest import LiveServer, basic
from tests.roster_files import write_roster
from tests.statements import statement
from tests.test_api import post, wait_for

BIO = "https://example.edu/courses/bio"
BEA = "mailto:bea@school.example"


def _mbox(email: str, course: str, verb: str = "answered") -> dict[str, Any]:
    stmt = statement(course=course, verb=verb, score=1.0)
    stmt["actor"] = {"objectType": "Agent", "mbox": f"mailto:{email}"}
    return stmt


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, dict[str, dict[str, str]]]]:
    tmp = tmp_path_factory.mktemp("scope")
    settings = Settings(data_dir=tmp / "data", log={"partitions": 2}, auth=AUTH_SETTINGS)
    with Deployment(settings) as dep, LiveServer(dep) as server:
        import_roster(dep.roster, [write_roster(tmp / "roster")], tenant="default", checkpoint_dir=tmp / "imports")
        source = dep.credentials.create("lms", tenant="default", scopes=("ingest", "read"))
        batch = [
            _mbox("eve@school.example", CHEM),
            _mbox("bea@school.example", BIO),
            _mbox("bea@school.example", CHEM),  # Bea also shows up in chemistry (not her class)
            _mbox("cy@school.example", BIO),
        ]
        assert post(server, source, batch).status_code == 200
        wait_for(lambda: _get(server, basic(source), "/api/v1/status").json()["lag"] == 0)
        yield server, headers_for(dep)


def _get(server: LiveServer, headers: dict[str, str], path: str, **params: Any) -> httpx.Response:
    return httpx.get(server.url + path, params=params, headers=headers, timeout=10)


def test_instructors_see_their_courses_only(served: tuple[LiveServer, dict[str, dict[str, str]]]) -> None:
    server, h = served
    assert [c["course"] for c in _get(server, h["ada"], "/api/v1/courses").json()] == [BIO]
    assert [c["course"] for c in _get(server, h["alan"], "/api/v1/courses").json()] == [CHEM]
    assert {c["course"] for c in _get(server, h["admin"], "/api/v1/courses").json()} == {BIO, CHEM}
    assert _get(server, h["eve"], "/api/v1/courses").json() == []
    assert _get(server, h["ada"], "/api/v1/course", course=CHEM).status_code == 403
    page = _get(server, h["alan"], "/api/v1/course/learners", course=CHEM).json()
    pseudonym = server.deployment.learner_key
    assert {r["learner"] for r in page["learners"]} == {pseudonym("default", EVE), pseudonym("default", BEA)}


def test_a_learner_is_cut_to_the_viewers_relation(served: tuple[LiveServer, dict[str, dict[str, str]]]) -> None:
    server, h = served
    # Ada teaches Bea biology: she sees Bea's biology row, not chemistry
    assert [r["course"] for r in _get(server, h["ada"], "/api/v1/learner", learner=BEA).json()] == [BIO]
    # Alan advises Bea: he sees all of Bea's rows; Dan (her guardian) too; Bea herself too
    for viewer in ("alan", "dan", "bea"):
        rows = _get(server, h[viewer], "/api/v1/learner", learner=BEA).json()
        assert sorted(r["course"] for r in rows) == [BIO, CHEM], viewer
    assert _get(server, h["eve"], "/api/v1/learner", learner=BEA).status_code == 403
    assert _get(server, h["stranger"], "/api/v1/learner", learner=BEA).status_code == 403


def test_identified_data_needs_a_purpose_and_every_read_is_audited(
    served: tuple[LiveServer, dict[str, dict[str, str]]],
) -> None:
    server, h = served
    assert _get(server, h["alan"], "/api/v1/roster/users/s-eve").status_code == 400
    found = _get(server, {**h["alan"], "X-Purpose": "parent meeting"}, "/api/v1/roster/users/s-eve")
    assert found.status_code == 200 and found.json()["family_name"] == "Adebayo"
    assert _get(server, h["ada"], "/api/v1/roster/users/s-eve", purpose="x").status_code == 403
    _get(server, h["dan"], "/api/v1/learner", learner=BEA, purpose="homework check")

    entries = _get(server, h["admin"], "/api/v1/audit", limit=1000).json()
    identified = [e for e in entries if e["kind"] == "identified"]
    assert [(e["actor"], e["subject"], e["purpose"]) for e in identified] == [
        ("user:t-alan", "user:s-eve", "parent meeting")
    ]
    bea = server.deployment.learner_key("default", BEA)  # reads of a learner are logged under their pseudonym
    assert ("user:g-dan", bea, "homework check") in {(e["actor"], e["subject"], e["purpose"]) for e in entries}
    assert all(e["at_us"] > 0 and e["action"].startswith(("GET ", "POST ")) for e in entries)
    assert _get(server, h["alan"], "/api/v1/audit").status_code == 403


def test_the_audit_log_is_append_only(served: tuple[LiveServer, dict[str, dict[str, str]]], tmp_path: Path) -> None:
    server, _ = served
    path = server.deployment.settings.data_dir / "roster.db"
    with sqlite3.connect(path) as conn:
        for sql in ("UPDATE audit_log SET purpose='x'", "DELETE FROM audit_log"):
            with pytest.raises(sqlite3.IntegrityError, match="append-only"):
                conn.execute(sql)


def test_an_expired_token_is_401_with_a_bearer_challenge(served: tuple[LiveServer, dict[str, dict[str, str]]]) -> None:
    server, _ = served
    expired = token("t-ada", exp=1)
    response = _get(server, {"Authorization": f"Bearer {expired}"}, "/api/v1/courses")
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert "expired" in response.json()["message"]


def test_the_audit_command_lists_the_reads(served: tuple[LiveServer, dict[str, dict[str, str]]]) -> None:
    server, h = served
    _get(server, {**h["eve"], "X-Purpose": "self check"}, "/api/v1/learner", learner=EVE)
    data_dir = str(server.deployment.settings.data_dir)
    result = CliRunner().invoke(main, ["audit", "--data-dir", data_dir, "--subject", EVE, "--json"])
    assert result.exit_code == 0, result.output
    entries = json.loads(result.output)
    assert {(e["actor"], e["purpose"]) for e in entries} >= {("user:s-eve", "self check")}
    text = CliRunner().invoke(main, ["audit", "--data-dir", data_dir, "--subject", EVE])
    assert "user:s-eve (learner)" in text.output and "self check" in text.output


def test_lrs_reads_are_audited_as_identified(served: tuple[LiveServer, dict[str, dict[str, str]]]) -> None:
    server, h = served
    headers = {**h["read_key"], "X-Experience-API-Version": "1.0.3", "X-Purpose": "export"}
    agent = json.dumps({"mbox": "mailto:eve@school.example"})
    assert _get(server, headers, "/xapi/statements", agent=agent).status_code == 200
    entries = _get(server, h["admin"], "/api/v1/audit", limit=1000).json()
    lrs = [e for e in entries if e["action"] == "GET /xapi/statements"]
    assert lrs[-1]["kind"] == "identified" and lrs[-1]["purpose"] == "export"
    assert lrs[-1]["subject"] == server.deployment.learner_key("default", EVE)  # never the agent's mbox
