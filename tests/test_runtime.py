"""The runtime's guarantees that need no server: resume, failed commits, dead letters."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from edupulse.errors import FencedError, TransientError
from edupulse.insights import default_operators
from edupulse.insights.engagement import LEARNER_VIEW
from edupulse.insights.windows import Watermark
from edupulse.log.base import Record
from edupulse.log.sqlite import SqliteLog
from edupulse.lrs.statements import StatementIngest
from edupulse.stream.runtime import DEAD_LETTER_TOPIC, EVENTS_TOPIC, Runtime
from edupulse.stream.store.base import Commit
from edupulse.stream.store.sqlite import SqliteStore
from tests.statements import START, random_statements, statement


@pytest.fixture
def log(tmp_path: Path) -> SqliteLog:
    log = SqliteLog(tmp_path / "log.db")
    log.ensure_topic(EVENTS_TOPIC, 2)
    return log


def _runtime(log: SqliteLog, path: Path, batch: int = 7) -> tuple[Runtime, SqliteStore]:
    store = SqliteStore(path)
    runtime = Runtime(log, store, default_operators(allowed_lateness_us=0), batch_size=batch)
    runtime.assign_all()
    return runtime, store


def _rows(store: SqliteStore) -> list[dict[str, object]]:
    return store.select(LEARNER_VIEW.name, {}, order_by="learner")


def _reference_rows(log: SqliteLog, path: Path) -> list[dict[str, object]]:
    """The view rows one uninterrupted runtime, in large batches, builds from the whole log."""
    reference, ref_store = _runtime(log, path, batch=1000)
    reference.run_until_caught_up()
    return _rows(ref_store)


def test_a_restarted_runtime_resumes_from_the_committed_offset(log: SqliteLog, tmp_path: Path) -> None:
    StatementIngest(log).ingest(json.dumps(random_statements(100, seed=2)).encode(), tenant="t")
    first, store = _runtime(log, tmp_path / "a.db")
    first.run_once()
    first.run_once()  # part-way: 2 batches of 7 per partition
    store.close()
    second, store = _runtime(log, tmp_path / "a.db")
    assert sum(second.lag().values()) == 100 - 28
    second.run_until_caught_up()
    assert _rows(store) == _reference_rows(log, tmp_path / "b.db")


class FlakyStore(SqliteStore):
    """Fails the n-th commit, as a full disk or a lost connection would."""

    fail_at = 3
    commits = 0

    def commit(self, commit: Commit) -> None:
        self.commits += 1
        if self.commits == self.fail_at:
            raise TransientError("disk full (simulated)")
        super().commit(commit)


def test_a_failed_commit_leaves_no_trace_in_memory(log: SqliteLog, tmp_path: Path) -> None:
    StatementIngest(log).ingest(json.dumps(random_statements(100, seed=4)).encode(), tenant="t")
    store = FlakyStore(tmp_path / "flaky.db")
    runtime = Runtime(log, store, default_operators(allowed_lateness_us=0), batch_size=5)
    runtime.assign_all()
    with pytest.raises(TransientError):
        runtime.run_until_caught_up()
    runtime.run_until_caught_up()  # the retry re-reads the failed batch from the store's offset
    assert _rows(store) == _reference_rows(log, tmp_path / "ref.db")


class UnreachableStore(FlakyStore):
    """Fails a commit, then the reads that would restore the partition, as a restarting server does."""

    down = False

    def commit(self, commit: Commit) -> None:
        try:
            super().commit(commit)
        except TransientError:
            self.down = True  # until the test brings it back
            raise

    def committed_offsets(self, topic: str) -> dict[int, int]:
        if self.down:
            raise TransientError("connection refused (simulated)")
        return super().committed_offsets(topic)


def test_a_partition_whose_restore_failed_is_restored_later_not_forgotten(log: SqliteLog, tmp_path: Path) -> None:
    StatementIngest(log).ingest(json.dumps(random_statements(100, seed=4)).encode(), tenant="t")
    store = UnreachableStore(tmp_path / "down.db")
    runtime = Runtime(log, store, default_operators(allowed_lateness_us=0), batch_size=5)
    runtime.assign_all()
    with pytest.raises(TransientError):
        runtime.run_until_caught_up()  # the commit fails, then the restore
    with pytest.raises(TransientError):
        runtime.run_once()  # the store is still unreadable
    assert sum(runtime.lag().values()) > 0
    store.down = False
    runtime.run_until_caught_up()
    assert sum(runtime.lag().values()) == 0
    assert _rows(store) == _reference_rows(log, tmp_path / "ref.db")


def test_partitions_assigned_while_the_store_is_down_are_restored_once_it_is_back(
    log: SqliteLog, tmp_path: Path
) -> None:
    """A group worker given partitions during a database restart (the assign callback) keeps them."""
    StatementIngest(log).ingest(json.dumps(random_statements(100, seed=4)).encode(), tenant="t")
    store = UnreachableStore(tmp_path / "down.db")
    store.fail_at = -1  # no commit fails: the store is only away while the partitions are assigned
    runtime = Runtime(log, store, default_operators(allowed_lateness_us=0), batch_size=5)
    store.down = True
    with pytest.raises(TransientError):
        runtime.assign_all()
    runtime.restore_later(range(log.partitions(EVENTS_TOPIC)))
    assert sum(runtime.lag().values()) > 0  # owned, waiting
    with pytest.raises(TransientError):
        runtime.run_once()
    store.down = False
    runtime.run_until_caught_up()
    assert sum(runtime.lag().values()) == 0
    assert _rows(store) == _reference_rows(log, tmp_path / "ref.db")


def test_an_undecodable_record_is_dead_lettered_and_processing_goes_on(log: SqliteLog, tmp_path: Path) -> None:
    StatementIngest(log).ingest(json.dumps(random_statements(10, seed=5, learners=1)).encode(), tenant="t")
    (poison,) = log.append(EVENTS_TOPIC, [Record(b"t\x1faccount:https://example.edu|learner-0", b"\xc1junk", 0)])
    StatementIngest(log).ingest(json.dumps(random_statements(5, seed=6, learners=1)).encode(), tenant="t")
    runtime, store = _runtime(log, tmp_path / "s.db")
    runtime.run_until_caught_up()
    assert sum(r["events"] for r in _rows(store)) == 15  # type: ignore[misc]
    (dead,) = [m for _, m in store.pending_outbox(10) if m.topic == DEAD_LETTER_TOPIC]
    assert json.loads(dead.payload)["offset"] == poison.offset
    assert sum(runtime.lag().values()) == 0


def test_lateness_follows_the_watermark_rule(log: SqliteLog, tmp_path: Path) -> None:
    hours = [0, 10, 100, 60, 40, 99, 200, 151]  # with 48 h allowed: 40 and 151 are late
    batch = [statement("wm", when=START + timedelta(hours=h)) for h in hours]
    StatementIngest(log).ingest(json.dumps(batch).encode(), tenant="t")
    store = SqliteStore(tmp_path / "wm.db")
    runtime = Runtime(log, store, default_operators(allowed_lateness_us=48 * 3_600_000_000), batch_size=3)
    runtime.assign_all()
    runtime.run_until_caught_up()
    (row,) = _rows(store)
    reference = Watermark(48 * 3_600_000_000)
    assert row["late_events"] == sum(reference.is_late(h * 3_600_000_000) for h in hours) == 2
    assert sum(row["activity"].values()) == 6  # type: ignore[attr-defined]


def test_a_backlog_grows_live_batches_and_a_caught_up_partition_shrinks_them(log: SqliteLog, tmp_path: Path) -> None:
    StatementIngest(log).ingest(json.dumps(random_statements(400, seed=5)).encode(), tenant="t")
    store = SqliteStore(tmp_path / "a.db")
    runtime = Runtime(log, store, default_operators(allowed_lateness_us=0), batch_size=4, max_batch_size=32)
    runtime.assign([0])
    backlog = runtime.lag()[0]
    sizes = []
    while n := runtime.process_partition(0):
        sizes.append(n)
    assert sum(sizes) == backlog
    assert sizes[:4] == [4, 8, 16, 32]  # doubling while every batch comes back full
    assert max(sizes) == 32  # never above the cap
    StatementIngest(log).ingest(json.dumps(random_statements(50, seed=6)).encode(), tenant="t")
    assert runtime.process_partition(0) <= 4  # caught up: back to the live size
    runtime.assign([1])
    runtime.run_until_caught_up()
    reference, ref_store = _runtime(log, tmp_path / "b.db", batch=1000)
    reference.run_until_caught_up()
    assert _rows(store) == _rows(ref_store)  # batch sizes change nothing in the results


def test_a_stale_owner_is_fenced_and_nothing_is_counted_twice(log: SqliteLog, tmp_path: Path) -> None:
    """Two runtimes both think they own partition 0 (a rebalance while one stalled)."""
    StatementIngest(log).ingest(json.dumps(random_statements(200, seed=8)).encode(), tenant="t")
    store = SqliteStore(tmp_path / "shared.db")
    owner = Runtime(log, store, default_operators(allowed_lateness_us=0), batch_size=10)
    stale = Runtime(log, SqliteStore(tmp_path / "shared.db"), default_operators(allowed_lateness_us=0), batch_size=10)
    owner.assign_all()
    stale.assign_all()
    owner.process_partition(0)
    with pytest.raises(FencedError):
        stale.process_partition(0)  # it read from offset 0, but the owner has committed since
    assert stale.lag()[0] == owner.lag()[0]  # restored from the store: it now builds on the owner's commit
    fenced = 0
    for runtime in (stale, owner, stale, owner, stale, owner):  # interleaved; whoever is stale gets fenced
        for _ in range(3):
            try:
                runtime.run_once()
            except FencedError:
                fenced += 1
    while True:
        try:
            owner.run_until_caught_up()
            break
        except FencedError:
            fenced += 1
    assert fenced > 0
    assert _rows(store) == _reference_rows(log, tmp_path / "ref.db")
