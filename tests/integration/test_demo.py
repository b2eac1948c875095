"""The demo and the simulator, run as a user runs them: real processes, real HTTP."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import free_port
from tests.integration.processes import CLI, create_key, wait_healthy


@pytest.mark.integration
def test_demo_serves_a_live_simulated_course(tmp_path: Path) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [*CLI, "demo", "--data-dir", str(tmp_path), "--port", str(port), "--duration", "30", "--rate", "400"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        banner = ""
        deadline = time.monotonic() + 120  # the demo first trains its at-risk models (seconds; more on a busy machine)
        while "credentials" not in banner and time.monotonic() < deadline:
            banner += proc.stdout.readline()
        assert f"http://127.0.0.1:{port}" in banner
        auth = banner.split("credentials (HTTP Basic): ", 1)[1].split()[0]
        key, secret = auth.split(":", 1)
        url = f"http://127.0.0.1:{port}/api/v1/courses"

        def courses() -> list[dict[str, object]]:
            return list(httpx.get(url, auth=(key, secret), timeout=5).json())

        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and sum(int(c["events"]) for c in courses()) < 500:  # type: ignore[call-overload]
            time.sleep(0.2)
        first = sum(int(c["events"]) for c in courses())  # type: ignore[call-overload]
        assert first >= 500
        assert len(courses()) == 3
        time.sleep(1.5)
        assert sum(int(c["events"]) for c in courses()) > first  # type: ignore[call-overload]  # still live
        # Learners are scored live with the models trained on a simulated past term.
        course = str(courses()[0]["course"])
        at_risk = httpx.get(url.replace("/courses", "/course/at-risk"), params={"course": course}, auth=(key, secret))
        assert at_risk.status_code == 200, at_risk.text
        top = at_risk.json()["learners"][0]
        assert 0 <= top["risk"] <= 1 and top["model_version"].startswith("risk-demo-")
        # The dashboard: the printed token signs the demo's administrator in, who sees every course.
        token = banner.split("valid 12 h:)", 1)[1].split()[0]
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as browser:
            assert browser.post("/ui/signin", data={"token": "not-a-token"}).status_code == 401
            signed_in = browser.post("/ui/signin", data={"token": token})
            assert signed_in.status_code == 303, signed_in.text
            overview = browser.get("/ui/data")
            assert overview.status_code == 200, overview.text
            assert {c["course"] for c in overview.json()["courses"]} == {c["course"] for c in courses()}
    finally:
        proc.terminate()
        proc.wait(timeout=20)


@pytest.mark.integration
def test_simulate_writes_deterministic_ndjson(tmp_path: Path) -> None:
    outputs = []
    for name in ("a", "b"):
        path = tmp_path / f"{name}.ndjson"
        subprocess.run([*CLI, "simulate", "--seed", "9", "--count", "300", "-o", str(path)], check=True, timeout=60)
        outputs.append(path.read_text())
    assert outputs[0] == outputs[1]
    lines = outputs[0].splitlines()
    assert len(lines) == 300
    assert all(json.loads(line)["id"] for line in lines)


@pytest.mark.integration
def test_simulate_posts_to_a_server(tmp_path: Path) -> None:
    data = tmp_path / "data"
    key, secret = create_key(data, "sim")
    port = free_port()
    server = subprocess.Popen([*CLI, "serve", "--data-dir", str(data), "--port", str(port)])
    try:
        base = f"http://127.0.0.1:{port}"
        wait_healthy(base)
        result = subprocess.run(
            [
                *CLI,
                "simulate",
                "--seed",
                "3",
                "--count",
                "2000",
                "--url",
                base,
                "--key",
                key,
                "--secret",
                secret,
                "--batch-size",
                "250",
            ],
            check=True,
            capture_output=True,
            text=True,
            timeout=120,
        )
        report = json.loads(result.stdout)
        assert report["sent"] == 2000 and report["rejected"] == 0
        deadline = time.monotonic() + 20
        status: dict[str, object] = {}
        while time.monotonic() < deadline:
            status = httpx.get(base + "/api/v1/status", auth=(key, secret)).json()
            if status["lag"] == 0 and status["events"] == 2000:
                break
            time.sleep(0.1)
        assert status["events"] == 2000
        assert status["lag"] == 0
    finally:
        server.terminate()
        server.wait(timeout=20)
