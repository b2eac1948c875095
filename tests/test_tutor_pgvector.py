"""pgvector specifics beyond the index contract: the HNSW index is used, filtered scans
still find k passages of a small course, and it ranks the labelled set as the exact search does."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

from edupulse.config import TutorSettings
from edupulse.tutor.chunking import Chunk
from edupulse.tutor.embedder import DIM, MiniLmEmbedder
from edupulse.tutor.evaluate import evaluate, load_labelled
from edupulse.tutor.index.embedded import EmbeddedIndex
from edupulse.tutor.index.matrix import build
from edupulse.tutor.index.pgvector import PgvectorIndex, vector_literal
from edupulse.tutor.tutor import Tutor
from tests.services import postgres_dsn, scratch_schema
from tests.tutor_fixtures import COURSE, DATA, shell_index

__all__ = ["shell_index"]


def _hnsw_only(dsn: str) -> str:
    """Sessions whose planner avoids sorting, so a nearest-neighbour query must use the HNSW index."""
    return make_conninfo(dsn, options="-c enable_sort=off -c enable_seqscan=off")


@pytest.fixture
def hnsw() -> Iterator[PgvectorIndex]:
    index = PgvectorIndex(_hnsw_only(postgres_dsn()), schema=scratch_schema(f"t_pgv_{uuid.uuid4().hex[:12]}"))
    yield index
    index.close()


def _unit(rng: np.random.Generator, n: int) -> np.ndarray:
    v = rng.standard_normal((n, DIM)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_searches_use_the_hnsw_index(hnsw: PgvectorIndex) -> None:
    hnsw.replace_source(
        "t", "c", "a.md", [Chunk("t", "c", "a.md", 0, ("T",), "x", ("s",))], _unit(np.random.default_rng(0), 1)
    )
    query = sql.SQL(
        "EXPLAIN SELECT source FROM {}.tutor_chunks WHERE tenant = %s AND course = %s"
        " ORDER BY embedding OPERATOR(public.<=>) %s::public.vector LIMIT 5"
    ).format(sql.Identifier(hnsw.schema))
    with psycopg.connect(_hnsw_only(postgres_dsn())) as conn:
        plan = "\n".join(r[0] for r in conn.execute(query, ["t", "c", vector_literal(np.ones(DIM))]))
        assert conn.execute("SHOW hnsw.iterative_scan").fetchone() == ("off",)  # not set outside the index
    assert "tutor_chunks_hnsw" in plan
    with hnsw._db.connection("check the settings") as conn:  # the index's own sessions
        assert conn.execute("SHOW hnsw.iterative_scan").fetchone() == ("strict_order",)


def test_a_small_course_among_many_passages_still_gets_k(hnsw: PgvectorIndex) -> None:
    rng = np.random.default_rng(1)
    big = [Chunk("t", "big", "b.md", i, ("B",), f"b{i}", ("s",)) for i in range(600)]
    hnsw.replace_source("t", "big", "b.md", big, _unit(rng, len(big)))
    small_vectors = _unit(rng, 8)
    small = [Chunk("t", "small", "s.md", i, ("S",), f"s{i}", ("s",)) for i in range(8)]
    hnsw.replace_source("t", "small", "s.md", small, small_vectors)
    hits = hnsw.search("t", "small", small_vectors[2], 5)
    assert len(hits) == 5  # an HNSW scan without iterative search returns those of its 40 candidates in the course
    assert hits[0].chunk.ordinal == 2
    assert {h.chunk.course for h in hits} == {"small"}


def test_hnsw_ranks_the_labelled_set_as_the_exact_search_does(shell_index: Path, hnsw: PgvectorIndex) -> None:
    with sqlite3.connect(shell_index) as db:
        rows = db.execute(
            "SELECT source, ordinal, trail, text, skills, vector FROM passages WHERE course = ?"
            " ORDER BY source, ordinal",
            (COURSE,),
        ).fetchall()
    course = build("default", COURSE, 0, rows)
    for source in sorted({c.source for c in course.chunks}):
        mine = [i for i, c in enumerate(course.chunks) if c.source == source]
        hnsw.replace_source("default", COURSE, source, [course.chunks[i] for i in mine], course.matrix[mine])
    embedder = MiniLmEmbedder()
    labelled = load_labelled(DATA / "questions.json")
    exact_index = EmbeddedIndex(shell_index)
    try:
        exact = evaluate(Tutor(TutorSettings(), embedder, exact_index, None), "default", COURSE, labelled)
        approximate = evaluate(Tutor(TutorSettings(), embedder, hnsw, None), "default", COURSE, labelled)
    finally:
        exact_index.close()
    assert approximate == exact
    assert exact.recall_at_k >= 0.65
