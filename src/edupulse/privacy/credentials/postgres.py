"""Credentials in PostgreSQL, so that API processes on several machines share keys.

The table lives in the deployment's schema (default ``edupulse``) beside the state
store's, with migrations of its own (component ``credentials``).
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

import psycopg

from edupulse.postgres import Migration, SchemaPool, check_schema
from edupulse.privacy.credentials.base import CachedCredentials, KeyRow

__all__ = ["PostgresCredentials"]

MIGRATIONS = (
    Migration(
        1,
        "api keys",
        "CREATE TABLE {schema}.api_keys (key text PRIMARY KEY, name text NOT NULL, tenant text NOT NULL,"
        " scopes text NOT NULL, secret_hash bytea NOT NULL, created_us bigint NOT NULL, revoked_us bigint)",
    ),
)


class PostgresCredentials(CachedCredentials):
    """The credential table in one schema of a PostgreSQL database."""

    def __init__(self, dsn: str, *, schema: str = "edupulse", pool_size: int = 2, timeout_s: float = 10.0) -> None:
        super().__init__()
        self.dsn = dsn
        self.schema = check_schema(schema)
        self._table = f'"{schema}".api_keys'
        self._db = SchemaPool(
            dsn,
            schema=self.schema,
            component="credentials",
            migrations=MIGRATIONS,
            setting_up="set up the credential table",
            pool_size=pool_size,
            timeout_s=timeout_s,
        )

    def _connection(self, doing: str) -> AbstractContextManager[psycopg.Connection[Any]]:
        return self._db.connection(doing)

    def _insert(self, row: KeyRow) -> None:
        with self._connection("create a key") as conn:
            conn.execute(
                f"INSERT INTO {self._table} VALUES (%s, %s, %s, %s, %s, %s, NULL)".encode(),
                [row.key, row.name, row.tenant, row.scopes, row.secret_hash, row.created_us],
            )

    def _lookup(self, key: str) -> tuple[str, str, str, bytes] | None:
        query = f"SELECT name, tenant, scopes, secret_hash FROM {self._table} WHERE key = %s AND revoked_us IS NULL"
        with self._connection("verify a key") as conn:
            row = conn.execute(query.encode(), [key]).fetchone()
        return None if row is None else (row[0], row[1], row[2], bytes(row[3]))

    def _mark_revoked(self, key: str, now_us: int) -> bool:
        query = f"UPDATE {self._table} SET revoked_us = %s WHERE key = %s AND revoked_us IS NULL"
        with self._connection("revoke a key") as conn:
            return conn.execute(query.encode(), [now_us, key]).rowcount > 0

    def _rows(self) -> list[Any]:
        query = f"SELECT key, name, tenant, scopes, created_us, revoked_us FROM {self._table} ORDER BY created_us"
        with self._connection("list keys") as conn:
            return conn.execute(query.encode()).fetchall()

    def close(self) -> None:
        self._db.close()
