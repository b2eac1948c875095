"""`edupulse lake sync` first relays the outputs a stopped processor left in the outbox, then fills the lake."""

from __future__ import annotations

import json
import time
from pathlib import Path

from click.testing import CliRunner
from deltalake import DeltaTable

from edupulse.cli import main
from edupulse.config import Settings
from edupulse.deployment import Deployment
from edupulse.stream.log_sender import PREDICTIONS_TOPIC
from edupulse.stream.store.base import Commit, OutboxMessage


def _prediction(n: int) -> OutboxMessage:
    row = {"tenant": "default", "learner": f"p-{n}", "course": "c1", "event_id": f"e{n}", "risk": 0.25, "model": "m1"}
    payload = json.dumps({**row, "event_time_us": time.time_ns() // 1000}).encode()
    return OutboxMessage(PREDICTIONS_TOPIC, f"default\x1fp-{n}", payload, f"p:e{n}")


def test_lake_sync_relays_pending_outputs_and_leaves_webhooks_pending(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", log={"partitions": 2})
    webhook = OutboxMessage("alerts.webhook", "default\x1fp-0", b"{}", "a:webhook")
    with Deployment(settings) as dep:  # a processor that stopped before its relay's next pass
        dep.store.commit(Commit("events", 0, 0, outbox=[_prediction(n) for n in range(5)] + [webhook]))
    env = {"EDUPULSE_DATA_DIR": str(settings.data_dir)}

    synced = CliRunner().invoke(main, ["lake", "sync"], env=env)
    assert synced.exit_code == 0, synced.output
    assert "relayed 5 output(s)" in synced.stderr

    rows = DeltaTable(str(settings.lake_path / PREDICTIONS_TOPIC)).to_pyarrow_table().to_pylist()
    assert sorted(r["learner"] for r in rows) == [f"p-{n}" for n in range(5)]
    with Deployment(settings) as dep:
        assert [m for _, m in dep.store.pending_outbox(10)] == [webhook]
    again = CliRunner().invoke(main, ["lake", "sync"], env=env)
    assert json.loads(again.stdout) == {"rows_appended": 0} and "relayed" not in again.stderr
