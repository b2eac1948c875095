"""Aliases in PostgreSQL (scale-out): table ``model_aliases`` of the deployment's schema.

Every worker reads the same rows, so a promotion made anywhere reaches all of them. Rows
are only inserted (``seq`` orders them); the stamp of a model is its highest ``seq``,
one indexed row per poll.
"""

from __future__ import annotations

import time

from edupulse.ml.registry.base import AliasChange, ChangeKind
from edupulse.postgres import Migration, SchemaPool

__all__ = ["PostgresRegistry"]

MIGRATIONS = (
    Migration(
        1,
        "model aliases",
        "CREATE TABLE {schema}.model_aliases (seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
        " name text NOT NULL, alias text NOT NULL, kind text NOT NULL, version text NOT NULL,"
        " actor text NOT NULL, at_us bigint NOT NULL);"
        " CREATE INDEX ON {schema}.model_aliases (name, seq);",
    ),
)
_COLUMNS = "seq, name, alias, kind, version, actor, at_us"


class PostgresRegistry:
    """Alias changes in one table of a PostgreSQL schema."""

    def __init__(self, dsn: str, *, schema: str = "edupulse", timeout_s: float = 10.0) -> None:
        self._db = SchemaPool(
            dsn,
            schema=schema,
            component="models",
            migrations=MIGRATIONS,
            setting_up="set up the model aliases table",
            pool_size=1,
            timeout_s=timeout_s,
        )
        self._table = f'"{self._db.schema}".model_aliases'

    def changes(self, name: str) -> list[AliasChange]:
        sql = f"SELECT {_COLUMNS} FROM {self._table} WHERE name = %s ORDER BY seq"  # noqa: S608 - checked schema
        with self._db.connection("read the model aliases") as conn:
            rows = conn.execute(sql.encode(), [name]).fetchall()
        return [AliasChange(*row) for row in rows]

    def append(self, name: str, alias: str, kind: ChangeKind, version: str, actor: str) -> AliasChange:
        sql = (
            f"INSERT INTO {self._table} (name, alias, kind, version, actor, at_us)"  # noqa: S608 - checked schema
            f" VALUES (%s, %s, %s, %s, %s, %s) RETURNING {_COLUMNS}"
        )
        with self._db.connection("record a model alias") as conn:
            row = conn.execute(sql.encode(), [name, alias, kind, version, actor, time.time_ns() // 1000]).fetchone()
        assert row is not None  # noqa: S101 - INSERT ... RETURNING returns the row
        return AliasChange(*row)

    def stamp(self, name: str) -> str:
        sql = f"SELECT max(seq) FROM {self._table} WHERE name = %s"  # noqa: S608 - checked schema
        with self._db.connection("read the model aliases") as conn:
            row = conn.execute(sql.encode(), [name]).fetchone()
        return str(row[0] if row else None)

    def close(self) -> None:
        self._db.close()
