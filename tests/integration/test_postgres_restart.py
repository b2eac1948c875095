"""The PostgreSQL store survives a restart of a real server (scripts/services/postgres.sh).

Each test starts a private server of its own (another port and directory, through the
same script), so restarting it disturbs no one else using the shared test server.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from edupulse.errors import TransientError
from edupulse.insights import default_operators
from edupulse.insights.engagement import LEARNER_VIEW
from edupulse.log.sqlite import SqliteLog
from edupulse.lrs.statements import StatementIngest
from edupulse.stream.runtime import EVENTS_TOPIC, Runtime
from edupulse.stream.store.base import Commit, ViewSpec
from edupulse.stream.store.postgres import PostgresStore
from edupulse.stream.store.sqlite import SqliteStore
from tests.conftest import free_port
from tests.services import postgres_dsn
from tests.statements import random_statements

pytestmark = pytest.mark.integration

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "services" / "postgres.sh"
VIEW = ViewSpec("items", key=("id",), columns={"id": "text", "n": "int"})
Server = Callable[[str], None]


@pytest.fixture
def private_server() -> Iterator[tuple[str, Server]]:
    """A PostgreSQL server for this test alone: its DSN, and ``server("up"|"down")``."""
    postgres_dsn()  # the packages are installed and the service works (else skip, or fail in CI)
    root = Path(tempfile.mkdtemp(prefix="edupulse-pg-restart-", dir="/var/tmp"))
    root.chmod(0o755)  # the server may run as the "postgres" user
    port = free_port()
    env = {**os.environ, "EDUPULSE_PG_PORT": str(port), "EDUPULSE_SERVICES_DIR": str(root)}

    def server(action: str) -> None:
        subprocess.run(["bash", str(SCRIPT), action], check=True, timeout=180, capture_output=True, env=env)

    try:
        server("up")
        yield f"postgresql://edupulse@127.0.0.1:{port}/edupulse", server
    finally:
        server("down")
        shutil.rmtree(root, ignore_errors=True)


def _commit(i: int) -> Commit:
    return Commit(
        "events", i % 2, i, state={("op", f"k{i}"): str(i).encode()}, views={"items": [{"id": f"r{i}", "n": i}]}
    )


def test_a_store_works_after_a_server_restart_and_keeps_every_commit(private_server: tuple[str, Server]) -> None:
    dsn, _server = private_server
    store = PostgresStore(dsn, pool_size=2, timeout_s=3)
    try:
        store.setup([VIEW])
        for i in range(1, 11):
            store.commit(_commit(i))
        before = store.last_change()
        store.wait_for_changes(0.01)  # listening for change notifications

        _server("down")
        with pytest.raises(TransientError, match="retrying may help"):
            store.commit(_commit(11))
        with pytest.raises(TransientError):
            store.count("items", {})
        assert store.wait_for_changes(0.1) is True  # notifications may have been missed: look again
        _server("up")

        store.wait_for_changes(0.01)  # listening again, on a new connection
        store.commit(_commit(11))  # the pool replaced the connections the restart broke
        assert store.wait_for_changes(5.0) is True
        assert store.count("items", {}) == 11
        assert store.committed_offsets("events") == {0: 10, 1: 11}
        assert store.load_state("op", 0) == {f"k{i}": str(i).encode() for i in range(2, 11, 2)}
        assert store.load_state("op", 1) == {f"k{i}": str(i).encode() for i in range(1, 12, 2)}
        assert [c.row["n"] for c in store.changes_since(0, 100)] == list(range(1, 12))
        assert store.last_change() == before + 1
    finally:
        store.close()


def test_a_runtime_rides_out_a_restart_and_counts_each_event_once(
    private_server: tuple[str, Server], tmp_path: Path
) -> None:
    dsn, _server = private_server
    log = SqliteLog(tmp_path / "log.db")
    log.ensure_topic(EVENTS_TOPIC, 2)
    ingest = StatementIngest(log)
    statements = random_statements(300, seed=11)
    ingest.ingest(json.dumps(statements[:150]).encode(), tenant="t")
    store = PostgresStore(dsn, pool_size=2, timeout_s=2)
    runtime = Runtime(log, store, default_operators(allowed_lateness_us=0), batch_size=10)
    runtime.assign_all()
    runtime.run_until_caught_up()

    _server("down")
    ingest.ingest(json.dumps(statements[150:]).encode(), tenant="t")
    worker = threading.Thread(target=runtime.run_forever, args=(0.05,), daemon=True)
    worker.start()
    time.sleep(1.0)  # the runtime meets the stopped server, and retries
    _server("up")
    deadline = time.monotonic() + 60
    while sum(runtime.lag().values()) and time.monotonic() < deadline:
        time.sleep(0.1)
    runtime.stop()
    worker.join(30)

    assert sum(runtime.lag().values()) == 0
    reference_store = SqliteStore(tmp_path / "reference.db")
    reference = Runtime(log, reference_store, default_operators(allowed_lateness_us=0), batch_size=1000)
    reference.assign_all()
    reference.run_until_caught_up()
    rows = store.select(LEARNER_VIEW.name, {}, order_by="learner")
    assert rows == reference_store.select(LEARNER_VIEW.name, {}, order_by="learner")
    assert sum(r["events"] for r in rows) == 300
    store.close()
    reference_store.close()
    log.close()
