"""The StateStore contract: every backend passes this module unchanged."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from edupulse.errors import EdupulseError, FencedError, NotFoundError
from edupulse.stream.store.base import Commit, Lineage, OutboxMessage, Row, StateStore, ViewSpec
from tests.contract.backends import STORE_BACKENDS, Handles

SCORES = ViewSpec(
    "scores",
    key=("course", "learner"),
    columns={"course": "text", "learner": "text", "score": "int", "grade": "real", "tags": "json"},
    indexes=(("course", "score"),),
)
COURSES = ViewSpec("courses", key=("course",), columns={"course": "text", "title": "text"})
VIEWS = [SCORES, COURSES]
LINEAGE_VIEW = ViewSpec("items", key=("id",), columns={"id": "text", "n": "int"})
CODE = Lineage({"edupulse": "0.1.0"}, {})


@pytest.fixture(params=sorted(STORE_BACKENDS))
def store_handles(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Handles[StateStore]]:
    handles: Handles[StateStore] = Handles(STORE_BACKENDS[request.param], tmp_path)
    yield handles
    handles.close_all()


@pytest.fixture
def store(store_handles: Handles[StateStore]) -> StateStore:
    opened = store_handles.open()
    opened.setup(VIEWS)
    return opened


def score(course: str, learner: str, value: int, **extra: Any) -> Row:
    return {"course": course, "learner": learner, "score": value, "grade": None, "tags": None, **extra}


def message(idem: str, payload: bytes = b"{}", topic: str = "alerts") -> OutboxMessage:
    return OutboxMessage(topic=topic, key=f"learner-{idem}", payload=payload, idempotency_key=idem)


def snapshot(store: StateStore) -> dict[str, Any]:
    """Everything a commit can change, as plain values."""
    return {
        "state": {(op, p): store.load_state(op, p) for op in ("op1", "op2") for p in (0, 1)},
        "scores": store.select("scores", {}, order_by="learner"),
        "courses": store.select("courses", {}, order_by="course"),
        "outbox": store.pending_outbox(1000),
        "offsets": store.committed_offsets("events"),
        "last_change": store.last_change(),
        "changes": store.changes_since(0, 1000),
    }


# -- setup and migration ----------------------------------------------------------------


def test_setup_creates_empty_views(store: StateStore) -> None:
    assert store.select("scores", {}) == []
    assert store.count("courses", {}) == 0
    assert store.get("courses", {"course": "c1"}) is None


def test_setup_is_idempotent_and_keeps_rows(store: StateStore) -> None:
    store.commit(Commit("events", 0, 1, views={"scores": [score("c1", "l1", 3)]}))
    store.setup(VIEWS)
    store.setup(VIEWS)

    assert store.select("scores", {}) == [score("c1", "l1", 3)]
    store.commit(Commit("events", 0, 2, views={"scores": [score("c1", "l2", 4)]}))
    assert store.count("scores", {}) == 2


@pytest.mark.parametrize("reopen", [False, True], ids=["same-handle", "after-reopen"])
def test_setup_migrates_additively_new_column_appears(store_handles: Handles[StateStore], reopen: bool) -> None:
    store = store_handles.open()
    store.setup(VIEWS)
    store.commit(Commit("events", 0, 1, views={"scores": [score("c1", "l1", 3)]}))
    if reopen:
        store = store_handles.reopen(store)
    v2 = ViewSpec(SCORES.name, SCORES.key, {**SCORES.columns, "note": "text"}, SCORES.indexes)

    store.setup([v2, COURSES])

    assert store.get("scores", {"course": "c1", "learner": "l1"}) == score("c1", "l1", 3, note=None)
    store.commit(Commit("events", 0, 2, views={"scores": [score("c1", "l2", 5, note="late")]}))
    assert store.select("scores", {"note": "late"}) == [score("c1", "l2", 5, note="late")]
    assert store.count("scores", {}) == 2


# -- commit -----------------------------------------------------------------------------


def test_commit_puts_and_deletes_state_per_operator_and_partition(store: StateStore) -> None:
    store.commit(Commit("events", 0, 5, state={("op1", "a"): b"1", ("op1", "b"): b"2", ("op2", "a"): b"3"}))
    store.commit(Commit("events", 1, 2, state={("op1", "a"): b"p1"}))

    assert store.load_state("op1", 0) == {"a": b"1", "b": b"2"}
    assert store.load_state("op2", 0) == {"a": b"3"}
    assert store.load_state("op1", 1) == {"a": b"p1"}
    assert store.load_state("op2", 1) == {}

    store.commit(Commit("events", 0, 6, state={("op1", "a"): None, ("op1", "b"): b"22", ("op1", "gone"): None}))

    assert store.load_state("op1", 0) == {"b": b"22"}
    assert store.load_state("op1", 1) == {"a": b"p1"}  # same key, other partition: untouched
    assert store.load_state("op2", 0) == {"a": b"3"}


def test_commit_upserts_view_rows_by_key(store: StateStore) -> None:
    store.commit(Commit("events", 0, 1, views={"scores": [score("c1", "l1", 1), score("c1", "l2", 2)]}))
    store.commit(Commit("events", 0, 2, views={"scores": [score("c1", "l1", 10, grade=0.5, tags={"a": [1, 2]})]}))

    assert store.count("scores", {}) == 2
    updated = score("c1", "l1", 10, grade=0.5, tags={"a": [1, 2]})
    assert store.get("scores", {"course": "c1", "learner": "l1"}) == updated
    assert store.get("scores", {"course": "c1", "learner": "l2"}) == score("c1", "l2", 2)
    assert store.get("scores", {"course": "c2", "learner": "l1"}) is None


def test_commit_stores_the_next_offset_per_topic_and_partition(store: StateStore) -> None:
    assert store.committed_offset("events", 0) == 0
    assert store.committed_offsets("events") == {}

    store.commit(Commit("events", 0, 7))
    store.commit(Commit("events", 2, 3))
    store.commit(Commit("other", 0, 100))
    store.commit(Commit("events", 0, 9))

    assert store.committed_offset("events", 0) == 9
    assert store.committed_offset("events", 1) == 0
    assert store.committed_offsets("events") == {0: 9, 2: 3}
    assert store.committed_offsets("other") == {0: 100}


def test_outbox_is_deduplicated_by_idempotency_key(store: StateStore) -> None:
    first, second = message("k1", b"first"), message("k2")
    store.commit(Commit("events", 0, 1, outbox=[first, second, message("k1", b"repeat in commit")]))
    store.commit(Commit("events", 0, 2, outbox=[message("k1", b"retried"), message("k3")]))

    pending = store.pending_outbox(100)

    assert [m for _, m in pending] == [first, second, message("k3")]
    seqs = [s for s, _ in pending]
    assert seqs == sorted(seqs)
    assert len(set(seqs)) == 3


def test_pending_outbox_pages_and_mark_delivered(store: StateStore) -> None:
    store.commit(Commit("events", 0, 1, outbox=[message(f"k{i}") for i in range(5)]))
    [(s0, m0), (s1, m1)] = store.pending_outbox(2)
    assert [m0.idempotency_key, m1.idempotency_key] == ["k0", "k1"]

    store.mark_delivered([s0, s1])

    assert [m.idempotency_key for _, m in store.pending_outbox(100)] == ["k2", "k3", "k4"]
    store.commit(Commit("events", 0, 2, outbox=[message("k0")]))  # delivered keys stay deduplicated
    assert [m.idempotency_key for _, m in store.pending_outbox(100)] == ["k2", "k3", "k4"]
    store.mark_delivered([])
    assert len(store.pending_outbox(100)) == 3


def test_purge_outbox_deletes_only_messages_delivered_before_the_cutoff(store: StateStore) -> None:
    store.commit(Commit("events", 0, 1, outbox=[message(f"k{i}") for i in range(4)]))
    seqs = {m.idempotency_key: s for s, m in store.pending_outbox(100)}
    store.mark_delivered([seqs["k0"], seqs["k1"]])
    delivered_us = time.time_ns() // 1000

    assert store.purge_outbox(delivered_us - 60_000_000) == 0  # delivered within the last minute: kept
    assert store.purge_outbox(delivered_us + 1_000_000) == 2
    assert [m.idempotency_key for _, m in store.pending_outbox(100)] == ["k2", "k3"]  # pending never purged
    store.commit(Commit("events", 0, 2, outbox=[message("k0"), message("k2")]))  # past the window: k0 is new
    assert [m.idempotency_key for _, m in store.pending_outbox(100)] == ["k2", "k3", "k0"]
    assert store.purge_outbox(delivered_us + 1_000_000) == 0


def test_trim_lineage_keeps_every_commit_that_covered_a_retained_offset(store: StateStore) -> None:
    store.setup([*VIEWS, LINEAGE_VIEW])
    for part, start, end, item in ((0, 0, 10, "a"), (0, 10, 20, "b"), (0, 20, 30, "c"), (1, 0, 5, "d")):
        row = {"id": item, "n": end}
        store.commit(Commit("events", part, end, views={"items": [row]}, from_offset=start or None, lineage=CODE))
    store.commit(Commit("other", 0, 7, lineage=CODE))

    assert store.trim_lineage("events", {0: 15, 1: 5}) == 2  # [0, 10) of partition 0 and [0, 5) of partition 1

    def covered(item: str) -> tuple[int, int] | None:
        found = store.row_lineage("items", {"id": item})
        return None if found is None else (found.from_offset, found.to_offset)

    assert [covered(i) for i in "abcd"] == [None, (10, 20), (20, 30), None]
    assert store.trim_lineage("events", {0: 15, 1: 5}) == 0
    assert store.trim_lineage("events", {}) == 0
    assert store.trim_lineage("other", {0: 7}) == 1  # another topic's records were left alone


def _bad_value(row: Row) -> Row:
    return {**row, "title": {"not": "bindable"}}


FAILING_COMMITS: dict[str, tuple[Callable[[], Commit], type[Exception]]] = {
    "unknown view after good rows": (
        lambda: Commit(
            "events",
            0,
            50,
            state={("op1", "a"): b"changed", ("op1", "b"): None, ("op2", "new"): b"x"},
            views={"scores": [score("c1", "l1", 99), score("c9", "l9", 9)], "no_such_view": [{"x": 1}]},
            outbox=[message("new")],
        ),
        NotFoundError,
    ),
    "unstorable view value after good rows": (
        lambda: Commit(
            "events",
            0,
            50,
            state={("op1", "a"): b"changed", ("op1", "b"): None, ("op2", "new"): b"x"},
            views={"scores": [score("c1", "l1", 99)], "courses": [_bad_value({"course": "c1"})]},
            outbox=[message("new")],
        ),
        EdupulseError,
    ),
    "unstorable outbox payload after good rows": (
        lambda: Commit(
            "events",
            0,
            50,
            state={("op1", "a"): b"changed", ("op1", "b"): None},
            views={"scores": [score("c1", "l1", 99)], "courses": [{"course": "c2", "title": "New"}]},
            outbox=[message("new"), OutboxMessage("alerts", "k", {"not": "bytes"}, "bad")],  # type: ignore[arg-type]
        ),
        EdupulseError,
    ),
}


@pytest.mark.parametrize(
    "case",
    [
        "unknown view after good rows",
        "unstorable view value after good rows",
        "unstorable outbox payload after good rows",
    ],
)
def test_a_failed_commit_changes_nothing_and_the_store_stays_usable(store: StateStore, case: str) -> None:
    store.commit(
        Commit(
            "events",
            0,
            10,
            state={("op1", "a"): b"1", ("op1", "b"): b"2"},
            views={"scores": [score("c1", "l1", 1)], "courses": [{"course": "c1", "title": "Intro"}]},
            outbox=[message("old")],
        )
    )
    before = snapshot(store)
    make_commit, error = FAILING_COMMITS[case]

    with pytest.raises(error):
        store.commit(make_commit())

    assert snapshot(store) == before
    store.commit(Commit("events", 0, 11, state={("op1", "c"): b"3"}, views={"scores": [score("c1", "l2", 2)]}))
    assert store.committed_offset("events", 0) == 11
    assert store.load_state("op1", 0) == {"a": b"1", "b": b"2", "c": b"3"}
    assert store.count("scores", {}) == 2


def test_a_commit_from_a_stale_offset_is_fenced_and_changes_nothing(store: StateStore) -> None:
    """Two workers that both think they own a partition: only the one building on what is
    stored may commit; the other's batch is refused whole."""
    store.commit(Commit("events", 0, 10, {("op1", "k"): b"a"}, {"scores": [score("c", "l1", 1)]}, from_offset=0))
    store.commit(Commit("events", 1, 5, from_offset=0))  # another partition has its own offset
    before = snapshot(store)
    stale = Commit("events", 0, 20, {("op1", "k"): b"b"}, {"scores": [score("c", "l1", 2)]}, [message("x")])
    for from_offset in (0, 5, 15):
        stale.from_offset = from_offset
        with pytest.raises(FencedError) as caught:
            store.commit(stale)
        assert caught.value.transient
        assert snapshot(store) == before
    stale.from_offset = 10  # the owner, building on the stored offset
    store.commit(stale)
    assert store.committed_offsets("events") == {0: 20, 1: 5}
    assert store.load_state("op1", 0) == {"k": b"b"}
    with pytest.raises(FencedError):  # a fresh partition starts from 0, nothing else
        store.commit(Commit("events", 2, 3, from_offset=7))
    store.commit(Commit("events", 2, 3, from_offset=0))
    assert store.committed_offsets("events") == {0: 20, 1: 5, 2: 3}


