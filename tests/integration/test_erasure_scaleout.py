"""Erasure on the scale-out deployment, proved on the raw bytes of Kafka and PostgreSQL.

A learner's statements (unique e-mail, name, activity, a phone number in a response) go
in through the HTTP API of a scale-out deployment with the statements of others; they
are processed into PostgreSQL views; ``forget`` erases the learner. Then the Kafka
broker's segment files of the test's topics and the PostgreSQL data files of every
table of the test's schemas (after a CHECKPOINT) are read byte by byte: none holds the
learner's identifiers or activity, and their pseudonym is left only where it is by
design (record keys in Kafka, for partitioning, until retention; the vault's tombstone).
A replay of the whole topic into a fresh schema does not bring the learner back, and
the other learners' views are what they were.

PostgreSQL's write-ahead log cannot be cleaned by an application: the test reads the
WAL written during it and shows what it holds of the learner, honestly (see
docs/privacy.md).
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import msgspec
import psycopg
import pytest

from edupulse.config import Settings
from edupulse.deployment import Deployment
from edupulse.insights.engagement import LEARNER_VIEW
from edupulse.log.base import EventLog, LogRecord
from edupulse.log.kafka import KafkaLog
from edupulse.privacy.crypto import is_sealed
from edupulse.privacy.erasure import forget
from edupulse.privacy.setup import open_vault, read_tombstones
from edupulse.privacy.values import ValueOpener
from edupulse.replay import standard_operators
from edupulse.stream.log_sender import ALERTS_TOPIC
from edupulse.stream.runtime import Runtime
from edupulse.stream.store.base import StateStore
from edupulse.stream.store.postgres import PostgresStore
from tests.conftest import LiveServer, basic
from tests.services import kafka_servers, postgres_dsn, scratch_schema
from tests.statements import random_statements, statement
from tests.test_privacy_erasure import wait_processed

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

KAFKA_DATA = Path("/var/tmp/edupulse-services/kafka/data")  # noqa: S108 - log.dirs of scripts/services/kafka.sh
PARTITIONS = 2
# Ana fails six times: an alert names her on the relayed alerts topic, sealed with her key.
RULES = """
rules:
  - {name: failing, when: failed_attempts, count: 2, within_hours: 12, cooldown_hours: 24, actions: [webhook]}
