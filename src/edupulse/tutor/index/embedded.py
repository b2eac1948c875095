"""The embedded vector index: passages in a SQLite file, searched in memory.

SQLite holds the passages and a generation number bumped by every import; searches
run on the course's matrix in memory (:mod:`edupulse.tutor.index.matrix`), reloaded when
the generation moved, so an import by another process is seen.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Collection, Sequence
from pathlib import Path

from edupulse.sqlite_tx import immediate
from edupulse.tutor.chunking import Chunk
from edupulse.tutor.embedder import Vectors
from edupulse.tutor.index.base import Hit
from edupulse.tutor.index.matrix import MatrixCache, PassageRow, encode_row

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


class EmbeddedIndex:
    """A :class:`~edupulse.tutor.index.base.VectorIndex` in one SQLite file."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()
        self._cache = MatrixCache(self._generation, self._rows)

    def _generation(self) -> int:
        with self._lock:
            (n,) = self._db.execute("SELECT n FROM generation").fetchone()
        return int(n)

    def _rows(self, tenant: str, course: str) -> Sequence[PassageRow]:
        with self._lock:
            return self._db.execute(
                "SELECT source, ordinal, trail, text, skills, vector FROM passages"
                " WHERE tenant = ? AND course = ? ORDER BY source, ordinal",
                (tenant, course),
            ).fetchall()

    def replace_source(self, tenant: str, course: str, source: str, chunks: Sequence[Chunk], vectors: Vectors) -> None:
        rows = [(tenant, course, *encode_row(c, v)) for c, v in zip(chunks, vectors, strict=True)]
        with self._lock, immediate(self._db) as cur:
            cur.execute("DELETE FROM passages WHERE tenant = ? AND course = ? AND source = ?", (tenant, course, source))
            cur.executemany("INSERT INTO passages VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
            cur.execute("UPDATE generation SET n = n + 1")

    def search(
        self,
        tenant: str,
        course: str,
        vector: Vectors,
        k: int,
        *,
        skills: Collection[str] | None = None,
    ) -> list[Hit]:
        return self._cache.search(tenant, course, vector, k, skills)

    def skills(self, tenant: str, course: str) -> set[str]:
        return set(self._cache.course(tenant, course).skill_masks)

    def count(self, tenant: str, course: str) -> int:
        return len(self._cache.course(tenant, course).chunks)

    def close(self) -> None:
        with self._lock:
            self._db.close()