@pytest.mark.parametrize("case", ["unstorable view value after good rows", "unstorable outbox payload after good rows"])
def test_a_commit_that_can_never_be_stored_is_a_terminal_error(store: StateStore, case: str) -> None:
    make_commit, _ = FAILING_COMMITS[case]
    with pytest.raises(EdupulseError) as raised:
        store.commit(make_commit())
    assert raised.value.transient is False


def test_a_failed_commit_is_invisible_after_reopen(store_handles: Handles[StateStore]) -> None:
    store = store_handles.open()
    store.setup(VIEWS)
    store.commit(Commit("events", 0, 10, state={("op1", "a"): b"1"}, views={"scores": [score("c1", "l1", 1)]}))
    before = snapshot(store)
    make_commit, error = FAILING_COMMITS["unstorable outbox payload after good rows"]
    with pytest.raises(error):
        store.commit(make_commit())

    store = store_handles.reopen(store)
    store.setup(VIEWS)

    assert snapshot(store) == before


def test_a_view_row_without_its_key_is_refused(store: StateStore) -> None:
    store.commit(Commit("events", 0, 1, state={("op1", "a"): b"1"}))
    before = snapshot(store)

    with pytest.raises(EdupulseError):
        store.commit(Commit("events", 0, 2, views={"scores": [{"course": "c1", "score": 5}]}))

    assert snapshot(store) == before


