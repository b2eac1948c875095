"""Pseudonymisation at ingest and erasure, proved on the bytes of every store.

A learner's statements go in through the HTTP API like any client's; the log, the lake
and the views see only their pseudonym, and the payloads kept beside the log records
are sealed with the learner's key. After ``forget``, no file of the data directory
holds a readable trace of them (identifiers, name, their events' ids and objects),
a replay does not bring them back, and the other learners are untouched.
"""

from __future__ import annotations

import functools
import json
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from edupulse.config import Settings
from edupulse.deployment import STATE_FILE, Deployment
from edupulse.events.model import decode_event
from edupulse.insights.engagement import LEARNER_VIEW
from edupulse.lake.catalog import table_spec
from edupulse.lake.sink import LakeSink
from edupulse.log.sqlite import SqliteLog
from edupulse.privacy.crypto import UnsealError, is_sealed
from edupulse.privacy.erasure import erase_serving, forget, shred
from edupulse.privacy.pseudonyms import is_pseudonym
from edupulse.privacy.setup import open_pseudonymiser, open_vault
from edupulse.replay import replay
from edupulse.stream.runtime import EVENTS_TOPIC
from edupulse.stream.store.sqlite import SqliteStore
from tests.conftest import LiveServer, basic
from tests.statements import random_statements, statement

ANA_MAIL = "ana.lima@example.edu"
ANA_OBJECT = "https://example.edu/courses/algebra/items/ana-only-7731"


def _ana(n: int) -> list[dict[str, Any]]:
    out = []
    for i in range(n):
        stmt = statement(score=0.4 + i / 100, statement_id=str(uuid.uuid4()))
        stmt["actor"] = {"objectType": "Agent", "name": "Ana Lima", "mbox": f"mailto:{ANA_MAIL}"}
        stmt["object"]["id"] = ANA_OBJECT
        stmt["result"]["response"] = "call me on +44 20 7946 0958 or write to ana.lima@example.edu"
        out.append(stmt)
    return out


def _files(root: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}


def _found(files: dict[Path, bytes], needle: bytes) -> list[str]:
    return sorted(str(p) for p, data in files.items() if needle in data)


def _learners(settings: Settings) -> dict[str, int]:
    store = SqliteStore(settings.data_dir / STATE_FILE)
    try:
        rows = store.select(LEARNER_VIEW.name, {"tenant": "default"})
    finally:
        store.close()
    out: dict[str, int] = {}
    for row in rows:
        out[row["learner"]] = out.get(row["learner"], 0) + row["events"]
    return out


def _ingest_and_process(settings: Settings, ana: list[dict[str, Any]]) -> None:
    with Deployment(settings) as dep:
        with LiveServer(dep) as server:
            auth = basic(dep.credentials.create("lms", tenant="default"))
            auth["X-Experience-API-Version"] = "1.0.3"
            client = httpx.Client(base_url=server.url, headers=auth, timeout=30)
            others = random_statements(300, seed=5, learners=6)
            assert client.post("/xapi/statements", json=others + ana).status_code == 200
            # the LRS returns a statement as it was posted: identity and all
            got = client.get("/xapi/statements", params={"statementId": ana[0]["id"]}).json()
            assert got["actor"] == ana[0]["actor"] and got["result"]["response"] == ana[0]["result"]["response"]
        # the server's own runtime has stopped with it: catch up here, alone on the partitions
        runtime = dep.runtime()
        runtime.assign_all()
        runtime.run_until_caught_up()
        LakeSink(dep.log, table_spec("events"), settings.lake_path).run_once(force=True)


