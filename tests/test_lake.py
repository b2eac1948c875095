"""The lakehouse: exactly-once sink, replay from lake and log, SQL over history, export."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import duckdb
import httpx
import msgspec
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from deltalake import DeltaTable

from edupulse.config import Settings
from edupulse.deployment import STATE_FILE, Deployment
from edupulse.insights.engagement import COURSE_VIEW, LEARNER_VIEW
from edupulse.lake.catalog import table_spec
from edupulse.lake.sink import LakeSink
from edupulse.lake.sql import SqlError, check_select, export, query
from edupulse.log.sqlite import SqliteLog
from edupulse.replay import replay
from edupulse.retention import apply_tenant_retention
from edupulse.stream.runtime import EVENTS_TOPIC
from edupulse.stream.store.sqlite import SqliteStore
from tests.conftest import LiveServer, basic
from tests.statements import random_statements

REPO = Path(__file__).resolve().parents[1]


def _ingest(dep: Deployment, n: int, seed: int, *, tenant: str = "default", learners: int = 40) -> None:
    for start in range(0, n, 5000):
        batch = random_statements(min(5000, n - start), seed=seed * 1000 + start, learners=learners, courses=3)
        dep.ingest.ingest(json.dumps(batch).encode(), tenant=tenant)


def _sink(settings: Settings, log: Any, flush_records: int = 50_000) -> LakeSink:
    return LakeSink(log, table_spec("events"), settings.lake_path, flush_records=flush_records)


def _lake_positions(settings: Settings) -> list[tuple[int, int]]:
    rows = DeltaTable(str(settings.lake_path / "events")).to_pyarrow_table(columns=["log_partition", "log_offset"])
    return list(zip(rows.column(0).to_pylist(), rows.column(1).to_pylist(), strict=True))


def _log_total(log: SqliteLog) -> int:
    return sum(log.end_offsets(EVENTS_TOPIC)) - sum(log.start_offsets(EVENTS_TOPIC))


def test_a_retried_commit_is_not_duplicated_and_a_new_sink_resumes(deployment: Deployment) -> None:
    settings = deployment.settings
    _ingest(deployment, 1500, seed=1)
    first, retry = _sink(settings, deployment.log), _sink(settings, deployment.log)
    assert first.run_once(force=True) == 1500
    # The same batch again, as a sink that read it before the first commit landed would send it.
    assert retry.run_once(force=True) == 0
    assert retry.offsets == first.offsets  # it re-read where the table is
    _ingest(deployment, 700, seed=2)
    assert _sink(settings, deployment.log).run_once(force=True) == 700
    assert retry.run_once(force=True) == 0  # the other sink took those; nothing twice
    positions = _lake_positions(settings)
    assert len(positions) == len(set(positions)) == 2200
    table = DeltaTable(str(settings.lake_path / "events"))
    offsets = json.loads(table.history(1)[0]["edupulse.offsets"])
    assert sum(offsets.values()) == 2200  # the last commit names every partition it moved
    assert table.transaction_version(f"edupulse:{EVENTS_TOPIC}:0") == deployment.log.end_offsets(EVENTS_TOPIC)[0]


_SINK_LOOP = """
import sys
from pathlib import Path
from edupulse.config import Settings
from edupulse.lake.catalog import table_spec
from edupulse.lake.sink import LakeSink
from edupulse.log.sqlite import SqliteLog
settings = Settings(data_dir=Path(sys.argv[1]))
log = SqliteLog(settings.data_dir / "log.db")
sink = LakeSink(log, table_spec("events"), settings.lake_path, flush_records=200)
print("ready", flush=True)
while sink.run_once(force=True):
    pass