# -- serving queries --------------------------------------------------------------------


@pytest.fixture
def filled(store: StateStore) -> StateStore:
    """20 learners in c1 with scores 0..3 (many ties), 5 in c2."""
    rows = [score("c1", f"l{i:02d}", i % 4, grade=i / 10) for i in range(20)]
    rows += [score("c2", f"l{i:02d}", 10 + i) for i in range(5)]
    store.commit(Commit("events", 0, 1, views={"scores": rows[:12]}))
    store.commit(Commit("events", 0, 2, views={"scores": rows[12:]}))
    return store


def test_get_by_full_key(filled: StateStore) -> None:
    assert filled.get("scores", {"course": "c1", "learner": "l07"}) == score("c1", "l07", 3, grade=0.7)
    assert filled.get("scores", {"course": "c2", "learner": "l07"}) is None


def test_select_with_equality_filters(filled: StateStore) -> None:
    rows = filled.select("scores", {"course": "c1", "score": 2})
    assert sorted(r["learner"] for r in rows) == ["l02", "l06", "l10", "l14", "l18"]
    assert all(r["course"] == "c1" and r["score"] == 2 for r in rows)
    assert len(filled.select("scores", {})) == 25
    assert filled.select("scores", {"course": "c3"}) == []


@pytest.mark.parametrize("descending", [False, True])
def test_select_orders_by_a_column(filled: StateStore, descending: bool) -> None:
    rows = filled.select("scores", {"course": "c2"}, order_by="score", descending=descending)
    expected = [f"l{i:02d}" for i in range(5)]
    assert [r["learner"] for r in rows] == (expected[::-1] if descending else expected)


