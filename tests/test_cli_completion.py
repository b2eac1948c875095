"""`edupulse completion SHELL` prints click's script; the script completes commands and choices."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from edupulse.cli import main


def _complete(words: list[str]) -> list[str]:
    """What click answers the bash script for the command line ``words`` (the last being typed)."""
    env = {"_EDUPULSE_COMPLETE": "bash_complete", "COMP_WORDS": " ".join(words), "COMP_CWORD": str(len(words) - 1)}
    result = CliRunner().invoke(main, [], env=env, prog_name="edupulse")
    assert result.exit_code == 0, result.output
    return [line.split(",", 1)[1] for line in result.output.splitlines() if line.startswith("plain,")]


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_the_completion_command_prints_the_script_of_each_shell(shell: str) -> None:
    result = CliRunner().invoke(main, ["completion", shell])
    assert result.exit_code == 0, result.output
    assert f"_EDUPULSE_COMPLETE={shell}_complete" in result.output


def test_subcommands_options_and_choices_complete() -> None:
    assert _complete(["edupulse", "la"]) == ["lake"]
    assert _complete(["edupulse", "lake", ""]) == ["compact", "sync", "vacuum"]
    assert _complete(["edupulse", "import", ""]) == ["canvas", "edx", "moodle", "oneroster", "oulad", "xapi"]
    assert _complete(["edupulse", "sql", "--format", ""]) == ["table", "csv", "json"]
    assert "--data-dir" in _complete(["edupulse", "status", "--d"])


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_bash_sourcing_the_script_completes_a_subcommand(tmp_path: Path) -> None:
    script = tmp_path / "edupulse.bash"
    script.write_text(CliRunner().invoke(main, ["completion", "bash"]).output)
    bin_dir = Path(sys.executable).parent
    assert (bin_dir / "edupulse").exists(), "the edupulse entry point is not installed in the venv"
    run = (
        f'source {script}; COMP_WORDS=(edupulse evaluate ""); COMP_CWORD=2; '
        '_edupulse_completion edupulse; echo "${COMPREPLY[@]}"'
    )
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    out = subprocess.run(["bash", "-c", run], capture_output=True, text=True, env=env, timeout=60, check=True)
    assert out.stdout.split() == ["assistments", "oulad"]
