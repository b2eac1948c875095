"""The CLI's failure paths: one line, `error: ...`, exit 2 (change the command) or 1 (retry may help).

Services are never faked: an unreachable PostgreSQL or Kafka is a closed port on this machine.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from edupulse.cli import main
from tests.statements import random_statements


def _run(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, list(args), env=env, prog_name="edupulse")


def _one_error_line(result: Result) -> str:
    lines = result.output.strip().splitlines()
    assert "Traceback" not in result.output
    errors = [line for line in lines if line.startswith("error: ")]
    assert len(errors) == 1, result.output
    return errors[0]


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])  # nothing listens once the probe is closed


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield int(listener.getsockname()[1])


def test_bad_usage_is_one_line_naming_the_help_to_read() -> None:
    result = _run("import", "excel", "file.xlsx")
    assert result.exit_code == 2
    line = _one_error_line(result)
    assert "'excel' is not one of" in line and "'edupulse import --help'" in line
    assert "Usage:" not in result.output


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    result = _run("import", "xapi", str(tmp_path / "nope.ndjson"), "--data-dir", str(tmp_path))
    assert result.exit_code == 2
    assert "nope.ndjson" in _one_error_line(result) and "does not exist" in result.output


def test_a_data_dir_that_cannot_be_created_names_the_setting(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a directory")
    result = _run("status", "--data-dir", str(tmp_path / "file" / "data"))
    assert result.exit_code == 2
    line = _one_error_line(result)
    assert "Not a directory" in line and "EDUPULSE_DATA_DIR" in line


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes to read-only directories: run as a user to test this")
def test_a_data_dir_that_cannot_be_created_for_permissions_names_the_setting(tmp_path: Path) -> None:
    tmp_path.chmod(0o555)
    try:
        result = _run("status", "--data-dir", str(tmp_path / "data"))
    finally:
        tmp_path.chmod(0o755)
    assert result.exit_code == 2
    assert "Permission denied" in _one_error_line(result) and "--data-dir" in result.output


def test_serve_and_demo_say_the_port_is_in_use(tmp_path: Path, busy_port: int) -> None:
    for command in (["serve", "--workers", "1"], ["demo", "--duration", "1"]):
        result = _run(*command, "--data-dir", str(tmp_path), "--port", str(busy_port))
        assert result.exit_code == 2, result.output
        line = _one_error_line(result)
        assert f"127.0.0.1:{busy_port}" in line and "EDUPULSE_PORT" in line


def test_an_unreachable_postgresql_names_the_dsn_and_the_setting(tmp_path: Path) -> None:
    dsn = f"postgresql://edupulse@127.0.0.1:{_closed_port()}/edupulse"
    env = {"EDUPULSE_DEPLOYMENT": "scaleout", "EDUPULSE_POSTGRES__DSN": dsn}
    result = _run("keys", "list", "--data-dir", str(tmp_path), env=env)
    assert result.exit_code == 2  # a setting to change
    line = _one_error_line(result)
    assert "cannot reach PostgreSQL at" in line and "EDUPULSE_POSTGRES__DSN" in line


def test_an_unreachable_kafka_names_the_brokers_and_the_setting(tmp_path: Path) -> None:
    servers = f"127.0.0.1:{_closed_port()}"
    env = {
        "EDUPULSE_DEPLOYMENT": "scaleout",
        "EDUPULSE_KAFKA__BOOTSTRAP_SERVERS": servers,
        "EDUPULSE_POSTGRES__DSN": f"postgresql://edupulse@127.0.0.1:{_closed_port()}/edupulse",
    }
    result = _run("status", "--data-dir", str(tmp_path), env=env)
    assert result.exit_code == 1  # transient: the same command works once the brokers are up
    line = _one_error_line(result)
    assert f"Kafka at {servers}" in line and "EDUPULSE_KAFKA__BOOTSTRAP_SERVERS" in line


def test_bad_json_lines_are_named_by_file_and_line_and_the_good_ones_kept(tmp_path: Path) -> None:
    good = [json.dumps(s) for s in random_statements(3, seed=4)]
    source = tmp_path / "statements.ndjson"
    source.write_text("\n".join([good[0], '{"actor": ', good[1], "[]", good[2]]) + "\n")
    result = _run("import", "xapi", str(source), "--data-dir", str(tmp_path / "data"))
    assert result.exit_code == 0, result.output
    assert f"{source}:2: " in result.output and f"{source}:4: " in result.output
    assert "3 events stored" in result.output and "2 bad line(s) skipped" in result.output


def test_a_bad_rules_file_names_what_is_wrong(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text("rules:\n  - name: x\n    when: [\n")
    result = _run("rules", "check", str(rules))
    assert result.exit_code == 2
    assert str(rules) in _one_error_line(result)


def test_an_unexpected_failure_is_one_line_and_verbose_shows_the_traceback(tmp_path: Path) -> None:
    (tmp_path / "log.db").write_bytes(b"\x00not a database" * 300)
    result = _run("status", "--data-dir", str(tmp_path))
    assert result.exit_code == 1
    assert "DatabaseError" in _one_error_line(result) and "-v" in result.output

    verbose = _run("-v", "status", "--data-dir", str(tmp_path))
    assert verbose.exit_code == 1
    assert "Traceback" in verbose.output and "error: unexpected DatabaseError" in verbose.output


def test_a_group_alone_shows_its_help() -> None:
    result = _run("lake")
    assert "edupulse lake sync" in result.output and "error:" not in result.output