@pytest.mark.parametrize("descending", [False, True])
def test_paging_with_ties_is_stable_and_complete(filled: StateStore, descending: bool) -> None:
    full = filled.select("scores", {"course": "c1"}, order_by="score", descending=descending)
    pages = [
        filled.select("scores", {"course": "c1"}, order_by="score", descending=descending, limit=6, offset=start)
        for start in range(0, 24, 6)
    ]

    assert [len(p) for p in pages] == [6, 6, 6, 2]
    assert [r for page in pages for r in page] == full
    assert sorted(r["learner"] for r in full) == [f"l{i:02d}" for i in range(20)]
    scores = [r["score"] for r in full]
    assert scores == sorted(scores, reverse=descending)
    assert filled.select("scores", {"course": "c1"}, order_by="score", descending=descending) == full


def test_limit_and_offset(filled: StateStore) -> None:
    assert len(filled.select("scores", {"course": "c1"}, limit=7)) == 7
    tail = filled.select("scores", {"course": "c1"}, order_by="learner", offset=17)
    assert [r["learner"] for r in tail] == ["l17", "l18", "l19"]
    assert filled.select("scores", {"course": "c1"}, order_by="learner", limit=0) == []


def test_count_with_filters_and_lower_bounds(filled: StateStore) -> None:
    assert filled.count("scores", {}) == 25
    assert filled.count("scores", {"course": "c1"}) == 20
    assert filled.count("scores", {"course": "c1"}, at_least={"score": 2}) == 10
    assert filled.count("scores", {"course": "c1"}, at_least={"score": 2, "grade": 1.0}) == 6
    assert filled.count("scores", {}, at_least={"score": 12}) == 3
    assert filled.count("scores", {"course": "c1", "score": 3}) == 5


