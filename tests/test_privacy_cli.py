"""The privacy commands: pseudonym, identity, rotate-key and forget, as an operator runs them."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from edupulse.cli import main
from edupulse.config import Settings
from edupulse.deployment import Deployment
from tests.statements import statement


def test_an_operator_looks_up_rotates_and_forgets(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", log={"partitions": 2})
    stmt = statement(score=0.9)
    stmt["actor"] = {"name": "Ana Lima", "mbox": "mailto:Ana.Lima@example.edu"}
    with Deployment(settings) as dep:
        dep.ingest.ingest(json.dumps([stmt]).encode(), tenant="acme")
        expected = dep.learner_key("acme", "ana.lima@example.edu")  # e-mails compare in lower case
    runner = CliRunner(env={"EDUPULSE_DATA_DIR": str(settings.data_dir)})

    found = runner.invoke(main, ["privacy", "pseudonym", "ana.lima@example.edu", "--tenant", "acme"])
    assert found.exit_code == 0, found.output
    assert json.loads(found.output) == {"pseudonym": expected}
    who = runner.invoke(main, ["privacy", "identity", expected])
    assert json.loads(who.output)["name"] == "Ana Lima"

    old_key = (settings.data_dir / "privacy" / "master.key").read_text()
    rotated = runner.invoke(main, ["privacy", "rotate-key", str(tmp_path / "new.key")])
    assert rotated.exit_code == 0, rotated.output
    assert json.loads(rotated.output)["rewrapped"] == 1
    assert (settings.data_dir / "privacy" / "master.key").read_text() != old_key
    assert json.loads(runner.invoke(main, ["privacy", "identity", expected]).output)["name"] == "Ana Lima"

    forgot = runner.invoke(main, ["forget", "ana.lima@example.edu", "--tenant", "acme"])
    assert forgot.exit_code == 0, forgot.output
    report = json.loads(forgot.output)
    assert (report["pseudonym"], report["key_shredded"], report["log_records"]) == (expected, True, 1)
    gone = runner.invoke(main, ["privacy", "identity", expected])
    assert gone.exit_code == 2 and "erased" in gone.output
    blank = runner.invoke(main, ["forget", "  "])
    assert blank.exit_code == 2 and "name the learner" in blank.output
