"""Running edupulse as a user does, in subprocesses: the CLI, credentials, a healthy server."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import httpx

CLI = [sys.executable, "-c", "from edupulse.cli import main; main()"]


def create_key(data_dir: Path, name: str = "test") -> tuple[str, str]:
    """New credentials from `edupulse keys create --json`, as (key, secret)."""
    out = subprocess.run(
        [*CLI, "keys", "create", "--data-dir", str(data_dir), "--name", name, "--json"],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    new = json.loads(out)
    return new["key"], new["secret"]


def wait_healthy(url: str, *, processing: bool = False, timeout_s: float = 30.0) -> dict[str, object]:
    """The /healthz body once the server answers 200 (and, if asked, has a running processor)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            response = httpx.get(url + "/healthz", timeout=1)
            if response.status_code == 200 and (response.json()["processing"] or not processing):
                return dict(response.json())
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{url} not healthy{' and processing' if processing else ''} within {timeout_s} s")