def test_count_distinct(filled: StateStore) -> None:
    assert filled.count_distinct("scores", ["course"]) == 2
    assert filled.count_distinct("scores", ["score"]) == 4 + 5
    assert filled.count_distinct("scores", ["course", "score"]) == 4 + 5
    assert filled.count_distinct("scores", ["learner"]) == 20
    assert filled.count_distinct("scores", ["course", "learner"]) == 25


UNKNOWN_NAMES: dict[str, Callable[[StateStore], Any]] = {
    "get unknown view": lambda s: s.get("nope", {"course": "c1"}),
    "select unknown view": lambda s: s.select("nope", {}),
    "count unknown view": lambda s: s.count("nope", {}),
    "count_distinct unknown view": lambda s: s.count_distinct("nope", ["course"]),
    "get unknown column": lambda s: s.get("scores", {"course": "c1", "nope": "x"}),
    "select where unknown column": lambda s: s.select("scores", {"nope": 1}),
    "select order_by unknown column": lambda s: s.select("scores", {}, order_by="nope"),
    "count where unknown column": lambda s: s.count("scores", {"nope": 1}),
    "count at_least unknown column": lambda s: s.count("scores", {}, at_least={"nope": 1}),
    "count_distinct unknown column": lambda s: s.count_distinct("scores", ["course", "nope"]),
}


@pytest.mark.parametrize("call", list(UNKNOWN_NAMES))
def test_unknown_view_or_column_raises_not_found(filled: StateStore, call: str) -> None:
    with pytest.raises(NotFoundError):
        UNKNOWN_NAMES[call](filled)


# -- change feed ------------------------------------------------------------------------


