"""Every vector index backend passes these: the embedded one (SQLite) and pgvector (PostgreSQL)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from edupulse.tutor.chunking import Chunk
from edupulse.tutor.embedder import DIM, Vectors
from edupulse.tutor.index.base import VectorIndex
from edupulse.tutor.index.embedded import EmbeddedIndex
from edupulse.tutor.index.pgvector import PgvectorIndex
from tests.services import postgres_dsn, scratch_schema


def _embedded(place: Path) -> VectorIndex:
    return EmbeddedIndex(place / "tutor.sqlite")


def _pgvector(place: Path) -> VectorIndex:
    schema = scratch_schema("t_" + hashlib.blake2b(str(place.resolve()).encode(), digest_size=8).hexdigest())
    return PgvectorIndex(postgres_dsn(), schema=schema, pool_size=2)


BACKENDS: dict[str, Callable[[Path], VectorIndex]] = {"embedded": _embedded, "pgvector": _pgvector}


@pytest.fixture(params=sorted(BACKENDS))
def opener(request: pytest.FixtureRequest) -> Callable[[Path], VectorIndex]:
    return BACKENDS[request.param]


@pytest.fixture
def index(opener: Callable[[Path], VectorIndex], tmp_path: Path) -> Iterator[VectorIndex]:
    idx = opener(tmp_path)
    yield idx
    idx.close()


def unit(seed: int, n: int = 1) -> Vectors:
    v = np.random.default_rng(seed).standard_normal((n, DIM)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def chunks(source: str, n: int, *, course: str = "c", tenant: str = "t", skill: str = "s") -> list[Chunk]:
    return [Chunk(tenant, course, source, i, ("T",), f"{source} {i}", (skill, f"{skill}-{i % 2}")) for i in range(n)]


def test_search_ranks_by_cosine_best_first(index: VectorIndex) -> None:
    vecs = unit(1, 10)
    index.replace_source("t", "c", "a.md", chunks("a.md", 10), vecs)
    hits = index.search("t", "c", vecs[3], 4)
    assert hits[0].chunk.ordinal == 3
    assert hits[0].score == pytest.approx(1.0, abs=1e-5)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert len(index.search("t", "c", vecs[0], 50)) == 10
    assert index.search("t", "c", vecs[0], 0) == []


def test_reimport_replaces_a_source_and_keeps_others(index: VectorIndex) -> None:
    index.replace_source("t", "c", "a.md", chunks("a.md", 5), unit(1, 5))
    index.replace_source("t", "c", "b.md", chunks("b.md", 3), unit(2, 3))
    index.replace_source("t", "c", "a.md", chunks("a.md", 2), unit(3, 2))
    assert index.count("t", "c") == 5
    sources = sorted(h.chunk.source for h in index.search("t", "c", unit(4)[0], 10))
    assert sources == ["a.md", "a.md", "b.md", "b.md", "b.md"]


def test_courses_and_tenants_are_separate(index: VectorIndex) -> None:
    vec = unit(1, 2)
    index.replace_source("t", "c", "a.md", chunks("a.md", 1), vec[:1])
    index.replace_source("t", "other", "a.md", chunks("a.md", 1, course="other"), vec[1:])
    index.replace_source("u", "c", "a.md", chunks("a.md", 1, tenant="u"), vec[1:])
    hits = index.search("t", "c", vec[1], 10)
    assert [(h.chunk.tenant, h.chunk.course) for h in hits] == [("t", "c")]
    assert index.count("t", "missing") == 0
    assert index.search("t", "missing", vec[0], 5) == []


def test_skill_filter_and_skill_list(index: VectorIndex) -> None:
    index.replace_source("t", "c", "a.md", chunks("a.md", 4, skill="loops"), unit(1, 4))
    index.replace_source("t", "c", "b.md", chunks("b.md", 4, skill="pipes"), unit(2, 4))
    assert index.skills("t", "c") == {"loops", "loops-0", "loops-1", "pipes", "pipes-0", "pipes-1"}
    hits = index.search("t", "c", unit(3)[0], 10, skills=["pipes-1", "nope"])
    assert sorted((h.chunk.source, h.chunk.ordinal) for h in hits) == [("b.md", 1), ("b.md", 3)]
    assert index.search("t", "c", unit(3)[0], 10, skills=[]) == []


def test_passages_round_trip(index: VectorIndex) -> None:
    original = Chunk("t", "c", "dir/a.md", 0, ("Loops", "Nested"), "for x in a b\ndo\n  echo $x\ndone", ("loops",))
    vec = unit(7)
    index.replace_source("t", "c", "dir/a.md", [original], vec)
    (hit,) = index.search("t", "c", vec[0], 1)
    assert hit.chunk == original
    assert hit.chunk.id == original.id


def test_a_second_handle_sees_an_import(
    index: VectorIndex, opener: Callable[[Path], VectorIndex], tmp_path: Path
) -> None:
    other = opener(tmp_path)  # another process's handle on the same index
    try:
        assert other.count("t", "c") == 0  # loads and caches the empty course
        index.replace_source("t", "c", "a.md", chunks("a.md", 3), unit(1, 3))
        assert other.count("t", "c") == 3
    finally:
        other.close()


def test_each_deployment_opens_its_backend(tmp_path: Path) -> None:
    from edupulse.config import Settings  # noqa: PLC0415
    from edupulse.tutor.tutor import open_index  # noqa: PLC0415

    embedded = open_index(Settings(data_dir=tmp_path))
    try:
        assert isinstance(embedded, EmbeddedIndex)
        assert (tmp_path / "tutor.sqlite").exists()
    finally:
        embedded.close()
    schema = scratch_schema("t_tutor_open_index")
    scaleout = open_index(Settings(deployment="scaleout", postgres={"dsn": postgres_dsn(), "schema_name": schema}))
    try:
        assert isinstance(scaleout, PgvectorIndex)
        assert scaleout.schema == schema
    finally:
        scaleout.close()