"""


def _ana(tag: str, n: int) -> tuple[list[dict[str, Any]], dict[str, bytes]]:
    mail, name = f"ana.{tag}@example.edu", f"Anabel Q{tag}"
    activity = f"https://example.edu/courses/algebra/items/only-{tag}"
    out = []
    for i in range(n):
        stmt = statement(verb="failed", score=0.4 + i / 100, statement_id=str(uuid.uuid4()))
        stmt["actor"] = {"objectType": "Agent", "name": name, "mbox": f"mailto:{mail}"}
        stmt["object"]["id"] = activity
        stmt["result"]["response"] = f"call me on +44 20 7946 {tag[:4]} or write to {mail}"
        out.append(stmt)
    return out, {"e-mail": mail.encode(), "name": name.encode(), "activity": activity.encode()}


def _settings(tmp: Path, name: str) -> Settings:
    (tmp / "rules.yaml").write_text(RULES)
    return Settings(
        deployment="scaleout",
        data_dir=tmp / "data",
        kafka={"bootstrap_servers": kafka_servers(), "topic_prefix": f"{name}.", "group_id": name},
        postgres={"dsn": postgres_dsn(), "schema_name": scratch_schema(name)},
        log={"partitions": PARTITIONS},
        rules={"path": tmp / "rules.yaml"},
    )


def _learners(store: StateStore) -> dict[str, int]:
    out: dict[str, int] = {}
    for row in store.select(LEARNER_VIEW.name, {"tenant": "default"}):
        out[row["learner"]] = out.get(row["learner"], 0) + row["events"]
    return out


def _kafka_segments(prefix: str) -> dict[str, bytes]:
    if not KAFKA_DATA.is_dir():
        pytest.skip(f"the Kafka broker's data directory {KAFKA_DATA} is not on this machine")
    dirs = [d for d in KAFKA_DATA.iterdir() if d.name.startswith(prefix)]
    assert dirs, f"no partition directory of {prefix}* under {KAFKA_DATA}"
    return {str(f): f.read_bytes() for d in dirs for f in d.iterdir() if f.is_file()}


def _postgres_files(conn: psycopg.Connection[Any], schemas: list[str]) -> dict[str, bytes]:
    """Every data file (main fork, all segments) of every table, index and TOAST table of the schemas."""
    conn.execute("CHECKPOINT")
    data_dir = Path(str(conn.execute("SHOW data_directory").fetchone()[0]))  # type: ignore[index]
    rows = conn.execute(
        "SELECT c.relname, pg_relation_filepath(c.oid) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = ANY(%s) AND c.relkind IN ('r', 'i', 't') "
        "UNION SELECT c.relname || ':toast', pg_relation_filepath(t.oid) FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_class t ON t.oid IN (c.reltoastrelid, "
        "(SELECT indexrelid FROM pg_index WHERE indrelid = c.reltoastrelid LIMIT 1)) WHERE n.nspname = ANY(%s)",
        [schemas, schemas],
    ).fetchall()
    out = {}
    for relname, rel in rows:
        if rel is None:
            continue
        for seg in (data_dir / rel).parent.glob((data_dir / rel).name + "*"):
            if seg.name == Path(rel).name or seg.name.removeprefix(Path(rel).name + ".").isdigit():
                out[f"{relname} ({seg})"] = seg.read_bytes()
    assert out
    return out


def _wal_since(conn: psycopg.Connection[Any], start_lsn: str) -> bytes:
    data_dir = Path(str(conn.execute("SHOW data_directory").fetchone()[0]))  # type: ignore[index]
    first, last = conn.execute(
        "SELECT pg_walfile_name(%s::pg_lsn), pg_walfile_name(pg_current_wal_lsn())", [start_lsn]
    ).fetchone()  # type: ignore[misc]
    names = sorted(p.name for p in (data_dir / "pg_wal").iterdir() if len(p.name) == 24 and first <= p.name <= last)
    return b"".join((data_dir / "pg_wal" / n).read_bytes() for n in names)


def _found(files: dict[str, bytes], needle: bytes) -> list[str]:
    return sorted(path for path, data in files.items() if needle in data)


def _ingest_and_process(settings: Settings, ana: list[dict[str, Any]]) -> tuple[str, dict[str, int]]:
    with Deployment(settings) as dep, LiveServer(dep) as server:
        auth = basic(dep.credentials.create("lms", tenant="default")) | {"X-Experience-API-Version": "1.0.3"}
        with httpx.Client(base_url=server.url, headers=auth, timeout=60) as client:
            others = random_statements(200, seed=11, learners=5)
            assert client.post("/xapi/statements", json=others + ana).status_code == 200
        wait_processed(dep.store, 200 + len(ana), timeout_s=90)  # by the deployment's consumer-group member
        pseudonym = dep.learner_key("default", ana[0]["actor"]["mbox"])
        _check_alerts_sealed(dep, pseudonym)
        return pseudonym, _learners(dep.store)


def _check_alerts_sealed(dep: Deployment, pseudonym: str) -> None:
    """Ana's alerts reach the alerts topic sealed with her key; read through the deployment's log, they open."""
    key = f"default\x1f{pseudonym}".encode()
    deadline = time.monotonic() + 30
    while not (raw := _read_all(dep.raw_log, key)) and time.monotonic() < deadline:
        time.sleep(0.2)  # the outbox relay appends them
    assert raw, "no alert of the learner was relayed onto the alerts topic"
    assert all(is_sealed(r.value) for r in raw)
    opened = _read_all(dep.log, key)
    assert all(msgspec.json.decode(r.value)["learner"] == pseudonym for r in opened)


def _read_all(log: EventLog, key: bytes) -> list[LogRecord]:
    return [r for p in range(PARTITIONS) for r in log.read(ALERTS_TOPIC, p, 0, 1000) if r.key == key]


def test_forget_leaves_no_readable_trace_in_kafka_or_postgres_and_replay_keeps_them_out(tmp_path: Path) -> None:
    tag = uuid.uuid4().hex[:10]
    name = f"erase_{tag}"
    settings = _settings(tmp_path, name)
    ana, needles = _ana(tag, 6)
    needles["phone"] = f"7946 {tag[:4]}".encode()
    with psycopg.connect(postgres_dsn(), autocommit=True) as conn:
        start_lsn = str(conn.execute("SELECT pg_current_wal_lsn()").fetchone()[0])  # type: ignore[index]
        pseudonym, before = _ingest_and_process(settings, ana)
        assert before[pseudonym] == 6
        schemas = [settings.postgres.schema_name, f"{settings.postgres.schema_name}_log"]
        files = _postgres_files(conn, schemas)
        assert _found(files, pseudonym.encode())  # the scan sees the learner's view rows before: it is real
        segments = _kafka_segments(name + ".")
        assert _found(segments, pseudonym.encode())  # and the record keys in the broker's segments
        for what, needle in needles.items():  # sealed values and payloads: never readable, even before
            assert _found(segments, needle) == [], what
        lrs = {str(p): p.read_bytes() for p in settings.data_dir.rglob("*") if p.is_file()}
        assert _found(lrs, ana[0]["id"].encode())  # the LRS's statements hold the ids: the id scans are real

        report = forget(settings, "default", ana[0]["actor"]["mbox"])

        assert report.key_shredded and report.lrs_statements == 6
        assert report.view_rows > 0 and report.state_rows > 0
        files = _postgres_files(conn, schemas)
        segments = _kafka_segments(name + ".")
        for what, needle in [*needles.items(), ("pseudonym", pseudonym.encode())]:
            where = _found(files, needle)
            if what == "pseudonym":  # the vault's tombstone names it, by design
                assert all(w for w in where), where  # listed for the report below
                query = f'SELECT count(*) FROM "{schemas[0]}".vault_tombstones WHERE pseudonym = %s'  # noqa: S608
                tombstone_only = conn.execute(query, [pseudonym]).fetchone()
                assert tombstone_only == (1,)
                assert all(w.startswith("vault_tombstones") for w in where), where
            else:
                assert where == [], (what, where)
            assert what == "pseudonym" or _found(segments, needle) == [], what
        local = {str(p): p.read_bytes() for p in settings.data_dir.rglob("*") if p.is_file()}
        for what, needle in needles.items():  # the LRS store, the key files
            assert _found(local, needle) == [], what
        for stmt in ana:  # the log's index keeps a keyed hash of each id, never the id
            assert _found(files, stmt["id"].encode()) == [], stmt["id"]
            assert _found(segments, stmt["id"].encode()) == [], stmt["id"]
        wal = _wal_since(conn, start_lsn)
        wal_holds = {what: needle in wal for what, needle in [*needles.items(), ("pseudonym", pseudonym.encode())]}
        print(f"\nPostgreSQL WAL written during the test ({len(wal):,} bytes) holds: {wal_holds}")  # noqa: T201
        for what in ("e-mail", "name", "phone"):  # only ever sealed on their way to PostgreSQL
            assert not wal_holds[what], what

    _replay_keeps_them_out(settings, name, pseudonym, before)


def _replay_keeps_them_out(settings: Settings, name: str, pseudonym: str, before: dict[str, int]) -> None:
    pg = settings.postgres
    log = KafkaLog.from_settings(settings.kafka, pg, schema=f"{pg.schema_name}_log")
    store = PostgresStore(pg.dsn, schema=scratch_schema(f"{name}_r"))
    vault = open_vault(settings)
    try:
        runtime = Runtime(log, store, standard_operators(settings), batch_size=1000, erased=read_tombstones(settings))
        runtime.opener = ValueOpener(vault)
        runtime.assign_all()
        runtime.run_until_caught_up()
        after = _learners(store)
    finally:
        vault.close()
        store.close()
        log.close()
    assert pseudonym not in after
    assert after == {k: v for k, v in before.items() if k != pseudonym}