def test_changes_are_numbered_in_commit_order(store: StateStore) -> None:
    start = store.last_change()
    assert store.changes_since(start, 100) == []
    store.commit(Commit("events", 0, 1, views={"scores": [score("c1", "l1", 1), score("c1", "l2", 2)]}))
    store.commit(Commit("events", 1, 1, views={"courses": [{"course": "c1", "title": "Intro"}]}))
    store.commit(Commit("events", 0, 2, views={"scores": [score("c1", "l1", 5, tags=["x"])]}))

    changes = store.changes_since(start, 100)

    assert [(c.view, c.row) for c in changes] == [
        ("scores", score("c1", "l1", 1)),
        ("scores", score("c1", "l2", 2)),
        ("courses", {"course": "c1", "title": "Intro"}),
        ("scores", score("c1", "l1", 5, tags=["x"])),
    ]
    seqs = [c.seq for c in changes]
    assert seqs == sorted(seqs)
    assert len(set(seqs)) == 4
    assert store.last_change() == seqs[-1]
    assert store.changes_since(seqs[1], 1) == [changes[2]]
    assert store.changes_since(seqs[-1], 100) == []


def test_commits_without_view_rows_add_no_changes(store: StateStore) -> None:
    before = store.last_change()
    store.commit(Commit("events", 0, 1, state={("op1", "a"): b"1"}, outbox=[message("k")]))
    assert store.last_change() == before


# -- durability -------------------------------------------------------------------------


def test_everything_survives_close_and_reopen(store_handles: Handles[StateStore]) -> None:
    store = store_handles.open()
    store.setup(VIEWS)
    store.commit(
        Commit(
            "events",
            0,
            10,
            state={("op1", "a"): b"1", ("op2", "b"): b"2"},
            views={"scores": [score("c1", "l1", 1, tags={"t": 1})], "courses": [{"course": "c1", "title": "Intro"}]},
            outbox=[message("k1"), message("k2")],
        )
    )
    store.commit(Commit("events", 1, 4, state={("op1", "a"): b"p1"}, views={"scores": [score("c1", "l2", 2)]}))
    [(delivered, _), _] = store.pending_outbox(100)
    store.mark_delivered([delivered])
    before = snapshot(store)

    store = store_handles.reopen(store)
    store.setup(VIEWS)

    assert snapshot(store) == before
    assert [m.idempotency_key for _, m in store.pending_outbox(100)] == ["k2"]
    store.commit(Commit("events", 0, 11, views={"scores": [score("c1", "l3", 3)]}, outbox=[message("k1")]))
    assert store.last_change() > before["last_change"]
    assert [m.idempotency_key for _, m in store.pending_outbox(100)] == ["k2"]


# -- erasure ----------------------------------------------------------------------------


def test_erase_learner_deletes_every_row_naming_them_and_nothing_else(store: StateStore) -> None:
    gone, kept = "p-gone7q4xk2m5n3b6v8c9d0f1g", "p-kept7q4xk2m5n3b6v8c9d0f1g"
    state: dict[tuple[str, str], bytes | None] = {
        ("op1", f"t\x1fc1\x1f{gone}"): b"g",
        ("op1", f"t\x1fc1\x1f{kept}"): b"k",
        ("op1", "\x00watermark"): b"1",
    }
    views = {"scores": [score("c1", gone, 1), score("c1", kept, 2)], "courses": [{"course": "c1", "title": "T"}]}
    outbox = [message("a", f'{{"learner": "{gone}"}}'.encode()), message("b", f'{{"learner": "{kept}"}}'.encode())]
    store.commit(Commit("events", 0, 5, state=state, views=views, outbox=outbox))
    before = snapshot(store)

    erased = store.erase_learner(gone)

    assert (erased.views, erased.state, erased.changes, erased.outbox) == (1, 1, 1, 1)
    after = snapshot(store)
    assert after["state"][("op1", 0)] == {f"t\x1fc1\x1f{kept}": b"k", "\x00watermark": b"1"}
    assert after["scores"] == [score("c1", kept, 2)]
    assert after["courses"] == before["courses"]
    assert [m.idempotency_key for _, m in after["outbox"]] == ["b"]
    assert [c.row.get("learner") for c in after["changes"] if c.view == "scores"] == [kept]
    assert after["offsets"] == before["offsets"]
    assert store.erase_learner(gone).total == 0  # idempotent
