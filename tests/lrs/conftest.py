"""An in-process xAPI client over the ASGI app (no server, no runtime thread)."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from edupulse.api.app import create_app
from edupulse.deployment import Deployment

V1 = {"X-Experience-API-Version": "1.0.3"}
V2 = {"X-Experience-API-Version": "2.0.0"}


class Xapi:
    """A TestClient that sends Basic credentials and a version header with every request."""

    def __init__(self, client: TestClient, auth: str, version: dict[str, str]) -> None:
        self.client = client
        self.headers = {"Authorization": auth, **version}

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return self.client.request(method, "/xapi" + path, headers=headers, **kwargs)

    def post(self, body: Any, **kwargs: Any) -> Any:
        return self.request("POST", "/statements", json=body, **kwargs)

    def get(self, **params: Any) -> Any:
        return self.request("GET", "/statements", params=params)


@pytest.fixture
def client(deployment: Deployment) -> Iterator[TestClient]:
    with TestClient(create_app(deployment, process=False)) as test_client:
        yield test_client


@pytest.fixture
def auth(deployment: Deployment) -> str:
    key = deployment.credentials.create("lrs-test", tenant="default")
    return "Basic " + base64.b64encode(f"{key.key}:{key.secret}".encode()).decode()


@pytest.fixture
def xapi(client: TestClient, auth: str) -> Xapi:
    return Xapi(client, auth, V1)


@pytest.fixture
def xapi2(client: TestClient, auth: str) -> Xapi:
    return Xapi(client, auth, V2)
