"""Shared fixtures: an embedded deployment in a temporary directory, and a live server."""

from __future__ import annotations

import base64
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from edupulse.api.app import create_app
from edupulse.config import Settings
from edupulse.deployment import Deployment
from edupulse.privacy.credentials import NewKey
from tests.services import drop_scratch_schemas, drop_test_namespaces

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def shared_data(*parts: str) -> Path:
    """A path in ../shared/data, or skip the test saying what is missing."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"public data set not found at {path} (see shared/data/README.md)")
    return path


def basic(key: NewKey) -> dict[str, str]:
    token = base64.b64encode(f"{key.key}:{key.secret}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", log={"partitions": 4})


@pytest.fixture
def deployment(settings: Settings) -> Iterator[Deployment]:
    with Deployment(settings) as dep:
        yield dep


@pytest.fixture
def key(deployment: Deployment) -> NewKey:
    return deployment.credentials.create("test-source", tenant="default")


class LiveServer:
    """A real uvicorn server on a free loopback port, in a background thread."""

    def __init__(self, deployment: Deployment) -> None:
        self.deployment = deployment
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(create_app(deployment), host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                time.sleep(0.05)
        raise RuntimeError("test server did not start")

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture
def live_server(deployment: Deployment) -> Iterator[LiveServer]:
    with LiveServer(deployment) as server:
        yield server


@pytest.fixture(scope="session", autouse=True)
def _drop_test_namespaces() -> Iterator[None]:
    """Test schemas and topics on the shared servers do not outlive the session."""
    yield
    drop_scratch_schemas()
    drop_test_namespaces()
