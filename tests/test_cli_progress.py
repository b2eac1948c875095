"""Progress bars: on stderr, only when it is a terminal, off with -q/--no-progress, never in stdout."""

from __future__ import annotations

import fcntl
import os
import pty
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest
from click.testing import CliRunner

from edupulse.cli import main

EDUPULSE = Path(sys.executable).parent / "edupulse"


def _simulate(tmp_path: Path, *flags: str, env: dict[str, str] | None = None, tty: bool = True) -> tuple[str, str]:
    """Run ``edupulse simulate`` with stderr on a pseudo-terminal (or a pipe): its stdout and stderr."""
    out = tmp_path / "statements.ndjson"
    args = [str(EDUPULSE), *flags, "simulate", "--seed", "3", "--count", "2500", "-o", str(out)]
    master, slave = pty.openpty() if tty else os.pipe()
    if tty:  # a terminal 100 columns wide, as a person's would be
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
    try:
        proc = subprocess.run(
            args, stdout=subprocess.PIPE, stderr=slave, env={**os.environ, **(env or {})}, timeout=120, check=True
        )
    finally:
        os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the terminal closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    assert len(out.read_text().splitlines()) == 2500
    return proc.stdout.decode(), b"".join(chunks).decode(errors="replace")


@pytest.mark.skipif(not EDUPULSE.exists(), reason="the edupulse entry point is not installed in the venv")
def test_a_bar_shows_on_a_terminal_and_nowhere_else(tmp_path: Path) -> None:
    stdout, stderr = _simulate(tmp_path)
    assert "simulate" in stderr and "2500/2500" in stderr.replace("2.50k/2.50k", "2500/2500")
    assert stdout == ""

    assert _simulate(tmp_path, "-q")[1] == ""
    assert _simulate(tmp_path, env={"EDUPULSE_NO_PROGRESS": "1"})[1] == ""
    assert _simulate(tmp_path, tty=False)[1] == ""


def test_without_a_terminal_phases_are_still_reported_and_json_stays_clean(tmp_path: Path) -> None:
    data = tmp_path / "attempts.csv"
    data.write_text("user_id,skill_name,correct\n" + "".join(f"u{i % 7},s{i % 3},{i % 2}\n" for i in range(300)))
    result = CliRunner().invoke(main, ["train", "mastery", "--data", str(data), "--data-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert '"skills": 3' in result.stdout and "\r" not in result.output
