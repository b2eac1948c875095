"""`serve --workers 2`: API processes and a processor process, supervised, dying together."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import free_port
from tests.integration.processes import CLI, create_key, wait_healthy
from tests.statements import random_statements

XAPI = {"X-Experience-API-Version": "1.0.3"}


def _start(data: Path, port: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen([*CLI, "serve", "--data-dir", str(data), "--port", str(port), "--workers", "2"])


def _children(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True, check=False)
    return [int(p) for p in out.stdout.split()]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split()[2] != "Z"


@pytest.mark.integration
def test_workers_ingest_process_and_die_with_the_server(tmp_path: Path) -> None:
    data = tmp_path / "data"
    auth = create_key(data)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = _start(data, port)
    try:
        assert wait_healthy(url, processing=True)["status"] == "ok"
        statements = random_statements(3000, seed=11)
        for i in range(0, 3000, 300):
            response = httpx.post(
                url + "/xapi/statements", json=statements[i : i + 300], auth=auth, timeout=10, headers=XAPI
            )
            assert response.status_code == 200, response.text
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            status = httpx.get(url + "/api/v1/status", auth=auth).json()
            if status["processed"] == 3000:
                break
            time.sleep(0.05)
        assert status["events"] == 3000
        assert status["processed"] == 3000

        family = [server.pid, *_children(server.pid)]
        grandchildren = [c for p in family[1:] for c in _children(p)]
        assert len(family) >= 3  # the supervisor, a processor and API workers
        server.send_signal(signal.SIGKILL)
        server.wait(timeout=10)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and any(_alive(p) for p in family[1:] + grandchildren):
            time.sleep(0.1)
        assert not [p for p in family[1:] + grandchildren if _alive(p)], "orphans outlived the server"

        server = _start(data, port)  # the port and the processing lock are free again
        assert wait_healthy(url, processing=True)["status"] == "ok"
        assert httpx.get(url + "/api/v1/status", auth=auth).json()["processed"] == 3000
    finally:
        server.terminate()
        server.wait(timeout=30)
