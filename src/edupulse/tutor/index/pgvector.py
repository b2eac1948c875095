"""The scale-out vector index: passages in PostgreSQL, searched in SQL by pgvector.

Passages live in ``<schema>.tutor_chunks`` with their unit vectors in a ``vector(384)``
column under an HNSW index with cosine ops; a search is one query, filtered to the
course (and skills) in SQL, so API processes keep nothing in memory. Filtered HNSW
scans run with ``hnsw.iterative_scan = strict_order``: the scan goes on until ``k``
passages of the course are found, however small a part of the table the course is.

The extension must be installed on the server (scripts/services/pgvector.sh builds it
for Debian's PostgreSQL); it is created, once per database, in ``public``.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

import numpy as np
import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from edupulse.errors import ConfigError
from edupulse.postgres import Migration, SchemaPool, check_schema, describe, translate
from edupulse.tutor.chunking import Chunk
from edupulse.tutor.embedder import DIM, Vectors
from edupulse.tutor.index.base import Hit

__all__ = ["PgvectorIndex", "vector_literal"]

_V1_BYTEA = (
    "CREATE TABLE {schema}.tutor_passages (tenant text NOT NULL, course text NOT NULL, source text NOT NULL,"
    " ordinal int NOT NULL, trail text NOT NULL, text text NOT NULL, skills text NOT NULL,"
    " vector bytea NOT NULL, PRIMARY KEY (tenant, course, source, ordinal));"
    " CREATE TABLE {schema}.tutor_generation (id int PRIMARY KEY CHECK (id = 0), n bigint NOT NULL);"
    " INSERT INTO {schema}.tutor_generation VALUES (0, 0)"
)
# Step 2 replaces the bytea tables of step 1 (searched in the API process): content
# imported before it must be imported again.
_V2_PGVECTOR = (
    "DROP TABLE {schema}.tutor_passages; DROP TABLE {schema}.tutor_generation;"
    " CREATE TABLE {schema}.tutor_chunks (tenant text NOT NULL, course text NOT NULL, source text NOT NULL,"
    " ordinal int NOT NULL, trail text[] NOT NULL, text text NOT NULL, skills text[] NOT NULL,"
    f" embedding @ext.vector({DIM}) NOT NULL, PRIMARY KEY (tenant, course, source, ordinal));"
    " CREATE INDEX tutor_chunks_hnsw ON {schema}.tutor_chunks USING hnsw (embedding @ext.vector_cosine_ops)"
)
# Step 3: one row per course with its skills and passage count, kept by each import, so
# a retrieval reads them by key instead of scanning the course's passages.
_V3_COURSES = (
    "CREATE TABLE {schema}.tutor_courses (tenant text NOT NULL, course text NOT NULL, skills text[] NOT NULL,"
    " passages int NOT NULL, PRIMARY KEY (tenant, course));"
    " INSERT INTO {schema}.tutor_courses SELECT tenant, course,"
    " ARRAY(SELECT DISTINCT s FROM {schema}.tutor_chunks i, unnest(i.skills) s"
    " WHERE i.tenant = c.tenant AND i.course = c.course ORDER BY s), count(*)"
    " FROM {schema}.tutor_chunks c GROUP BY tenant, course"
)
_SUMMARY = (
    "INSERT INTO {table_courses} SELECT %(t)s, %(c)s,"
    " ARRAY(SELECT DISTINCT s FROM {table}, unnest(skills) s WHERE tenant = %(t)s AND course = %(c)s ORDER BY s),"
    " (SELECT count(*) FROM {table} WHERE tenant = %(t)s AND course = %(c)s)"
    " ON CONFLICT (tenant, course) DO UPDATE SET skills = excluded.skills, passages = excluded.passages"
)
_SEARCH = (
    "SELECT source, ordinal, trail, text, skills, 1 - (embedding {distance} %(q)s::{vector}) FROM {table}"
    " WHERE tenant = %(t)s AND course = %(c)s ORDER BY embedding {distance} %(q)s::{vector} LIMIT %(k)s"
)
_SEARCH_SKILLS = _SEARCH.replace("course = %(c)s", "course = %(c)s AND skills && %(s)s::text[]")
_LOCK = "SELECT pg_advisory_xact_lock(hashtextextended('edupulse.extension.vector', 0))"
_INSTALL_HINT = (
    "install pgvector on that server: scripts/services/pgvector.sh (Debian), or your distribution's or "
    "cloud provider's pgvector package"
)


def vector_literal(vector: Vectors) -> str:
    """pgvector's text form of one vector: ``[x1,x2,...]`` (9 significant digits round-trip a float32)."""
    values = np.asarray(vector, dtype=np.float32).reshape(DIM)
    return "[" + ",".join(f"{x:.9g}" for x in values.tolist()) + "]"


