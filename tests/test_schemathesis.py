"""Schemathesis against the OpenAPI document of a running server: no request gets a 5xx.

Every operation (but the endless SSE stream, which the access matrix covers) gets
generated requests (schemathesis 4, OpenAPI 3.1), valid and not,
sent with an administrator's key so they reach the handlers, and an xAPI version
header so the LRS resources get past their version check.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from edupulse.config import Settings
from edupulse.deployment import Deployment
from edupulse.roster.oneroster import import_roster
from tests.access_callers import AUTH_SETTINGS
from tests.conftest import LiveServer
from tests.roster_files import write_roster


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, dict[str, str]]]:
    tmp: Path = tmp_path_factory.mktemp("schemathesis")
    config = Settings(data_dir=tmp / "data", log={"partitions": 2}, auth=AUTH_SETTINGS)
    with Deployment(config) as dep, LiveServer(dep) as live:
        import_roster(dep.roster, [write_roster(tmp / "roster")], tenant="default", checkpoint_dir=tmp / "imports")
        admin = dep.credentials.create("fuzz", tenant="default", scopes=("admin",))
        token = base64.b64encode(f"{admin.key}:{admin.secret}".encode()).decode()
        yield live, {"Authorization": f"Basic {token}", "X-Experience-API-Version": "1.0.3"}


@pytest.fixture(scope="module")
def api_schema(server: tuple[LiveServer, dict[str, str]]) -> Any:
    return schemathesis.openapi.from_url(server[0].url + "/openapi.json")


schema = schemathesis.pytest.from_fixture("api_schema").exclude(path="/api/v1/stream")


@schema.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_request_is_a_server_error(case: Any, server: tuple[LiveServer, dict[str, str]]) -> None:
    live, headers = server
    response = case.call(base_url=live.url, headers=headers, timeout=10)
    case.validate_response(response, checks=[not_a_server_error])