def test_the_log_holds_pseudonyms_and_sealed_payloads_only(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", log={"partitions": 2})
    ana = _ana(5)
    _ingest_and_process(settings, ana)

    pseudonym = open_pseudonymiser(settings).pseudonym("default", f"mailto:{ANA_MAIL}")
    log = SqliteLog(settings.data_dir / "log.db")
    try:
        records = [r for p in range(2) for r in log.read(EVENTS_TOPIC, p, 0, 10_000)]
        payloads = [v for p in range(2) for v in log.read_payloads(EVENTS_TOPIC, p, range(10_000)).values()]
    finally:
        log.close()
    events = [decode_event(r.value) for r in records]
    assert len(events) == 305 and all(is_pseudonym(e.learner) for e in events)
    assert sum(e.learner == pseudonym for e in events) == 5
    assert len(payloads) == 305 and all(is_sealed(p) for p in payloads)
    log_bytes = b"".join(data for p, data in _files(settings.data_dir).items() if p.name.startswith("log.db"))
    for needle in (ANA_MAIL.encode(), b"Ana Lima", b"7946 0958", b"example.edu|learner-1"):
        assert needle not in log_bytes
    vault = open_vault(settings)
    try:
        identity = vault.identity(pseudonym)
        sealer = vault.sealer(pseudonym)
    finally:
        vault.close()
    assert identity is not None and (identity.name, identity.email) == ("Ana Lima", ANA_MAIL)
    assert sealer is not None
    # the payload opens with the learner's key, and its free text is masked
    mine = [p for p in payloads if _opens(sealer, p, pseudonym)]
    assert len(mine) == 5
    original = json.loads(sealer.open(mine[0], pseudonym.encode()))
    assert original["actor"]["mbox"] == f"mailto:{ANA_MAIL}"
    assert original["result"]["response"] == "call me on [phone] or write to [email]"


def _opens(sealer: Any, payload: bytes, pseudonym: str) -> bool:
    try:
        sealer.open(payload, pseudonym.encode())
    except UnsealError:  # another learner's payload
        return False
    return True


def test_after_forget_no_store_holds_a_trace_and_replay_does_not_bring_them_back(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", log={"partitions": 2})
    ana = _ana(7)
    _ingest_and_process(settings, ana)
    pseudonym = open_pseudonymiser(settings).pseudonym("default", f"mailto:{ANA_MAIL}")
    before = _learners(settings)
    assert before[pseudonym] == 7
    needles = [ANA_MAIL.encode(), b"Ana Lima", ANA_OBJECT.encode(), pseudonym.encode()]
    needles += [s["id"].encode() for s in ana]
    files = _files(settings.data_dir)
    assert _found(files, ANA_OBJECT.encode())  # the test can see them before: the scan is real

    report = forget(settings, "default", ANA_MAIL)

    assert (report.pseudonym, report.key_shredded, report.lrs_statements) == (pseudonym, True, 7)
    assert report.log_records == 7 and report.lake_rows == 7 and report.lake_files_vacuumed > 0
    assert report.replayed_events == 300
    files = _files(settings.data_dir)
    for needle in needles:
        where = _found(files, needle)
        if needle == pseudonym.encode():  # the tombstone, and only it, names the pseudonym
            assert all(Path(w).name.startswith("vault.db") for w in where), where
        else:
            assert where == [], (needle, where)
    after = _learners(settings)
    assert pseudonym not in after
    assert after == {k: v for k, v in before.items() if k != pseudonym}

    replay(settings)  # once more: nothing of theirs comes back
    assert _learners(settings) == after


def test_a_tombstone_keeps_records_still_in_a_log_out_of_every_replay(tmp_path: Path) -> None:
    """Where records cannot be deleted (Kafka), shredding and the tombstone still keep them out."""
    settings = Settings(data_dir=tmp_path / "data", log={"partitions": 2})
    _ingest_and_process(settings, _ana(3))
    pseudonym = open_pseudonymiser(settings).pseudonym("default", f"mailto:{ANA_MAIL}")
    assert _learners(settings)[pseudonym] == 3

    report = shred(settings, "default", ANA_MAIL)  # the key and the LRS copies only; the log keeps the records

    assert (report.key_shredded, report.lrs_statements, report.log_records) == (True, 3, 0)
    vault = open_vault(settings)
    try:
        assert vault.sealer(pseudonym) is None and vault.identity(pseudonym) is None
    finally:
        vault.close()
    assert replay(settings).events == 303  # read, and skipped
    assert pseudonym not in _learners(settings)


def test_the_admin_api_shreds_at_once_and_only_for_admins(deployment: Deployment, live_server: LiveServer) -> None:
    admin = basic(deployment.credentials.create("dpo", tenant="default", scopes=("admin", "ingest", "read")))
    reader = basic(deployment.credentials.create("dash", tenant="default", scopes=("read",)))
    version = {"X-Experience-API-Version": "1.0.3"}
    ana = _ana(2)
    assert httpx.post(live_server.url + "/xapi/statements", json=ana, headers=admin | version).status_code == 200
    url = live_server.url + "/api/v1/privacy/erasures"

    assert httpx.post(url, json={"learner": ANA_MAIL}, headers=reader).status_code == 403
    assert httpx.post(url, json={"learner": ""}, headers=admin).status_code in (400, 422)
    pseudonym = deployment.learner_key("default", ANA_MAIL)
    wait_processed(deployment.store, 2)
    assert deployment.store.count(LEARNER_VIEW.name, {"learner": pseudonym}) == 1
    response = httpx.post(url, json={"learner": ANA_MAIL}, headers=admin)

    assert response.status_code == 202, response.text
    body = response.json()
    assert (body["pseudonym"], body["key_shredded"], body["lrs_statements"]) == (pseudonym, True, 2)
    assert body["view_rows"] >= 1 and body["state_rows"] >= 1  # their learner_course row; their keyed state
    assert set(body["steps"]) >= {"key", "tombstone", "lrs", "state", "lake", "log", "tutor"}
    assert deployment.store.count(LEARNER_VIEW.name, {"learner": pseudonym}) == 0
    assert deployment.vault is not None and deployment.vault.sealer(pseudonym) is None
    got = httpx.get(live_server.url + "/xapi/statements", params={"statementId": ana[0]["id"]}, headers=admin | version)
    assert got.status_code == 404


def test_imports_are_pseudonymised_and_sealed_too(settings: Settings, tmp_path: Path) -> None:
    from edupulse.importers.base import run_import  # noqa: PLC0415
    from edupulse.importers.oulad import OuladImporter  # noqa: PLC0415
    from tests.oulad_rows import write_tables  # noqa: PLC0415

    with Deployment(settings) as dep:
        report = run_import(
            dep.log, OuladImporter(tenant="t"), [write_tables(tmp_path / "oulad")], checkpoint_dir=tmp_path
        )
        assert report.appended > 0
        records = [r for p in range(4) for r in dep.log.read(EVENTS_TOPIC, p, 0, 1000)]
        payloads = [v for p in range(4) for v in dep.log.read_payloads(EVENTS_TOPIC, p, range(1000)).values()]
        expected = dep.learner_key("t", "oulad:11391")
    learners = {decode_event(r.value).learner for r in records}
    assert expected in learners and all(is_pseudonym(x) for x in learners)
    assert payloads and all(is_sealed(p) for p in payloads)


def test_a_record_that_is_no_event_passes_the_seam_unchanged(deployment: Deployment) -> None:
    """Junk on the events topic is the runtime's to dead-letter; the seam neither drops nor breaks on it."""
    from edupulse.log.base import Record  # noqa: PLC0415

    junk = Record(b"default\x1fwhoever", b"\xc1 not msgpack", 1, "default:junk-1", b"j" * 16, b"raw")
    (result,) = deployment.log.append(EVENTS_TOPIC, [junk])
    (stored,) = deployment.log.read(EVENTS_TOPIC, result.partition, result.offset, 1)
    assert (stored.key, stored.value) == (junk.key, junk.value)


def wait_processed(store: Any, records: int, timeout_s: float = 30) -> None:
    """Until the store has committed ``records`` records of the events topic (the deployment's runtime runs)."""
    deadline = time.monotonic() + timeout_s
    while sum(store.committed_offsets(EVENTS_TOPIC).values()) < records:
        assert time.monotonic() < deadline, store.committed_offsets(EVENTS_TOPIC)
        time.sleep(0.05)


def test_a_processor_finds_an_erasure_made_by_another_process_and_writes_nothing_back(tmp_path: Path) -> None:
    """The API of another process erases; the running processor must not write back what it held in memory."""
    settings = Settings(data_dir=tmp_path / "data", log={"partitions": 2}, privacy={"erasure_poll_s": 0.05})
    with Deployment(settings) as dep, LiveServer(dep) as server:  # its runtime processes in the background
        auth = basic(dep.credentials.create("lms", tenant="default")) | {"X-Experience-API-Version": "1.0.3"}
        post = functools.partial(httpx.post, server.url + "/xapi/statements", headers=auth, timeout=30)
        assert post(json=random_statements(40, seed=3, learners=3) + _ana(5)).status_code == 200
        wait_processed(dep.store, 45)
        pseudonym = dep.learner_key("default", ANA_MAIL)
        assert _learners(settings)[pseudonym] == 5

        other = SqliteStore(settings.data_dir / STATE_FILE)  # another process's handles: its vault, its store
        try:
            report = erase_serving(settings, "default", ANA_MAIL, vault=None, store=other)
        finally:
            other.close()
        assert report.key_shredded and pseudonym not in _learners(settings)  # deleted here, or by the processor first
        runtime = dep.processing
        assert runtime is not None
        deadline = time.monotonic() + 30  # the processor polls the tombstones, deletes again and reloads its state
        while not runtime.erasures_applied:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        assert post(json=_ana(2)).status_code == 200  # they come back: new data, new key
        wait_processed(dep.store, 47)
        assert _learners(settings)[pseudonym] == 2  # not 7: the 5 held in memory were not written back


def test_sealed_event_values_open_for_processing_and_replay_and_never_once_shredded(tmp_path: Path) -> None:
    """``privacy.seal_events`` (Kafka's default), here on the embedded log: the log holds no readable event."""
    settings = Settings(data_dir=tmp_path / "data", log={"partitions": 2}, privacy={"seal_events": True})
    _ingest_and_process(settings, _ana(4))  # live processing and the lake sink read through the opener
    pseudonym = open_pseudonymiser(settings).pseudonym("default", f"mailto:{ANA_MAIL}")
    log = SqliteLog(settings.data_dir / "log.db")
    try:
        values = [r.value for p in range(2) for r in log.read(EVENTS_TOPIC, p, 0, 10_000)]
    finally:
        log.close()
    assert len(values) == 304 and all(is_sealed(v) for v in values)
    log_bytes = b"".join(data for p, data in _files(settings.data_dir).items() if p.name.startswith("log.db"))
    assert ANA_OBJECT.encode() not in log_bytes
    before = _learners(settings)
    assert before[pseudonym] == 4 and len(before) == 7

    assert replay(settings).events == 304
    assert _learners(settings) == before
    shred(settings, "default", ANA_MAIL)  # the records stay in the log, sealed under a shredded key
    replay(settings)
    assert _learners(settings) == {k: v for k, v in before.items() if k != pseudonym}


def test_the_lake_sink_passes_over_values_sealed_under_a_shredded_key(tmp_path: Path) -> None:
    """On Kafka the erased learner's records stay, sealed: a sink that reads them later stores the others."""
    settings = Settings(data_dir=tmp_path / "data", log={"partitions": 2}, privacy={"seal_events": True})
    with Deployment(settings) as dep:
        dep.ingest.ingest(json.dumps(random_statements(20, seed=7, learners=3) + _ana(3)).encode(), tenant="default")
        assert shred(settings, "default", ANA_MAIL, vault=dep.vault).key_shredded
        written = LakeSink(dep.log, table_spec("events"), settings.lake_path).run_once(force=True)
    assert written == 20