def _extension_schema(dsn: str, timeout_s: float) -> str:
    """The schema of the ``vector`` extension, created in ``public`` if missing."""
    try:
        with (
            psycopg.connect(dsn, autocommit=True, connect_timeout=max(1, round(timeout_s))) as conn,
            conn.transaction(),
        ):
            conn.execute(_LOCK)  # databases shared by deployments: one CREATE EXTENSION at a time
            row = conn.execute(
                "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace"
                " WHERE e.extname = 'vector'"
            )
            found = row.fetchone()
            if found is not None:
                return str(found[0])
            if conn.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'vector'").fetchone() is None:
                raise ConfigError(f"PostgreSQL at {describe(dsn)} has no pgvector extension: {_INSTALL_HINT}")
            conn.execute("CREATE EXTENSION vector WITH SCHEMA public")
            return "public"
    except psycopg.Error as exc:
        raise translate(exc, "set up the pgvector extension", dsn) from exc


def _with_hnsw_options(dsn: str, ef_search: int) -> str:
    """The DSN, its sessions set to search filtered HNSW scans until ``k`` rows are found."""
    extra = f"-c hnsw.iterative_scan=strict_order -c hnsw.ef_search={ef_search}"
    options = conninfo_to_dict(dsn).get("options")
    return make_conninfo(dsn, options=f"{options} {extra}" if options else extra)


class PgvectorIndex:
    """A :class:`~edupulse.tutor.index.base.VectorIndex` in one schema, searched by pgvector."""

    def __init__(
        self,
        dsn: str,
        *,
        schema: str = "edupulse",
        ef_search: int = 40,
        pool_size: int = 2,
        timeout_s: float = 10.0,
    ) -> None:
        self.dsn = dsn
        self.schema = check_schema(schema)
        ext = _extension_schema(dsn, timeout_s)
        self._names: dict[str, sql.Composable] = {
            "table": sql.Identifier(self.schema, "tutor_chunks"),
            "table_courses": sql.Identifier(self.schema, "tutor_courses"),
            "vector": sql.SQL("{}.vector").format(sql.Identifier(ext)),
            "distance": sql.SQL("OPERATOR({}.<=>)").format(sql.Identifier(ext)),
        }
        steps = (
            Migration(1, "tutor passages", _V1_BYTEA),
            Migration(2, "pgvector", _V2_PGVECTOR.replace("@ext", sql.Identifier(ext).as_string())),
            Migration(3, "tutor courses", _V3_COURSES),
        )
        self._db = SchemaPool(
            _with_hnsw_options(dsn, ef_search),
            schema=self.schema,
            component="tutor",
            migrations=steps,
            setting_up="set up the tutor's tables",
            pool_size=pool_size,
            timeout_s=timeout_s,
        )

    def _sql(self, template: str) -> sql.Composed:
        return sql.SQL(template).format(**self._names)

    def replace_source(self, tenant: str, course: str, source: str, chunks: Sequence[Chunk], vectors: Vectors) -> None:
        rows = [
            (tenant, course, source, c.ordinal, list(c.trail), c.text, list(c.skills), vector_literal(v))
            for c, v in zip(chunks, vectors, strict=True)
        ]
        delete = self._sql("DELETE FROM {table} WHERE tenant = %s AND course = %s AND source = %s")
        insert = self._sql("INSERT INTO {table} VALUES (%s, %s, %s, %s, %s, %s, %s, %s::{vector})")
        where = {"t": tenant, "c": course}
        with self._db.connection("store a document's passages") as conn, conn.transaction():
            # Imports into one course, one at a time: each sees the others' passages in its summary.
            conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [f"{tenant}\x1f{course}"])
            conn.execute(delete, [tenant, course, source])
            with conn.cursor() as cur:
                cur.executemany(insert, rows)
            conn.execute(self._sql(_SUMMARY), where)
        with self._db.connection("update the statistics of the tutor's passages") as conn:
            # Without statistics the planner reads a whole course through the primary key and
            # sorts it (7 ms over 5,000 passages) instead of using the HNSW index (1 ms); the
            # model's embedding of the passages cost far more than this.
            conn.execute(self._sql("ANALYZE {table}"))

    def search(
        self,
        tenant: str,
        course: str,
        vector: Vectors,
        k: int,
        *,
        skills: Collection[str] | None = None,
    ) -> list[Hit]:
        if k <= 0 or (skills is not None and not skills):
            return []
        params: dict[str, Any] = {"t": tenant, "c": course, "q": vector_literal(vector), "k": k}
        query = _SEARCH
        if skills is not None:
            query, params["s"] = _SEARCH_SKILLS, list(skills)
        with self._db.connection("search the tutor's passages") as conn:
            # Planned for its values each time: a generic plan (a prepared statement's) cannot
            # tell a small course from a large one and sorts the whole course instead of using HNSW.
            rows = conn.execute(self._sql(query), params, prepare=False).fetchall()
        return [
            Hit(Chunk(tenant, course, src, ordinal, tuple(trail), text, tuple(tags)), float(score))
            for src, ordinal, trail, text, tags, score in rows
        ]

    def skills(self, tenant: str, course: str) -> set[str]:
        return set(self._course(tenant, course)[0])

    def count(self, tenant: str, course: str) -> int:
        return self._course(tenant, course)[1]

    def _course(self, tenant: str, course: str) -> tuple[list[str], int]:
        query = self._sql("SELECT skills, passages FROM {table_courses} WHERE tenant = %s AND course = %s")
        with self._db.connection("read a course's summary") as conn:
            row = conn.execute(query, [tenant, course]).fetchone()
        return (list(row[0]), int(row[1])) if row else ([], 0)

    def close(self) -> None:
        self._db.close()
