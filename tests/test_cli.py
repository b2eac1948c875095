"""The `edupulse` command: env vars, JSON outputs, clear errors (examples: test_cli_help.py)."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from edupulse import replay as replay_module
from edupulse.cli import main
from edupulse.config import Settings
from edupulse.deployment import Deployment
from tests.statements import random_statements


def _commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = []
    for name, command in group.commands.items():
        path = (*prefix, name)
        if isinstance(command, click.Group):
            found += _commands(command, path)
        else:
            found.append(path)
    return found


# Examples in every --help, and that they parse: tests/test_cli_help.py (it walks groups too).


@pytest.mark.parametrize("command", _commands(main), ids=" ".join)
def test_every_option_names_its_environment_variable(command: tuple[str, ...]) -> None:
    cmd: click.Command = main
    for name in command:
        assert isinstance(cmd, click.Group)
        cmd = cmd.commands[name]
    for param in [*main.params, *cmd.params]:
        if isinstance(param, click.Option) and param.name not in ("help", "version"):
            assert param.envvar, f"--{param.name} of {' '.join(command)} has no environment variable"
            assert f"[env: {param.envvar}]" in (param.help or "")


def test_keys_create_prints_json_credentials(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["keys", "create", "--data-dir", str(tmp_path), "--name", "lms", "--json"])
    assert result.exit_code == 0, result.output
    new = json.loads(result.output)
    assert new["key"].startswith("ep_") and len(new["secret"]) > 30
    with Deployment(Settings(data_dir=tmp_path)) as dep:
        assert dep.credentials.verify(new["key"], new["secret"]).name == "lms"


def test_status_and_replay_read_the_data_dir_from_the_environment(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, log={"partitions": 3})
    with Deployment(settings) as dep:
        dep.ingest.ingest(json.dumps(random_statements(200, seed=1)).encode(), tenant="default")
    env = {"EDUPULSE_DATA_DIR": str(tmp_path)}
    runner = CliRunner()

    before = json.loads(runner.invoke(main, ["status", "--json"], env=env).output)
    assert before["events"] == 200 and before["processed"] == 0
    assert [p["end_offset"] for p in before["partitions"]] and len(before["partitions"]) == 3

    replayed = runner.invoke(main, ["replay", "--workers", "2"], env=env)
    assert replayed.exit_code == 0, replayed.output
    report = json.loads(replayed.output[replayed.output.index("{") :])
    assert report["events"] == 200
    assert report["workers"] == 2

    after = json.loads(runner.invoke(main, ["status", "--json"], env=env).output)
    assert after["processed"] == 200 and after["lag"] == 0
    assert after["learners"] == 20 and after["courses"] == 3
    assert all(p["committed_offset"] == p["end_offset"] for p in after["partitions"])


def test_key_options_from_the_environment(tmp_path: Path) -> None:
    env = {"EDUPULSE_KEY_NAME": "canvas", "EDUPULSE_KEY_SCOPES": "read", "EDUPULSE_JSON": "1"}
    result = CliRunner().invoke(main, ["keys", "create", "--data-dir", str(tmp_path)], env=env)
    assert result.exit_code == 0, result.output
    new = json.loads(result.output)
    assert new["name"] == "canvas"
    assert new["scopes"] == ["read"]


def test_errors_are_one_line_without_traceback(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["keys", "create", "--data-dir", str(tmp_path), "--name", " "])
    assert result.exit_code == 2
    assert "error:" in result.output and "Traceback" not in result.output


def test_a_data_dir_that_is_a_file_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a directory")
    result = CliRunner().invoke(main, ["keys", "create", "--data-dir", str(tmp_path / "file" / "x"), "--name", "n"])
    assert result.exit_code == 2
    assert "error:" in result.output
    assert "Not a directory" in result.output
    assert "Traceback" not in result.output


def test_invalid_setting_from_the_environment_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["status"], env={"EDUPULSE_DATA_DIR": str(tmp_path), "EDUPULSE_PORT": "x"})
    assert result.exit_code == 2
    assert "EDUPULSE_PORT" in result.output or "port" in result.output


def test_replay_refuses_while_a_processor_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(replay_module, "STOPPING_GRACE_S", 0.3)
    with Deployment(Settings(data_dir=tmp_path)) as dep:
        dep.start_processing()
        result = CliRunner().invoke(main, ["replay", "--data-dir", str(tmp_path)])
    assert result.exit_code == 2
    assert "already processing" in result.output


def test_replay_waits_for_a_processor_that_is_stopping(tmp_path: Path) -> None:
    dep = Deployment(Settings(data_dir=tmp_path))
    dep.start_processing()
    stopper = threading.Timer(1.0, dep.close)  # a server shutting down as replay starts
    stopper.start()
    result = CliRunner().invoke(main, ["replay", "--data-dir", str(tmp_path)])
    stopper.join()
    assert result.exit_code == 0, result.output
