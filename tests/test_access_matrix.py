"""The access matrix: every caller against every endpoint of the OpenAPI document.

The routes come from the app itself, so a new endpoint without a row here fails
``test_every_route_is_in_the_matrix``. An outcome is ``allow`` (the request got past
authorisation: any status but 401 and 403), ``deny`` (403) or ``auth`` (401).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from edupulse.config import Settings
from edupulse.deployment import Deployment
from edupulse.roster.oneroster import import_roster
from tests.access_callers import AUTH_SETTINGS, CALLERS, CHEM, EVE, KEYS, headers_for
from tests.conftest import LiveServer
from tests.roster_files import write_roster

READ_KEYS = {"read_key", "admin_key"}
ADMINS = {"admin_key", "admin"}
READERS = READ_KEYS | {"admin", "alan", "ada", "eve", "bea", "dan"}
XAPI = {"X-Experience-API-Version": "1.0.3"}
AGENT = json.dumps({"mbox": "mailto:eve@school.example"})
ACTIVITY = "https://example.edu/courses/chem/items/1"


def analytics(allowed: set[str]) -> dict[str, str]:
    """People and keys alike: 401 without valid credentials, 403 outside the allowed set."""
    return {c: "allow" if c in allowed else "auth" if c in {"anonymous", "bad_token"} else "deny" for c in CALLERS}


def sources(allowed: set[str]) -> dict[str, str]:
    """LRS and Caliper: API keys only (a person's token is a 401, as the xAPI rules want)."""
    return {c: "allow" if c in allowed else "deny" if c in KEYS else "auth" for c in CALLERS}


PUBLIC = dict.fromkeys(CALLERS, "allow")
INGEST = sources({"ingest_key", "admin_key"})
LRS_READ = sources(READ_KEYS)
COURSE_CHEM = analytics(READ_KEYS | {"admin", "alan"})
LEARNER_EVE = analytics(READ_KEYS | {"admin", "alan", "eve"})
SCOPED = analytics(READERS)
OPERATORS = analytics(READ_KEYS | {"admin"})
ADMIN_ONLY = analytics(ADMINS)
IDENTIFY_EVE = analytics(ADMINS | {"alan", "eve"})

DOC = {"activityId": ACTIVITY, "agent": AGENT, "stateId": "s1"}
PROFILE = {"activityId": ACTIVITY, "profileId": "p1"}
AGENT_PROFILE = {"agent": AGENT, "profileId": "p1"}
# (method, path) -> (outcomes, request keyword arguments)
MATRIX: dict[tuple[str, str], tuple[dict[str, str], dict[str, Any]]] = {
    ("GET", "/healthz"): (PUBLIC, {}),
    ("GET", "/xapi/about"): (PUBLIC, {}),
    ("POST", "/xapi/statements"): (INGEST, {"json": []}),
    ("PUT", "/xapi/statements"): (INGEST, {"json": {}, "params": {"statementId": "x"}}),
    ("GET", "/xapi/statements"): (LRS_READ, {}),
    # Caliper sensors send their key as a Bearer token; a missing scope is a 401 there too (Caliper's rule)
    ("POST", "/caliper"): ({c: "allow" if c in {"ingest_key", "admin_key"} else "auth" for c in CALLERS}, {"json": {}}),
    ("GET", "/xapi/activities"): (LRS_READ, {"params": {"activityId": ACTIVITY}}),
    ("GET", "/xapi/agents"): (LRS_READ, {"params": {"agent": AGENT}}),
    **{
        (method, path): (LRS_READ if method == "GET" else INGEST, {"params": params, "json": {"a": 1}})
        for path, params in (
            ("/xapi/activities/state", DOC),
            ("/xapi/activities/profile", PROFILE),
            ("/xapi/agents/profile", AGENT_PROFILE),
        )
        for method in ("GET", "PUT", "POST", "DELETE")
    },
    ("GET", "/api/v1/courses"): (SCOPED, {}),
    ("GET", "/api/v1/course"): (COURSE_CHEM, {"params": {"course": CHEM}}),
    ("GET", "/api/v1/course/learners"): (COURSE_CHEM, {"params": {"course": CHEM}}),
    ("GET", "/api/v1/learner"): (LEARNER_EVE, {"params": {"learner": EVE}}),
    ("GET", "/api/v1/learner/mastery"): (LEARNER_EVE, {"params": {"learner": EVE}}),
    ("GET", "/api/v1/learner/profile"): (LEARNER_EVE, {"params": {"learner": EVE, "course": CHEM}}),
    ("GET", "/api/v1/course/at-risk"): (COURSE_CHEM, {"params": {"course": CHEM}}),
    ("GET", "/api/v1/status"): (OPERATORS, {}),
    ("GET", "/api/v1/stream"): (LEARNER_EVE, {"params": {"learner": EVE}}),
    ("POST", "/api/v1/sql"): (ADMIN_ONLY, {"json": {"sql": "SELECT 1 AS one"}}),
    ("POST", "/api/v1/privacy/erasures"): (ADMIN_ONLY, {"json": {"learner": "mailto:nobody@school.example"}}),
    ("GET", "/api/v1/alerts"): (LEARNER_EVE, {"params": {"learner": EVE}}),
    ("GET", "/api/v1/alerts/deliveries"): (OPERATORS, {}),
    ("GET", "/api/v1/alerts/reengagement"): (OPERATORS, {}),
    ("POST", "/api/v1/tutor/retrieve"): (LEARNER_EVE, {"json": {"learner": EVE, "course": CHEM}}),
    ("GET", "/api/v1/alerts/{alert_id}"): (SCOPED, {}),
    **{
        ("POST", f"/api/v1/alerts/{{alert_id}}/{a}"): (SCOPED, {"json": {"note": "n"}})
        for a in ("ack", "resolve", "reopen", "note")
    },
    ("GET", "/api/v1/me"): (SCOPED, {}),
    ("GET", "/api/v1/roster/users/{sourced_id}"): (IDENTIFY_EVE, {"params": {"purpose": "support"}}),
    ("GET", "/api/v1/audit"): (ADMIN_ONLY, {}),
    ("GET", "/api/v1/models"): (OPERATORS, {}),
    ("GET", "/api/v1/models/{name}"): (OPERATORS, {}),
    ("GET", "/api/v1/models/{name}/versions/{version}"): (OPERATORS, {}),
    ("POST", "/api/v1/models/{name}/versions/{version}/promote"): (ADMIN_ONLY, {"json": {"alias": "challenger"}}),
    ("POST", "/api/v1/models/{name}/rollback"): (ADMIN_ONLY, {"json": {"alias": "challenger"}}),
    ("GET", "/api/v1/lineage"): (
        LEARNER_EVE,
        {"params": {"view": "learner_course", "key": json.dumps({"course": CHEM, "learner": EVE})}},
    ),
}
PATH_VALUES = {"alert_id": "no-such-alert", "sourced_id": "s-eve", "name": "risk", "version": "no-such-version"}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, dict[str, dict[str, str]]]]:
    tmp = tmp_path_factory.mktemp("matrix")
    settings = Settings(data_dir=tmp / "data", log={"partitions": 2}, auth=AUTH_SETTINGS)
    with Deployment(settings) as dep, LiveServer(dep) as server:
        import_roster(dep.roster, [write_roster(tmp / "roster")], tenant="default", checkpoint_dir=tmp / "imports")
        yield server, headers_for(dep)


