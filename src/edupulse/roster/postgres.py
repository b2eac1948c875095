"""The roster and audit log in PostgreSQL (scale-out), in the deployment's schema.

Migrations are those of component ``roster``; the audit log refuses UPDATE and DELETE
with a trigger, so even the application's own role cannot rewrite it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import psycopg

from edupulse.postgres import Migration, SchemaPool, check_schema
from edupulse.roster.base import SqlRoster

__all__ = ["PostgresRoster"]

MIGRATIONS = (
    Migration(
        1,
        "roster and audit log",
        "CREATE TABLE {schema}.roster_users (tenant text NOT NULL, sourced_id text NOT NULL, role text NOT NULL,"
        " username text NOT NULL, identifier text NOT NULL, given_name text NOT NULL, family_name text NOT NULL,"
        " email text NOT NULL, PRIMARY KEY (tenant, sourced_id));"
        " CREATE INDEX ON {schema}.roster_users (tenant, username);"
        " CREATE TABLE {schema}.roster_courses (tenant text NOT NULL, sourced_id text NOT NULL, title text NOT NULL,"
        " course_code text NOT NULL, PRIMARY KEY (tenant, sourced_id));"
        " CREATE TABLE {schema}.roster_classes (tenant text NOT NULL, sourced_id text NOT NULL, title text NOT NULL,"
        " course_sourced_id text NOT NULL, class_code text NOT NULL, PRIMARY KEY (tenant, sourced_id));"
        " CREATE TABLE {schema}.roster_enrollments (tenant text NOT NULL, sourced_id text NOT NULL,"
        " class_sourced_id text NOT NULL, user_sourced_id text NOT NULL, role text NOT NULL,"
        " PRIMARY KEY (tenant, sourced_id));"
        " CREATE INDEX ON {schema}.roster_enrollments (tenant, user_sourced_id);"
        " CREATE INDEX ON {schema}.roster_enrollments (tenant, class_sourced_id);"
        " CREATE TABLE {schema}.roster_agents (tenant text NOT NULL, user_sourced_id text NOT NULL,"
        " agent_sourced_id text NOT NULL, PRIMARY KEY (tenant, user_sourced_id, agent_sourced_id));"
        " CREATE INDEX ON {schema}.roster_agents (tenant, agent_sourced_id);"
        " CREATE TABLE {schema}.audit_log (seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
        " at_us bigint NOT NULL, tenant text NOT NULL, actor text NOT NULL, roles text NOT NULL,"
        " action text NOT NULL, subject text NOT NULL, purpose text NOT NULL, kind text NOT NULL);"
        " CREATE FUNCTION {schema}.audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS"
        " $$ BEGIN RAISE EXCEPTION 'the audit log is append-only'; END $$;"
        " CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON {schema}.audit_log"
        " FOR EACH STATEMENT EXECUTE FUNCTION {schema}.audit_log_append_only();",
    ),
    Migration(
        2,
        "the learner keys events give a user (LMS accounts)",
        "ALTER TABLE {schema}.roster_users ADD COLUMN lms_ids text NOT NULL DEFAULT '';",
    ),
)


class PostgresRoster(SqlRoster):
    """The roster tables and audit log in one schema of a PostgreSQL database."""

    def __init__(self, dsn: str, *, schema: str = "edupulse", pool_size: int = 2, timeout_s: float = 10.0) -> None:
        self.dsn = dsn
        self.schema = check_schema(schema)
        self.prefix = f'"{schema}".'
        self._db = SchemaPool(
            dsn,
            schema=self.schema,
            component="roster",
            migrations=MIGRATIONS,
            setting_up="set up the roster tables",
            pool_size=pool_size,
            timeout_s=timeout_s,
        )

    def _connection(self, doing: str) -> AbstractContextManager[psycopg.Connection[Any]]:
        return self._db.connection(doing)

    @contextmanager
    def _transaction(self) -> Iterator[psycopg.Cursor[Any]]:
        with self._connection("write the roster") as conn, conn.transaction(), conn.cursor() as cur:
            yield cur

    @staticmethod
    def _pg(sql: str) -> bytes:
        return sql.replace("?", "%s").encode()

    def _fetch(self, sql: str, params: Sequence[object]) -> list[tuple[Any, ...]]:
        with self._connection("read the roster") as conn:
            return conn.execute(self._pg(sql), list(params)).fetchall()

    def _execute(self, cursor: Any, sql: str, params: Sequence[object]) -> None:
        cursor.execute(self._pg(sql), list(params))

    def _execute_many(self, cursor: Any, sql: str, rows: Sequence[Sequence[object]]) -> None:
        cursor.executemany(self._pg(sql), [list(r) for r in rows])

    def close(self) -> None:
        self._db.close()
