"""The identity vault in PostgreSQL (scale-out), in the deployment's schema (component ``vault``).

A deleted row stays in the table's data file until PostgreSQL vacuums the page, so an
erasure runs ``VACUUM`` on the table after deleting: the wrapped key's bytes do not
survive in a dead tuple.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any

import psycopg

from edupulse.postgres import Migration, SchemaPool, check_schema, rewrite_after, translate
from edupulse.privacy.vault.base import VaultRow

__all__ = ["PostgresVaultRows"]

MIGRATIONS = (
    Migration(
        1,
        "identity vault",
        "CREATE TABLE {schema}.vault_identities (pseudonym text PRIMARY KEY, tenant text NOT NULL,"
        " key_id text NOT NULL, wrapped_key bytea NOT NULL, identity bytea NOT NULL, created_us bigint NOT NULL);"
        "CREATE TABLE {schema}.vault_tombstones (pseudonym text PRIMARY KEY, tenant text NOT NULL,"
        " erased_us bigint NOT NULL)",
    ),
)


class PostgresVaultRows:
    """Vault rows in one schema of a PostgreSQL database."""

    def __init__(self, dsn: str, *, schema: str = "edupulse", pool_size: int = 2, timeout_s: float = 10.0) -> None:
        self.dsn = dsn
        self.schema = check_schema(schema)
        self._ids = f'"{schema}".vault_identities'
        self._tombs = f'"{schema}".vault_tombstones'
        self._db = SchemaPool(
            dsn,
            schema=self.schema,
            component="vault",
            migrations=MIGRATIONS,
            setting_up="set up the identity vault",
            pool_size=pool_size,
            timeout_s=timeout_s,
        )

    def _connection(self, doing: str) -> AbstractContextManager[psycopg.Connection[Any]]:
        return self._db.connection(doing)

    def wrapped_keys(self, pseudonyms: Sequence[str]) -> dict[str, tuple[str, bytes]]:
        query = f"SELECT pseudonym, key_id, wrapped_key FROM {self._ids} WHERE pseudonym = ANY(%s)"
        with self._connection("read data keys") as conn:
            rows = conn.execute(query.encode(), [list(pseudonyms)]).fetchall()
        return {r[0]: (r[1], bytes(r[2])) for r in rows}

    def insert(self, rows: Sequence[VaultRow]) -> None:
        query = f"INSERT INTO {self._ids} VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (pseudonym) DO NOTHING"
        values = [(r.pseudonym, r.tenant, r.key_id, r.wrapped_key, r.identity, r.created_us) for r in rows]
        with self._connection("store identities") as conn, conn.transaction(), conn.cursor() as cur:
            cur.executemany(query.encode(), values)

    def row(self, pseudonym: str) -> VaultRow | None:
        query = f"SELECT tenant, key_id, wrapped_key, identity, created_us FROM {self._ids} WHERE pseudonym = %s"
        with self._connection("read an identity") as conn:
            found = conn.execute(query.encode(), [pseudonym]).fetchone()
        if found is None:
            return None
        return VaultRow(found[0], pseudonym, found[1], bytes(found[2]), bytes(found[3]), found[4])

    def erase(self, tenant: str, pseudonym: str, erased_us: int) -> bool:
        delete = f"DELETE FROM {self._ids} WHERE pseudonym = %s"
        tomb = (
            f"INSERT INTO {self._tombs} VALUES (%s, %s, %s) "
            "ON CONFLICT (pseudonym) DO UPDATE SET erased_us = EXCLUDED.erased_us"
        )
        with self._connection("erase an identity") as conn, conn.transaction():
            xid = int(conn.execute(b"SELECT txid_current()").fetchone()[0])  # type: ignore[index]
            deleted = conn.execute(delete.encode(), [pseudonym]).rowcount
            conn.execute(tomb.encode(), [pseudonym, tenant, erased_us])
        try:  # a plain vacuum leaves the deleted row's bytes (the wrapped key) in the pages it keeps
            rewrite_after(self.dsn, [self._ids], xid)
        except psycopg.Error as exc:
            raise translate(exc, "rewrite the identity table after an erasure", self.dsn) from exc
        return deleted > 0

    def tombstones(self) -> dict[str, int]:
        with self._connection("read tombstones") as conn:
            rows = conn.execute(f"SELECT pseudonym, erased_us FROM {self._tombs}".encode()).fetchall()
        return {r[0]: int(r[1]) for r in rows}

    def all_keys(self) -> list[tuple[str, str, bytes]]:
        with self._connection("read data keys") as conn:
            rows = conn.execute(f"SELECT pseudonym, key_id, wrapped_key FROM {self._ids}".encode()).fetchall()
        return [(r[0], r[1], bytes(r[2])) for r in rows]

    def rewrap(self, updates: Sequence[tuple[str, str, bytes]]) -> None:
        query = f"UPDATE {self._ids} SET key_id = %s, wrapped_key = %s WHERE pseudonym = %s"
        values = [(kid, wrapped, pseudonym) for pseudonym, kid, wrapped in updates]
        with self._connection("re-wrap data keys") as conn, conn.transaction(), conn.cursor() as cur:
            cur.executemany(query.encode(), values)

    def close(self) -> None:
        self._db.close()
