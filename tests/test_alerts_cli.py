"""`edupulse rules check` and `edupulse alerts ...` over an embedded data directory."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from edupulse.cli import main
from edupulse.config import Settings
from edupulse.deployment import Deployment
from tests.statements import learner_key
from tests.test_rules import RULES, attempt


def test_rules_check_prints_the_rules_or_names_the_problem(tmp_path: Path) -> None:
    good = tmp_path / "rules.yaml"
    good.write_text(RULES)
    result = CliRunner().invoke(main, ["rules", "check", str(good)])
    assert result.exit_code == 0, result.output
    assert [r["name"] for r in json.loads(result.output)] == ["struggling", "gone-quiet"]
    bad = tmp_path / "bad.yaml"
    bad.write_text("rules:\n  - {name: x, when: inactive, days: -1}\n")
    result = CliRunner().invoke(main, ["rules", "check", str(bad)])
    assert result.exit_code == 2
    assert "rules.0.inactive.days" in result.output
    assert "greater than 0" in result.output


def test_alerts_listed_and_acted_on_from_the_command_line(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    data_dir = tmp_path / "data"
    settings = Settings(data_dir=data_dir, rules={"path": rules})
    with Deployment(settings) as dep:
        dep.ingest.ingest(json.dumps([attempt("ann", h) for h in (0, 1, 2)]).encode(), tenant="default")
        ann = dep.learner_key("default", learner_key("ann"))
        runtime = dep.runtime()
        runtime.assign_all()
        runtime.run_until_caught_up()
    env = {"EDUPULSE_DATA_DIR": str(data_dir), "EDUPULSE_RULES__PATH": str(rules)}
    runner = CliRunner(env=env)
    listed = runner.invoke(main, ["alerts", "list", "--status", "open"])
    assert listed.exit_code == 0, listed.output
    (alert,) = json.loads(listed.output)
    assert alert["learner"] == ann
    acked = runner.invoke(main, ["alerts", "ack", alert["id"], "--by", "tutor-jo", "--note", "phoned"])
    assert acked.exit_code == 0, acked.output
    assert json.loads(acked.output)["history"][0]["actor"] == "tutor-jo"
    again = runner.invoke(main, ["alerts", "ack", alert["id"], "--by", "tutor-jo"])
    assert again.exit_code == 2
    assert "is acknowledged" in again.output
    assert json.loads(runner.invoke(main, ["alerts", "list", "--status", "open"]).output) == []
    deliveries = runner.invoke(main, ["alerts", "deliveries", "--status", "dead"])
    assert json.loads(deliveries.output) == {"counts": {}, "deliveries": []}