def _routes(server: LiveServer) -> set[tuple[str, str]]:
    paths = httpx.get(server.url + "/openapi.json").json()["paths"]
    return {(method.upper(), path) for path, ops in paths.items() for method in ops}


def test_every_route_is_in_the_matrix(served: tuple[LiveServer, dict[str, dict[str, str]]]) -> None:
    routes = _routes(served[0])
    assert routes - set(MATRIX) == set(), "add the new endpoints to MATRIX (and give them an access check)"
    assert set(MATRIX) - routes == set(), "MATRIX names endpoints the app no longer has"


def _outcome(status: int) -> str:
    return {401: "auth", 403: "deny"}.get(status, "allow")


@pytest.mark.parametrize("route", sorted(MATRIX), ids=lambda r: f"{r[0]} {r[1]}")
def test_each_caller_gets_exactly_its_access(
    served: tuple[LiveServer, dict[str, dict[str, str]]], route: tuple[str, str]
) -> None:
    server, headers = served
    method, path = route
    expected, kwargs = MATRIX[route]
    url = server.url + path.format(**PATH_VALUES)
    got = {}
    for caller in CALLERS:
        auth = headers[caller]
        if path == "/caliper" and caller in KEYS:
            auth = {"Authorization": "Bearer " + base64.b64decode(auth["Authorization"].split()[1]).decode()}
        with httpx.stream(method, url, headers={**XAPI, **auth}, timeout=10, **kwargs) as response:
            got[caller] = _outcome(response.status_code)
            assert response.status_code < 500, (caller, response.status_code, response.read())
    assert got == expected
