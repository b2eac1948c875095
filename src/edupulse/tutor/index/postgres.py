"""The scale-out vector index: passages in PostgreSQL, shared by every API process.

Passages (with their float32 vectors as ``bytea``) live in ``<schema>.tutor_passages``
and a generation number in ``<schema>.tutor_generation``, bumped in the same
transaction as each import; every process searches its in-memory copy of a course
(:mod:`edupulse.tutor.index.matrix`) and reloads it when the generation moved. No
PostgreSQL extension is needed (pgvector is not packaged for this Debian release; see
docs/tutor.md).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from contextlib import AbstractContextManager
from typing import Any

import psycopg

from edupulse.postgres import Migration, SchemaPool, check_schema
from edupulse.tutor.chunking import Chunk
from edupulse.tutor.embedder import Vectors
from edupulse.tutor.index.base import Hit
from edupulse.tutor.index.matrix import MatrixCache, PassageRow, encode_row

__all__ = ["PostgresIndex"]

MIGRATIONS = (
    Migration(
        1,
        "tutor passages",
        "CREATE TABLE {schema}.tutor_passages (tenant text NOT NULL, course text NOT NULL, source text NOT NULL,"
        " ordinal int NOT NULL, trail text NOT NULL, text text NOT NULL, skills text NOT NULL,"
        " vector bytea NOT NULL, PRIMARY KEY (tenant, course, source, ordinal));"
        " CREATE TABLE {schema}.tutor_generation (id int PRIMARY KEY CHECK (id = 0), n bigint NOT NULL);"
        " INSERT INTO {schema}.tutor_generation VALUES (0, 0)",
    ),
)


class PostgresIndex:
    """A :class:`~edupulse.tutor.index.base.VectorIndex` in one schema of a PostgreSQL database."""

    def __init__(self, dsn: str, *, schema: str = "edupulse", pool_size: int = 2, timeout_s: float = 10.0) -> None:
        self.dsn = dsn
        self.schema = check_schema(schema)
        self._passages = f'"{schema}".tutor_passages'
        self._generation_table = f'"{schema}".tutor_generation'
        self._db = SchemaPool(
            dsn,
            schema=self.schema,
            component="tutor",
            migrations=MIGRATIONS,
            setting_up="set up the tutor's tables",
            pool_size=pool_size,
            timeout_s=timeout_s,
        )
        self._cache = MatrixCache(self._generation, self._rows)

    def _connection(self, doing: str) -> AbstractContextManager[psycopg.Connection[Any]]:
        return self._db.connection(doing)

    def _generation(self) -> int:
        with self._connection("read the tutor's generation") as conn:
            row = conn.execute(f"SELECT n FROM {self._generation_table}".encode()).fetchone()
        return int(row[0]) if row else 0

    def _rows(self, tenant: str, course: str) -> Sequence[PassageRow]:
        query = (
            f"SELECT source, ordinal, trail, text, skills, vector FROM {self._passages}"
            " WHERE tenant = %s AND course = %s ORDER BY source, ordinal"
        )
        with self._connection("load a course's passages") as conn:
            return conn.execute(query.encode(), [tenant, course]).fetchall()

    def replace_source(self, tenant: str, course: str, source: str, chunks: Sequence[Chunk], vectors: Vectors) -> None:
        rows = [(tenant, course, *encode_row(c, v)) for c, v in zip(chunks, vectors, strict=True)]
        with self._connection("store a document's passages") as conn, conn.transaction():
            conn.execute(
                f"DELETE FROM {self._passages} WHERE tenant = %s AND course = %s AND source = %s".encode(),
                [tenant, course, source],
            )
            with conn.cursor() as cur:
                cur.executemany(f"INSERT INTO {self._passages} VALUES (%s, %s, %s, %s, %s, %s, %s, %s)".encode(), rows)
            conn.execute(f"UPDATE {self._generation_table} SET n = n + 1".encode())

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
        self._db.close()
