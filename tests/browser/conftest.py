"""The browser tier: Debian's Chromium driven by Playwright against a real server.

Chromium comes from ``scripts/services/chromium.sh up`` (``make services``), never from a
browser Playwright would download. Without it the tests skip saying so, or fail when the
services are required (``EDUPULSE_TEST_SERVICES=required``, as in CI and ``make test``).
Screenshots go to ``test-artifacts/screenshots/`` (or ``$EDUPULSE_TEST_ARTIFACTS/screenshots``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.services import require_service

if TYPE_CHECKING:
    from playwright.sync_api import Browser

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("EDUPULSE_CHROMIUM", "/usr/bin/chromium"))


def artifacts() -> Path:
    base = Path(os.environ.get("EDUPULSE_TEST_ARTIFACTS", ROOT / "test-artifacts"))
    out = base / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    return out


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not os.access(CHROMIUM, os.X_OK):
        require_service(f"Chromium not found at {CHROMIUM}: run `bash scripts/services/chromium.sh up`")
    from playwright.sync_api import sync_playwright  # noqa: PLC0415 - only this tier needs it

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"])
        yield browser
        browser.close()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    shots = Path(os.environ.get("EDUPULSE_TEST_ARTIFACTS", ROOT / "test-artifacts")) / "screenshots"
    if shots.is_dir() and any(shots.glob("*.png")):
        terminalreporter.write_line(f"browser screenshots: {shots}")