print("done", flush=True)
"""


@pytest.mark.integration
def test_a_sink_killed_at_any_moment_loses_nothing_and_duplicates_nothing(deployment: Deployment) -> None:
    settings = deployment.settings
    _ingest(deployment, 6000, seed=3)
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    cmd = [sys.executable, "-c", _SINK_LOOP, str(settings.data_dir)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, env=env)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == b"ready"
    commits = settings.lake_path / "events" / "_delta_log"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(list(commits.glob("*.json"))) < 3:
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)  # three of its 30 commits in, the next one under way
    proc.wait(10)
    killed_at = len(_lake_positions(settings))
    assert 0 < killed_at < 6000, "the kill should land mid-way"
    done = subprocess.run(cmd, capture_output=True, env=env, timeout=120, check=True)
    assert done.stdout.split()[-1] == b"done"
    positions = _lake_positions(settings)
    assert len(positions) == len(set(positions)) == 6000


def _views(store: SqliteStore) -> dict[str, list[dict[str, Any]]]:
    return {v.name: store.select(v.name, {}, order_by=v.key[-1]) for v in (LEARNER_VIEW, COURSE_VIEW)}


def test_replay_from_lake_and_log_equals_live_state(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", log={"partitions": 4}, lake={"enabled": True})
    with Deployment(settings) as dep:
        _ingest(dep, 20_000, seed=4, learners=300)
        runtime = dep.runtime()
        runtime.assign_all()
        runtime.run_until_caught_up()
        assert _sink(settings, dep.log).run_once(force=True) == 20_000
        _ingest(dep, 2000, seed=5, learners=300)  # newer events: in the log only
        runtime.run_until_caught_up()
        ends = dep.log.end_offsets(EVENTS_TOPIC)
        dropped = dep.log.apply_retention(EVENTS_TOPIC, max_age_us=None, max_records=700, now_us=0, keep_from=ends)
        assert dropped > 15_000
        live = _views(dep.store)
    report = replay(settings)
    assert report.events == 22_000
    store = SqliteStore(settings.data_dir / STATE_FILE)
    try:
        assert _views(store) == live
    finally:
        store.close()


def test_replay_refuses_when_neither_lake_nor_log_holds_old_events(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", log={"partitions": 2})
    with Deployment(settings) as dep:
        _ingest(dep, 500, seed=6)
        _sink(settings, dep.log).run_once(force=True)
        _ingest(dep, 500, seed=7)
        ends = dep.log.end_offsets(EVENTS_TOPIC)
        dep.log.apply_retention(EVENTS_TOPIC, max_age_us=None, max_records=10, now_us=0, keep_from=ends)
    with pytest.raises(Exception, match="neither the log nor the lake"):
        replay(settings)


@pytest.fixture
def lake_deployment(deployment: Deployment) -> Deployment:
    _ingest(deployment, 2000, seed=8, tenant="default")
    _ingest(deployment, 300, seed=9, tenant="other")
    _sink(deployment.settings, deployment.log).run_once(force=True)
    return deployment


def test_sql_over_the_lake(lake_deployment: Deployment) -> None:
    settings = lake_deployment.settings
    rows = query(settings, "SELECT tenant, count(*) AS n FROM events GROUP BY tenant ORDER BY tenant").to_pylist()
    assert rows == [{"tenant": "default", "n": 2000}, {"tenant": "other", "n": 300}]
    only = query(settings, "SELECT count(*) AS n FROM events", tenant="other", read_only=True).to_pylist()
    assert only == [{"n": 300}]


@pytest.mark.parametrize(
    "sql",
    [
        "DELETE FROM events",
        "SELECT 1; SELECT 2",
        "COPY (SELECT 1) TO '/tmp/x.csv'",
        "PRAGMA version",
        "ATTACH '/tmp/x.db'",
        "SET threads = 1",
        "SELEC 1",
    ],
)
def test_only_one_select_is_allowed(sql: str) -> None:
    with pytest.raises(SqlError):
        check_select(sql)


def test_sql_endpoint_is_admin_only_select_only_and_tenant_scoped(lake_deployment: Deployment) -> None:
    admin = lake_deployment.credentials.create("admin", tenant="default", scopes=("admin",))
    reader = lake_deployment.credentials.create("reader", tenant="default", scopes=("read",))
    with LiveServer(lake_deployment) as server:
        url = server.url + "/api/v1/sql"
        ok = httpx.post(url, json={"sql": "SELECT count(*) AS n FROM events"}, headers=basic(admin), timeout=30)
        assert ok.status_code == 200, ok.text
        assert ok.json() == {"columns": ["n"], "rows": [{"n": 2000}], "truncated": False}
        capped = httpx.post(url, json={"sql": "SELECT event_id FROM events", "max_rows": 5}, headers=basic(admin))
        assert len(capped.json()["rows"]) == 5
        assert capped.json()["truncated"] is True
        for bad in ("DELETE FROM events", "SELECT * FROM read_csv('/etc/passwd')", "DROP TABLE events"):
            answer = httpx.post(url, json={"sql": bad}, headers=basic(admin), timeout=30)
            assert answer.status_code == 400, (bad, answer.text)
            assert answer.json()["error"] == "bad_request"
        assert httpx.post(url, json={"query": "SELECT 1"}, headers=basic(admin)).status_code == 400
        negative = httpx.post(url, json={"sql": "SELECT 1", "max_rows": -1}, headers=basic(admin))
        assert negative.status_code == 400
        assert "max_rows" in negative.json()["message"]
        forbidden = httpx.post(url, json={"sql": "SELECT 1"}, headers=basic(reader))
        assert forbidden.status_code == 403
        assert httpx.post(url, json={"sql": "SELECT 1"}).status_code == 401


def test_export_round_trips(lake_deployment: Deployment, tmp_path: Path) -> None:
    settings = lake_deployment.settings
    original = DeltaTable(str(settings.lake_path / "events")).to_pyarrow_table().sort_by("event_id")
    assert export(settings, "events", tmp_path / "events.parquet", "parquet") == 2300
    back = pq.read_table(tmp_path / "events.parquet").sort_by("event_id")
    assert back.select(original.column_names).equals(original)
    assert export(settings, "events", tmp_path / "events.csv", "csv") == 2300
    csv = duckdb.execute(
        "SELECT event_id, event_time_us FROM read_csv($path) ORDER BY event_id", {"path": str(tmp_path / "events.csv")}
    )
    assert csv.fetchall() == list(
        zip(original.column("event_id").to_pylist(), original.column("event_time_us").to_pylist(), strict=True)
    )
    with pytest.raises(Exception, match="no lake table"):
        export(settings, "nope", tmp_path / "x.csv", "csv")


def test_live_deployment_fills_the_lake(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path / "data", log={"partitions": 2}, lake={"enabled": True, "flush_interval_s": 0.2}
    )
    with Deployment(settings) as dep:
        dep.start_processing()
        _ingest(dep, 1000, seed=10)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and (dep.lake is None or sum(dep.lake.offsets(EVENTS_TOPIC).values()) < 1000):
            time.sleep(0.05)
        dep.stop_processing()
    assert len(_lake_positions(settings)) == 1000


def test_tenant_retention_deletes_from_log_lake_files_and_views(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", log={"partitions": 3})
    with Deployment(settings) as dep:
        _ingest(dep, 800, seed=11, tenant="acme")
        time.sleep(0.05)
        cutoff = time.time_ns() // 1000
        _ingest(dep, 300, seed=12, tenant="acme", learners=5)
        _ingest(dep, 500, seed=13, tenant="keep")
        runtime = dep.runtime()
        runtime.assign_all()
        runtime.run_until_caught_up()
        _sink(settings, dep.log).run_once(force=True)
        _ingest(dep, 200, seed=14, tenant="acme", learners=5)  # recent, in the log only
        runtime.run_until_caught_up()
    policy = Settings(data_dir=settings.data_dir, log={"partitions": 3}, retention={"tenant_days": {"acme": 1.0}})
    reports, rebuilt = apply_tenant_retention(policy, now_us=cutoff + 86_400_000_000)
    assert [(r.tenant, r.log_records, r.lake_rows) for r in reports] == [("acme", 800, 800)]
    assert reports[0].lake_files_vacuumed > 0
    assert rebuilt is not None
    assert rebuilt.events == 300 + 500 + 200
    left = query(settings, "SELECT tenant, count(*) AS n FROM events GROUP BY tenant ORDER BY tenant").to_pylist()
    assert left == [{"tenant": "acme", "n": 300}, {"tenant": "keep", "n": 500}]
    # No Parquet file left on disk still holds a deleted row.
    files = list((settings.lake_path / "events").rglob("*.parquet"))
    on_disk = sum(pq.read_table(f, columns=["tenant"]).num_rows for f in files)
    assert on_disk == 800
    log = SqliteLog(settings.data_dir / "log.db")
    try:
        in_log = sum(len(log.read(EVENTS_TOPIC, p, 0, 10_000)) for p in range(3))
    finally:
        log.close()
    assert in_log == 300 + 500 + 200
    store = SqliteStore(settings.data_dir / STATE_FILE)
    try:
        acme = store.select(LEARNER_VIEW.name, {"tenant": "acme"})
        keep = store.select(LEARNER_VIEW.name, {"tenant": "keep"})
    finally:
        store.close()
    assert sum(r["events"] for r in acme) == 500
    assert sum(r["events"] for r in keep) == 500


def test_cli_syncs_queries_exports_and_compacts(tmp_path: Path) -> None:
    from click.testing import CliRunner  # noqa: PLC0415

    from edupulse.cli import main  # noqa: PLC0415

    settings = Settings(data_dir=tmp_path / "data", log={"partitions": 2}, lake={"flush_records": 300})
    with Deployment(settings) as dep:
        _ingest(dep, 1000, seed=15)
    env = {"EDUPULSE_DATA_DIR": str(settings.data_dir), "EDUPULSE_LAKE__FLUSH_RECORDS": "300"}
    runner = CliRunner()
    synced = runner.invoke(main, ["lake", "sync"], env=env)
    assert synced.exit_code == 0, synced.output
    assert json.loads(synced.output) == {"rows_appended": 1000}
    assert json.loads(runner.invoke(main, ["lake", "sync"], env=env).output) == {"rows_appended": 0}
    answer = runner.invoke(main, ["sql", "--format", "json", "SELECT count(*) AS n FROM events"], env=env)
    assert json.loads(answer.output) == [{"n": 1000}]
    table = runner.invoke(main, ["sql", "SELECT verb, count(*) AS n FROM events GROUP BY verb ORDER BY verb"], env=env)
    assert table.exit_code == 0 and table.output.splitlines()[0].split() == ["verb", "n"]
    bad = runner.invoke(main, ["sql", "SELECT * FROM nowhere"], env=env)
    assert bad.exit_code == 2 and "nowhere" in bad.output
    files_before = len(DeltaTable(str(settings.lake_path / "events")).file_uris())
    compacted = runner.invoke(main, ["lake", "compact"], env=env)
    assert compacted.exit_code == 0, compacted.output
    assert len(DeltaTable(str(settings.lake_path / "events")).file_uris()) < files_before
    vacuumed = runner.invoke(main, ["lake", "vacuum", "--retention-hours", "0"], env=env)
    assert json.loads(vacuumed.output)["files_deleted"]["events"] > 0
    assert json.loads(
        runner.invoke(main, ["sql", "--format", "json", "SELECT count(*) AS n FROM events"], env=env).output
    ) == [{"n": 1000}]
    out = tmp_path / "events.csv"
    exported = runner.invoke(main, ["export", "events", "--to", str(out)], env=env)
    assert json.loads(exported.output)["rows"] == 1000
    assert out.read_text().count("\n") > 1000


def test_the_documented_example_queries_run(lake_deployment: Deployment) -> None:
    doc = (REPO / "docs" / "lakehouse.md").read_text()
    section = doc.split("### Example queries", 1)[1].split("\n## ", 1)[0]
    queries = re.findall(r"```sql\n(.*?)```", section, re.S)
    assert len(queries) == 5
    for sql in queries:
        rows = query(lake_deployment.settings, sql, tenant="default", read_only=True).to_pylist()
        assert rows, sql


def test_a_newer_event_model_adds_columns_and_older_rows_read_null(deployment: Deployment) -> None:
    from deltalake import CommitProperties, Transaction, write_deltalake  # noqa: PLC0415

    from edupulse.events.model import SCHEMA_VERSION  # noqa: PLC0415
    from edupulse.lake.sink import app_id  # noqa: PLC0415
    from edupulse.lake.tables import events_to_arrow  # noqa: PLC0415

    settings = deployment.settings
    _ingest(deployment, 300, seed=16)
    sink = _sink(settings, deployment.log)
    assert sink.run_once(force=True) == 300
    # A newer model's sink appends rows with one more column, and its offsets, as the sink does.
    _ingest(deployment, 200, seed=17)
    records = [r for p in range(4) for r in deployment.log.read(EVENTS_TOPIC, p, sink.offsets[p], 1000)]
    newer = events_to_arrow(records, {}).append_column("device", [["phone"] * len(records)])
    version = newer.schema.get_field_index("schema_version")
    newer = newer.set_column(
        version, newer.schema.field(version), pa.array([SCHEMA_VERSION + 1] * len(records), pa.int32())
    )
    ends = deployment.log.end_offsets(EVENTS_TOPIC)
    txns = [Transaction(app_id(EVENTS_TOPIC, p), ends[p]) for p in range(4)]
    uri = str(settings.lake_path / "events")
    write_deltalake(
        uri,
        newer,
        mode="append",
        partition_by=["date", "course"],
        schema_mode="merge",
        commit_properties=CommitProperties(app_transactions=txns),
    )
    # Then this model's sink goes on appending its rows, without the column, after those offsets.
    _ingest(deployment, 100, seed=18)
    assert _sink(settings, deployment.log).run_once(force=True) == 100
    rows = query(
        settings,
        "SELECT schema_version, count(*) AS n, count(device) AS with_device FROM events GROUP BY 1 ORDER BY 1",
    ).to_pylist()
    assert rows == [
        {"schema_version": SCHEMA_VERSION, "n": 400, "with_device": 0},
        {"schema_version": SCHEMA_VERSION + 1, "n": 200, "with_device": 200},
    ]


def test_an_outbox_topic_becomes_a_table_with_one_spec(deployment: Deployment) -> None:
    from edupulse.lake.tables import LakeTable, json_rows  # noqa: PLC0415
    from edupulse.log.base import Record  # noqa: PLC0415

    log = deployment.log
    log.ensure_topic("alerts", 2)
    alerts = [{"tenant": "default", "learner": f"l{i}", "risk": i / 10, "rule": "inactive"} for i in range(10)]
    records = [
        Record(a["learner"].encode(), msgspec.json.encode(a), 1_790_000_000_000_000 + i) for i, a in enumerate(alerts)
    ]
    log.append("alerts", records)
    spec = LakeTable("alerts", "alerts", json_rows, ("date",))
    sink = LakeSink(log, spec, deployment.settings.lake_path)
    assert sink.run_once(force=True) == 10
    assert LakeSink(log, spec, deployment.settings.lake_path).run_once(force=True) == 0
    table = DeltaTable(str(deployment.settings.lake_path / "alerts")).to_pyarrow_table().sort_by("learner")
    assert table.column("risk").to_pylist() == [a["risk"] for a in sorted(alerts, key=lambda a: a["learner"])]
    assert set(table.column("date").to_pylist()) == {"2026-09-21"}


def test_a_query_running_too_long_is_stopped(lake_deployment: Deployment) -> None:
    endless = "SELECT count(*) FROM range(100000000000) a WHERE a.range % 7 = 3"
    started = time.monotonic()
    with pytest.raises(SqlError, match=r"longer than 0\.5 s"):
        query(lake_deployment.settings, endless, read_only=True, timeout_s=0.5)
    assert time.monotonic() - started < 10
