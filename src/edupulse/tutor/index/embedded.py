"""The embedded vector index: passages in a SQLite file, searched by brute force.

A course's vectors are held in memory as one normalised float32 matrix, loaded on the
first search and reloaded when the file changed (SQLite's ``data_version``, so an
import by another process is seen). A course of a few thousand passages is searched
by one matrix-vector product, on one BLAS thread: a product this small gains nothing
from more, and on a busy machine waiting for them cost 20x (bench/tutor.py).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from threadpoolctl import ThreadpoolController

from edupulse.tutor.chunking import Chunk
from edupulse.tutor.embedder import DIM, Vectors
from edupulse.tutor.index.base import Hit

__all__ = ["EmbeddedIndex"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS passages (
    tenant TEXT NOT NULL, course TEXT NOT NULL, source TEXT NOT NULL, ordinal INTEGER NOT NULL,
    trail TEXT NOT NULL, text TEXT NOT NULL, skills TEXT NOT NULL, vector BLOB NOT NULL,
    PRIMARY KEY (tenant, course, source, ordinal)
);
CREATE TABLE IF NOT EXISTS generation (id INTEGER PRIMARY KEY CHECK (id = 0), n INTEGER NOT NULL);
INSERT OR IGNORE INTO generation VALUES (0, 0);
"""


@dataclass(slots=True)
class _Course:
    generation: int
    chunks: list[Chunk]
    matrix: Vectors
    skill_masks: dict[str, np.ndarray]


class EmbeddedIndex:
    """A :class:`~edupulse.tutor.index.base.VectorIndex` in one SQLite file."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()
        self._courses: dict[tuple[str, str], _Course] = {}
        self._blas = ThreadpoolController()

    def replace_source(self, tenant: str, course: str, source: str, chunks: Sequence[Chunk], vectors: Vectors) -> None:
        rows = [
            (tenant, course, source, c.ordinal, json.dumps(c.trail), c.text, json.dumps(c.skills), v.tobytes())
            for c, v in zip(chunks, np.asarray(vectors, dtype=np.float32), strict=True)
        ]
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute(
                    "DELETE FROM passages WHERE tenant = ? AND course = ? AND source = ?", (tenant, course, source)
                )
                self._db.executemany("INSERT INTO passages VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
                self._db.execute("UPDATE generation SET n = n + 1")
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def _course(self, tenant: str, course: str) -> _Course:
        with self._lock:
            (generation,) = self._db.execute("SELECT n FROM generation").fetchone()
            cached = self._courses.get((tenant, course))
            if cached is not None and cached.generation == generation:
                return cached
            rows = self._db.execute(
                "SELECT source, ordinal, trail, text, skills, vector FROM passages"
                " WHERE tenant = ? AND course = ? ORDER BY source, ordinal",
                (tenant, course),
            ).fetchall()
        chunks = [
            Chunk(tenant, course, src, ordinal, tuple(json.loads(trail)), text, tuple(json.loads(skills)))
            for src, ordinal, trail, text, skills, _ in rows
        ]
        packed = np.frombuffer(b"".join(r[5] for r in rows), dtype=np.float32).reshape(len(rows), DIM)
        matrix = packed.copy()  # owned and aligned, as BLAS wants it
        masks: dict[str, np.ndarray] = {}
        for i, chunk in enumerate(chunks):
            for skill in chunk.skills:
                masks.setdefault(skill, np.zeros(len(chunks), dtype=bool))[i] = True
        loaded = _Course(generation, chunks, matrix, masks)
        with self._lock:
            self._courses[(tenant, course)] = loaded
        return loaded

    def search(
        self,
        tenant: str,
        course: str,
        vector: Vectors,
        k: int,
        *,
        skills: Collection[str] | None = None,
    ) -> list[Hit]:
        data = self._course(tenant, course)
        if not data.chunks or k <= 0:
            return []
        with self._blas.limit(limits=1, user_api="blas"):
            scores = data.matrix @ np.asarray(vector, dtype=np.float32).reshape(-1)
        if skills is not None:
            mask = np.zeros(len(data.chunks), dtype=bool)
            for skill in skills:
                if skill in data.skill_masks:
                    mask |= data.skill_masks[skill]
            scores = np.where(mask, scores, -np.inf)
        k = min(k, len(data.chunks))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [Hit(data.chunks[i], float(scores[i])) for i in top if np.isfinite(scores[i])]

    def skills(self, tenant: str, course: str) -> set[str]:
        return set(self._course(tenant, course).skill_masks)

    def count(self, tenant: str, course: str) -> int:
        return len(self._course(tenant, course).chunks)

    def close(self) -> None:
        with self._lock:
            self._db.close()
