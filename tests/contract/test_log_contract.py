"""The EventLog contract: every backend passes this module unchanged.

Each test gets a private place (see ``backends.py``) and a unique topic name, so server
backends can share one cluster between tests.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edupulse.errors import NotFoundError
from edupulse.log.base import Appended, EventLog, LogRecord, Record, murmur2, partition_for
from tests.contract.backends import LOG_BACKENDS, Handles

# -- fixtures and helpers ---------------------------------------------------------------


@pytest.fixture(params=sorted(LOG_BACKENDS))
def log_handles(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Handles[EventLog]]:
    handles: Handles[EventLog] = Handles(LOG_BACKENDS[request.param], tmp_path)
    yield handles
    handles.close_all()


@pytest.fixture
def event_log(log_handles: Handles[EventLog]) -> EventLog:
    return log_handles.open()


@pytest.fixture
def topic() -> str:
    return f"contract-{uuid.uuid4().hex[:12]}"


def key_in(partition: int, partitions: int, prefix: str = "key") -> bytes:
    """A key that the default partitioner places in ``partition``."""
    for i in range(10_000):
        key = f"{prefix}-{i}".encode()
        if partition_for(key, partitions) == partition:
            return key
    raise AssertionError(f"no key found for partition {partition}")


def read_all(log: EventLog, topic: str, partition: int) -> list[LogRecord]:
    return log.read(topic, partition, 0, 100_000)


def signed32(value: int) -> int:
    return value - (1 << 32) if value >= 1 << 31 else value


# -- topics -----------------------------------------------------------------------------


def test_ensure_topic_is_idempotent_and_keeps_the_first_partition_count(event_log: EventLog, topic: str) -> None:
    event_log.ensure_topic(topic, 3)
    event_log.append(topic, [Record(b"k", b"v", 1)])
    event_log.ensure_topic(topic, 3)
    event_log.ensure_topic(topic, 7)

    assert event_log.partitions(topic) == 3
    assert len(event_log.end_offsets(topic)) == 3
    assert sum(event_log.end_offsets(topic)) == 1


def test_topics_are_independent(event_log: EventLog, topic: str) -> None:
    other = topic + "-other"
    event_log.ensure_topic(topic, 2)
    event_log.ensure_topic(other, 5)
    event_log.append(topic, [Record(b"k", b"v", 1)])

    assert event_log.partitions(other) == 5
    assert event_log.end_offsets(other) == [0] * 5


UNKNOWN_TOPIC_CALLS: dict[str, Callable[[EventLog, str], Any]] = {
    "partitions": lambda log, t: log.partitions(t),
    "append": lambda log, t: log.append(t, [Record(b"k", b"v", 1)]),
    "end_offsets": lambda log, t: log.end_offsets(t),
    "start_offsets": lambda log, t: log.start_offsets(t),
}


@pytest.mark.parametrize("call", sorted(UNKNOWN_TOPIC_CALLS))
def test_unknown_topic_raises_not_found(event_log: EventLog, topic: str, call: str) -> None:
    with pytest.raises(NotFoundError):
        UNKNOWN_TOPIC_CALLS[call](event_log, topic)
    with pytest.raises(NotFoundError):  # and the failed call did not create it
        event_log.partitions(topic)


# -- appending and reading --------------------------------------------------------------


def test_append_returns_the_positions_the_records_are_read_back_at(event_log: EventLog, topic: str) -> None:
    event_log.ensure_topic(topic, 4)
    records = [Record(f"learner-{i % 5}".encode(), f"value-{i}".encode(), 1_000 + i) for i in range(20)]

    appended = event_log.append(topic, records)

    assert [a.status for a in appended] == ["appended"] * 20
    for rec, app in zip(records, appended, strict=True):
        [got] = event_log.read(topic, app.partition, app.offset, 1)
        assert got == LogRecord(app.partition, app.offset, rec.key, rec.value, rec.timestamp_us)


def test_empty_append_stores_nothing(event_log: EventLog, topic: str) -> None:
    event_log.ensure_topic(topic, 2)
    assert event_log.append(topic, []) == []
    assert event_log.end_offsets(topic) == [0, 0]


def test_offsets_start_at_zero_and_are_contiguous_per_partition(event_log: EventLog, topic: str) -> None:
    event_log.ensure_topic(topic, 3)
    appended: list[Appended] = []
    for batch in range(5):
        appended += event_log.append(topic, [Record(f"k{i}".encode(), b"v", batch) for i in range(batch + 3)])

    ends = event_log.end_offsets(topic)
    for part in range(3):
        offsets = [a.offset for a in appended if a.partition == part]
        assert offsets == list(range(len(offsets)))
        assert [r.offset for r in read_all(event_log, topic, part)] == offsets
        assert ends[part] == len(offsets)
    assert sum(ends) == len(appended)


def test_read_from_an_offset_returns_at_most_max_records_in_order(event_log: EventLog, topic: str) -> None:
    event_log.ensure_topic(topic, 1)
    event_log.append(topic, [Record(b"k", f"v{i}".encode(), i) for i in range(10)])

    page = event_log.read(topic, 0, 3, 4)

    assert [r.offset for r in page] == [3, 4, 5, 6]
    assert [r.value for r in page] == [b"v3", b"v4", b"v5", b"v6"]
    assert [r.offset for r in event_log.read(topic, 0, 8, 100)] == [8, 9]
    assert event_log.read(topic, 0, 10, 100) == []


def test_one_key_stays_in_one_partition_in_append_order(event_log: EventLog, topic: str) -> None:
    event_log.ensure_topic(topic, 8)
    keys = [f"learner-{i}".encode() for i in range(6)]
    for round_ in range(4):  # interleave keys across several appends
        batch = [Record(k, f"{k.decode()}#{round_}.{j}".encode(), round_) for k in keys for j in (0, 1)]
        event_log.append(topic, batch)

    for key in keys:
        part = partition_for(key, 8)
        values = [r.value.decode() for r in read_all(event_log, topic, part) if r.key == key]
        assert values == [f"{key.decode()}#{r}.{j}" for r in range(4) for j in (0, 1)]
        for other in range(8):
            if other != part:
                assert all(r.key != key for r in read_all(event_log, topic, other))


# -- placement: Kafka's default partitioner ---------------------------------------------

KAFKA_MURMUR2 = {  # signed 32-bit results of Kafka's Utils.murmur2
    b"21": -973932308,
    b"foobar": -790332482,
    b"abc": 479470107,
    b"a-little-bit-long-string": -985981536,
    b"a-little-bit-longer-string": -1486304829,
    b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971,
}


@pytest.mark.parametrize(("data", "expected"), KAFKA_MURMUR2.items(), ids=[k.decode() for k in KAFKA_MURMUR2])
def test_murmur2_matches_kafka(data: bytes, expected: int) -> None:
    assert signed32(murmur2(data)) == expected


@pytest.mark.parametrize("partitions", [1, 3, 12, 100])
def test_partition_for_is_kafkas_positive_murmur2_modulo(partitions: int) -> None:
    for data, signed in KAFKA_MURMUR2.items():
        assert partition_for(data, partitions) == (signed & 0x7FFFFFFF) % partitions


def test_the_backend_places_records_with_partition_for(event_log: EventLog, topic: str) -> None:
    event_log.ensure_topic(topic, 6)
    keys = [*KAFKA_MURMUR2, b"", *(f"k{i}".encode() for i in range(30))]
    appended = event_log.append(topic, [Record(k, b"v", 0) for k in keys])
    assert [a.partition for a in appended] == [partition_for(k, 6) for k in keys]
    assert len({a.partition for a in appended}) == 6


def test_start_and_end_offsets(event_log: EventLog, topic: str) -> None:
    event_log.ensure_topic(topic, 2)
    assert event_log.start_offsets(topic) == [0, 0]
    assert event_log.end_offsets(topic) == [0, 0]

    event_log.append(topic, [Record(key_in(0, 2), b"v", 0)] * 3 + [Record(key_in(1, 2), b"v", 0)])

    assert event_log.start_offsets(topic) == [0, 0]
    assert event_log.end_offsets(topic) == [3, 1]


# -- idempotent appends -----------------------------------------------------------------


def test_same_id_same_digest_is_a_duplicate_at_the_original_position(event_log: EventLog, topic: str) -> None:
    event_log.ensure_topic(topic, 4)
    [first] = event_log.append(topic, [Record(b"k1", b"v1", 1, id="e1", digest=b"d1")])
    event_log.append(topic, [Record(b"k1", b"other", 2)])
    ends = event_log.end_offsets(topic)

    again = event_log.append(topic, [Record(b"k1", b"v1", 1, id="e1", digest=b"d1")])

    assert first.status == "appended"
    assert again == [Appended("duplicate", first.partition, first.offset)]
    assert event_log.end_offsets(topic) == ends


def test_same_id_other_digest_is_a_conflict_and_not_stored(event_log: EventLog, topic: str) -> None:
    event_log.ensure_topic(topic, 4)
    [first] = event_log.append(topic, [Record(b"k1", b"v1", 1, id="e1", digest=b"d1")])

    result = event_log.append(topic, [Record(b"k2", b"v2", 1, id="e1", digest=b"d2")])

    assert result == [Appended("conflict", first.partition, first.offset)]
    assert sum(event_log.end_offsets(topic)) == 1
    [stored] = read_all(event_log, topic, first.partition)
    assert stored.value == b"v1"


def test_ids_are_scoped_to_their_topic(event_log: EventLog, topic: str) -> None:
    other = topic + "-other"
    event_log.ensure_topic(topic, 1)
    event_log.ensure_topic(other, 1)
    event_log.append(topic, [Record(b"k", b"v", 1, id="e1", digest=b"d1")])

    assert event_log.append(other, [Record(b"k", b"v", 1, id="e1", digest=b"d2")])[0].status == "appended"


def test_repeats_inside_one_append(event_log: EventLog, topic: str) -> None:
    event_log.ensure_topic(topic, 4)
    records = [
        Record(b"a", b"1", 1, id="e1", digest=b"d1"),
        Record(b"b", b"2", 1, id="e2", digest=b"d2"),
        Record(b"a", b"1", 1, id="e1", digest=b"d1"),  # duplicate of the first
        Record(b"c", b"3", 1, id="e1", digest=b"XX"),  # conflicts with the first
        Record(b"d", b"4", 1),  # no id: always appended
        Record(b"d", b"4", 1),
    ]

    result = event_log.append(topic, records)

    assert [r.status for r in result] == ["appended", "appended", "duplicate", "conflict", "appended", "appended"]
    assert (result[2].partition, result[2].offset) == (result[0].partition, result[0].offset)
    assert (result[3].partition, result[3].offset) == (result[0].partition, result[0].offset)
    assert sum(event_log.end_offsets(topic)) == 4


def test_atomic_append_with_a_conflict_appends_nothing(event_log: EventLog, topic: str) -> None:
    event_log.ensure_topic(topic, 4)
    [first] = event_log.append(topic, [Record(b"a", b"1", 1, id="e1", digest=b"d1")])

    result = event_log.append(
        topic,
        [
            Record(b"b", b"2", 1, id="e2", digest=b"d2"),
            Record(b"a", b"1", 1, id="e1", digest=b"d1"),  # a duplicate does not abort
            Record(b"a", b"9", 1, id="e1", digest=b"XX"),  # a conflict does
            Record(b"c", b"3", 1),
        ],
        atomic=True,
    )

    assert [r.status for r in result] == ["aborted", "aborted", "conflict", "aborted"]
    assert (result[2].partition, result[2].offset) == (first.partition, first.offset)
    assert all((r.partition, r.offset) == (-1, -1) for r in result if r.status == "aborted")
    assert sum(event_log.end_offsets(topic)) == 1
    # e2 was not stored, so it is new next time
    assert event_log.append(topic, [Record(b"b", b"2", 1, id="e2", digest=b"d2")])[0].status == "appended"


def test_atomic_append_with_a_conflict_inside_the_call_appends_nothing(event_log: EventLog, topic: str) -> None:
    event_log.ensure_topic(topic, 2)
    result = event_log.append(
        topic,
        [Record(b"a", b"1", 1, id="e1", digest=b"d1"), Record(b"a", b"2", 1, id="e1", digest=b"d2")],
        atomic=True,
    )
    assert [r.status for r in result] == ["aborted", "conflict"]
    assert event_log.end_offsets(topic) == [0, 0]


def test_atomic_append_without_conflicts_appends_everything_new(event_log: EventLog, topic: str) -> None:
    event_log.ensure_topic(topic, 2)
    event_log.append(topic, [Record(b"a", b"1", 1, id="e1", digest=b"d1")])
    result = event_log.append(
        topic,
        [Record(b"a", b"1", 1, id="e1", digest=b"d1"), Record(b"b", b"2", 1, id="e2", digest=b"d2")],
        atomic=True,
    )
    assert [r.status for r in result] == ["duplicate", "appended"]
    assert sum(event_log.end_offsets(topic)) == 2


# -- payloads: kept beside the records, never read with them ----------------------------


def test_payloads_are_returned_by_read_payloads_and_not_by_read(event_log: EventLog, topic: str) -> None:
    event_log.ensure_topic(topic, 3)
    records = [Record(f"k{i}".encode(), f"v{i}".encode(), i, payload=f"original {i}".encode()) for i in range(12)]
    records.append(Record(b"k0", b"no payload", 99))

    appended = event_log.append(topic, records)

    for part in range(3):
        stored = read_all(event_log, topic, part)
        mine = [(rec, app) for rec, app in zip(records, appended, strict=True) if app.partition == part]
        assert stored == [LogRecord(part, a.offset, r.key, r.value, r.timestamp_us) for r, a in mine]
        payloads = event_log.read_payloads(topic, part, [a.offset for _, a in mine])
        assert payloads == {a.offset: r.payload for r, a in mine if r.payload is not None}


def test_read_payloads_leaves_out_offsets_without_one(event_log: EventLog, topic: str) -> None:
    event_log.ensure_topic(topic, 1)
    event_log.append(topic, [Record(b"k", b"a", 1, payload=b"pa"), Record(b"k", b"b", 2), Record(b"k", b"c", 3)])
    event_log.append(topic, [Record(b"k", b"d", 4, payload=b"")])  # an empty payload is still a payload

    assert event_log.read_payloads(topic, 0, [0, 1, 2, 3, 4, 1000, -1]) == {0: b"pa", 3: b""}
    assert event_log.read_payloads(topic, 0, []) == {}
    assert event_log.read_payloads(topic, 0, [3, 0, 3]) == {0: b"pa", 3: b""}


def test_read_payloads_reads_many_offsets_at_once(event_log: EventLog, topic: str) -> None:
    event_log.ensure_topic(topic, 1)
    event_log.append(topic, [Record(b"k", b"v", i, payload=i.to_bytes(4, "big")) for i in range(1_200)])

    payloads = event_log.read_payloads(topic, 0, range(1_200))

    assert payloads == {i: i.to_bytes(4, "big") for i in range(1_200)}


def test_a_duplicate_keeps_the_payload_of_the_first_copy(event_log: EventLog, topic: str) -> None:
    event_log.ensure_topic(topic, 2)
    [first] = event_log.append(topic, [Record(b"k", b"v", 1, id="e1", digest=b"d", payload=b"first")])

    again = event_log.append(topic, [Record(b"k", b"v", 1, id="e1", digest=b"d", payload=b"second")])
    clash = event_log.append(topic, [Record(b"k", b"w", 1, id="e1", digest=b"other", payload=b"third")])

    assert [again[0].status, clash[0].status] == ["duplicate", "conflict"]
    assert event_log.read_payloads(topic, first.partition, [first.offset, first.offset + 1]) == {first.offset: b"first"}


def test_an_aborted_atomic_append_stores_no_payload(event_log: EventLog, topic: str) -> None:
    event_log.ensure_topic(topic, 1)
    event_log.append(topic, [Record(b"k", b"v0", 0, id="e0", digest=b"d0", payload=b"p0")])

    result = event_log.append(
        topic,
        [Record(b"k", b"v1", 1, id="e1", digest=b"d1", payload=b"p1"), Record(b"k", b"x", 1, id="e0", digest=b"XX")],
        atomic=True,
    )
    assert [r.status for r in result] == ["aborted", "conflict"]
    assert event_log.read_payloads(topic, 0, [0, 1, 2]) == {0: b"p0"}

    [later] = event_log.append(topic, [Record(b"k", b"v2", 2)])  # takes offset 1, which has no payload
    assert later.offset == 1
    assert event_log.read_payloads(topic, 0, [0, 1, 2]) == {0: b"p0"}


def test_a_visible_record_always_has_its_payload(event_log: EventLog, topic: str) -> None:
    """Records and their payloads are stored in one step: no reader sees one without the other."""
    event_log.ensure_topic(topic, 1)
    done = threading.Event()

    def writer() -> None:
        try:
            for batch in range(40):
                event_log.append(topic, [Record(b"k", b"v", batch, payload=f"{batch}.{i}".encode()) for i in range(25)])
        finally:
            done.set()

    thread = threading.Thread(target=writer)
    thread.start()
    checked, missing = 0, []
    while True:
        finished = done.is_set()  # sampled BEFORE the read: an empty read after it means the end
        visible = [r.offset for r in event_log.read(topic, 0, checked, 10_000)]
        payloads = event_log.read_payloads(topic, 0, visible)
        missing += [offset for offset in visible if offset not in payloads]
        checked += len(visible)
        if finished and not visible:
            break
    thread.join(timeout=30)

    assert missing == []
    assert checked == 1_000


def test_payloads_survive_close_and_reopen(log_handles: Handles[EventLog], topic: str) -> None:
    log = log_handles.open()
    log.ensure_topic(topic, 2)
    appended = log.append(topic, [Record(f"k{i}".encode(), b"v", i, payload=f"p{i}".encode()) for i in range(10)])

    log = log_handles.reopen(log)

    for part in range(2):
        offsets = [a.offset for a in appended if a.partition == part]
        expected = {a.offset: f"p{i}".encode() for i, a in enumerate(appended) if a.partition == part}
        assert log.read_payloads(topic, part, offsets) == expected


def test_payloads_of_other_topics_and_partitions_are_apart(event_log: EventLog, topic: str) -> None:
    other = topic + "-other"
    event_log.ensure_topic(topic, 2)
    event_log.ensure_topic(other, 2)
    keys = [key_in(0, 2), key_in(1, 2)]
    event_log.append(topic, [Record(keys[0], b"v", 1, payload=b"t0"), Record(keys[1], b"v", 1, payload=b"t1")])
    event_log.append(other, [Record(keys[0], b"v", 1, payload=b"o0")])

    assert event_log.read_payloads(topic, 0, [0]) == {0: b"t0"}
    assert event_log.read_payloads(topic, 1, [0]) == {0: b"t1"}
    assert event_log.read_payloads(other, 0, [0]) == {0: b"o0"}
    assert event_log.read_payloads(other, 1, [0]) == {}


# -- durability and concurrency ---------------------------------------------------------


def test_everything_survives_close_and_reopen(log_handles: Handles[EventLog], topic: str) -> None:
    log = log_handles.open()
    other = topic + "-other"
    log.ensure_topic(topic, 3)
    log.ensure_topic(other, 1)
    first = log.append(topic, [Record(f"k{i}".encode(), f"v{i}".encode(), i, f"e{i}", b"d") for i in range(9)])
    log.append(other, [Record(b"x", b"y", 5)])
    before = {p: read_all(log, topic, p) for p in range(3)}

    log = log_handles.reopen(log)

    assert log.partitions(topic) == 3
    assert log.partitions(other) == 1
    assert {p: read_all(log, topic, p) for p in range(3)} == before
    assert read_all(log, other, 0) == [LogRecord(0, 0, b"x", b"y", 5)]
    assert log.end_offsets(topic) == [len(before[p]) for p in range(3)]
    again = log.append(topic, [Record(b"k4", b"v4", 4, id="e4", digest=b"d")])  # ids survive too
    assert again == [Appended("duplicate", first[4].partition, first[4].offset)]
    [new] = log.append(topic, [Record(b"k4", b"new", 10)])
    assert new.offset == len(before[new.partition])


def test_concurrent_appends_from_eight_threads_all_land(event_log: EventLog, topic: str) -> None:
    event_log.ensure_topic(topic, 4)
    start = threading.Barrier(8)

    def writer(thread: int) -> list[tuple[Record, Appended]]:
        start.wait(timeout=10)
        out: list[tuple[Record, Appended]] = []
        for i in range(25):
            batch = [Record(f"t{thread}-k{j % 3}".encode(), f"{thread}:{i}:{j}".encode(), i) for j in range(1 + i % 4)]
            out += zip(batch, event_log.append(topic, batch), strict=True)
        return out

    with ThreadPoolExecutor(8) as pool:
        results = [pair for chunk in pool.map(writer, range(8)) for pair in chunk]

    assert all(app.status == "appended" for _, app in results)
    assert len({(app.partition, app.offset) for _, app in results}) == len(results)
    stored = {p: read_all(event_log, topic, p) for p in range(4)}
    assert sum(len(records) for records in stored.values()) == len(results)
    for part, records in stored.items():
        assert [r.offset for r in records] == list(range(len(records)))
        assert event_log.end_offsets(topic)[part] == len(records)
    for rec, app in results:
        assert stored[app.partition][app.offset].value == rec.value
    by_key: dict[bytes, list[int]] = {}
    for rec, app in results:  # each thread's appends of one key keep their order
        by_key.setdefault(rec.key, []).append(app.offset)
    assert all(offsets == sorted(offsets) for offsets in by_key.values())


def test_two_handles_on_one_log_append_without_losing_records(log_handles: Handles[EventLog], topic: str) -> None:
    first, second = log_handles.open(), log_handles.open()
    first.ensure_topic(topic, 2)

    def writer(log: EventLog, name: str) -> None:
        for i in range(30):
            log.append(topic, [Record(f"k{i % 4}".encode(), f"{name}{i}".encode(), i)])

    threads = [threading.Thread(target=writer, args=(log, name)) for log, name in ((first, "a"), (second, "b"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    for log in (first, second):
        stored = [r for p in range(2) for r in read_all(log, topic, p)]
        assert sorted(r.value for r in stored) == sorted(f"{n}{i}".encode() for n in "ab" for i in range(30))
        for part in range(2):
            assert [r.offset for r in read_all(log, topic, part)] == list(range(log.end_offsets(topic)[part]))


def test_wait_returns_true_promptly_after_an_append_from_another_thread(event_log: EventLog, topic: str) -> None:
    event_log.ensure_topic(topic, 1)

    def append_later() -> None:
        time.sleep(0.2)
        event_log.append(topic, [Record(b"k", b"v", 1)])

    thread = threading.Thread(target=append_later)
    thread.start()
    began = time.monotonic()
    woke = event_log.wait(5.0)
    elapsed = time.monotonic() - began
    thread.join(timeout=10)

    assert woke is True
    assert elapsed < 2.0


def test_wait_returns_false_on_timeout(event_log: EventLog, topic: str) -> None:
    event_log.ensure_topic(topic, 1)
    began = time.monotonic()
    woke = event_log.wait(0.3)
    elapsed = time.monotonic() - began

    assert woke is False
    assert 0.25 <= elapsed < 3.0


# -- retention --------------------------------------------------------------------------


def _fill_two_partitions(log: EventLog, topic: str, sizes: tuple[int, int]) -> list[bytes]:
    log.ensure_topic(topic, 2)
    keys = [key_in(0, 2), key_in(1, 2)]
    for part, size in enumerate(sizes):
        log.append(topic, [Record(keys[part], f"p{part}-{i}".encode(), (i + 1) * 1_000) for i in range(size)])
    return keys


def test_retention_by_max_records_keeps_the_newest_and_their_offsets(event_log: EventLog, topic: str) -> None:
    keys = _fill_two_partitions(event_log, topic, (10, 5))

    dropped = event_log.apply_retention(topic, max_age_us=None, max_records=3, now_us=10**12)

    assert dropped == 7 + 2
    assert event_log.start_offsets(topic) == [7, 2]
    assert event_log.end_offsets(topic) == [10, 5]
    assert [(r.offset, r.value) for r in read_all(event_log, topic, 0)] == [(o, f"p0-{o}".encode()) for o in (7, 8, 9)]
    assert [r.offset for r in event_log.read(topic, 1, 0, 100)] == [2, 3, 4]
    [new] = event_log.append(topic, [Record(keys[0], b"new", 1)])
    assert (new.partition, new.offset) == (0, 10)


def test_retention_by_max_age_drops_only_old_records(event_log: EventLog, topic: str) -> None:
    keys = _fill_two_partitions(event_log, topic, (10, 4))  # timestamps 1000, 2000, ...

    dropped = event_log.apply_retention(topic, max_age_us=5_000, max_records=None, now_us=10_500)

    assert dropped == 5 + 4
    assert [r.timestamp_us for r in read_all(event_log, topic, 0)] == [6_000, 7_000, 8_000, 9_000, 10_000]
    assert [r.offset for r in read_all(event_log, topic, 0)] == [5, 6, 7, 8, 9]
    assert read_all(event_log, topic, 1) == []
    assert event_log.start_offsets(topic) == [5, 4]
    assert event_log.end_offsets(topic) == [10, 4]
    [new] = event_log.append(topic, [Record(keys[1], b"new", 20_000)])
    assert (new.partition, new.offset) == (1, 4)


def test_retention_drops_payloads_with_their_records(log_handles: Handles[EventLog], topic: str) -> None:
    log = log_handles.open()
    log.ensure_topic(topic, 2)
    keys = [key_in(0, 2), key_in(1, 2)]
    for part, size in enumerate((8, 3)):
        log.append(topic, [Record(keys[part], b"v", i, payload=f"p{part}-{i}".encode()) for i in range(size)])

    log.apply_retention(topic, max_age_us=None, max_records=2, now_us=10**12)
    log = log_handles.reopen(log)

    assert log.read_payloads(topic, 0, range(8)) == {6: b"p0-6", 7: b"p0-7"}
    assert log.read_payloads(topic, 1, range(3)) == {1: b"p1-1", 2: b"p1-2"}
    log.apply_retention(topic, max_age_us=None, max_records=0, now_us=10**12)
    assert log.read_payloads(topic, 0, range(8)) == {}
    [new] = log.append(topic, [Record(keys[0], b"new", 1, payload=b"fresh")])
    assert log.read_payloads(topic, 0, range(10)) == {new.offset: b"fresh"}


def test_retention_within_limits_drops_nothing(event_log: EventLog, topic: str) -> None:
    _fill_two_partitions(event_log, topic, (3, 2))
    assert event_log.apply_retention(topic, max_age_us=10**9, max_records=5, now_us=10_000) == 0
    assert event_log.start_offsets(topic) == [0, 0]


def test_offsets_are_never_reused_after_retention_empties_a_partition(
    log_handles: Handles[EventLog], topic: str
) -> None:
    log = log_handles.open()
    keys = _fill_two_partitions(log, topic, (6, 3))
    log.apply_retention(topic, max_age_us=None, max_records=0, now_us=10**12)
    log = log_handles.reopen(log)

    assert log.start_offsets(topic) == [6, 3]
    assert log.end_offsets(topic) == [6, 3]
    [new] = log.append(topic, [Record(keys[0], b"new", 1)])
    assert (new.partition, new.offset) == (0, 6)
    assert log.read(topic, 0, 0, 100) == [LogRecord(0, 6, keys[0], b"new", 1)]


# -- property: the log behaves like a dict of lists -------------------------------------


Expected = tuple[str, int | None, int | None]  # status, partition, offset (None: left open)


class LogModel:
    """What a log must hold after a sequence of appends, kept in plain lists."""

    def __init__(self, partitions: int) -> None:
        self.partitions: list[list[tuple[bytes, bytes, int]]] = [[] for _ in range(partitions)]
        self.payloads: list[dict[int, bytes]] = [{} for _ in range(partitions)]
        self.ids: dict[str, tuple[bytes | None, int, int]] = {}

    def append(self, records: list[Record], *, atomic: bool) -> list[Expected]:
        """(status, partition, offset) per record; None where the protocol leaves the position open."""
        first_in_call: dict[str, int] = {}
        plan: list[tuple[str, int | None]] = []  # status, and the index of the first occurrence
        for i, rec in enumerate(records):
            if rec.id is not None and rec.id in self.ids:
                plan.append(("duplicate" if self.ids[rec.id][0] == rec.digest else "conflict", None))
            elif rec.id is not None and rec.id in first_in_call:
                first = first_in_call[rec.id]
                plan.append(("duplicate" if records[first].digest == rec.digest else "conflict", first))
            else:
                if rec.id is not None:
                    first_in_call[rec.id] = i
                plan.append(("appended", None))
        if atomic and any(status == "conflict" for status, _ in plan):
            return [self._aborted(rec, status, first) for rec, (status, first) in zip(records, plan, strict=True)]
        return self._place(records, plan)

    def _aborted(self, rec: Record, status: str, first: int | None) -> Expected:
        if status != "conflict":
            return ("aborted", -1, -1)
        if first is not None:  # the record it conflicts with was not stored either
            return ("conflict", None, None)
        _, part, off = self.ids[rec.id or ""]
        return ("conflict", part, off)

    def _place(self, records: list[Record], plan: list[tuple[str, int | None]]) -> list[Expected]:
        out: list[Expected] = []
        for rec, (status, first) in zip(records, plan, strict=True):
            if status == "appended":
                part = partition_for(rec.key, len(self.partitions))
                offset = len(self.partitions[part])
                self.partitions[part].append((rec.key, rec.value, rec.timestamp_us))
                if rec.payload is not None:
                    self.payloads[part][offset] = rec.payload
                if rec.id is not None:
                    self.ids[rec.id] = (rec.digest, part, offset)
                out.append((status, part, offset))
            elif first is not None:
                out.append((status, out[first][1], out[first][2]))
            else:
                _, part, offset = self.ids[rec.id or ""]
                out.append((status, part, offset))
        return out


records_st = st.builds(
    lambda key, value, ts, rid, digest, payload: Record(
        key, value, ts, rid, digest if rid is not None else None, payload
    ),
    st.sampled_from([b"", b"a", b"b", b"learner-1", b"learner-2", b"\x00\xff"]),
    st.binary(max_size=12),
    st.integers(0, 2**53),
    st.one_of(st.none(), st.sampled_from(["e1", "e2", "e3", "e4"])),
    st.sampled_from([None, b"d1", b"d2"]),
    st.none() | st.binary(max_size=12),
)
appends_st = st.lists(st.tuples(st.lists(records_st, min_size=1, max_size=6), st.booleans()), min_size=1, max_size=8)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(partitions=st.integers(1, 4), appends=appends_st)
def test_any_sequence_of_appends_reads_back_as_the_model(
    event_log: EventLog, partitions: int, appends: list[tuple[list[Record], bool]]
) -> None:
    topic = f"prop-{uuid.uuid4().hex[:12]}"  # one fresh topic per example: examples share the log
    event_log.ensure_topic(topic, partitions)
    model = LogModel(partitions)

    for records, atomic in appends:
        expected = model.append(records, atomic=atomic)
        got = event_log.append(topic, records, atomic=atomic)
        assert len(got) == len(expected)
        for app, (status, part, offset) in zip(got, expected, strict=True):
            assert app.status == status
            if part is not None:
                assert (app.partition, app.offset) == (part, offset)

    for part, stored in enumerate(model.partitions):
        assert read_all(event_log, topic, part) == [
            LogRecord(part, offset, key, value, ts) for offset, (key, value, ts) in enumerate(stored)
        ]
    assert event_log.end_offsets(topic) == [len(stored) for stored in model.partitions]
    assert event_log.start_offsets(topic) == [0] * partitions
    for part, stored in enumerate(model.partitions):
        assert event_log.read_payloads(topic, part, range(len(stored))) == model.payloads[part]
