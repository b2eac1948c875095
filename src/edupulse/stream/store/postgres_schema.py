"""The tables of the PostgreSQL state store: ordered migrations, and the DDL of a view.

Migrations are applied in version order and recorded in ``schema_migrations``; a step,
once released, never changes: a later change is a new step. View tables are not
migrations: ``setup`` creates them from their ``ViewSpec`` and adds new columns.
"""

from __future__ import annotations

import re

from edupulse.errors import ConfigError
from edupulse.postgres import Migration
from edupulse.stream.store.base import LINEAGE_COLUMNS, ViewSpec

__all__ = ["COMPONENT", "MIGRATIONS", "create_view", "ident", "view_table"]

COMPONENT = "state"
# Text that orders keys is collated "C" (byte order), as SQLite compares text: paging
# and ordering do not depend on the database's locale.
MIGRATIONS = (
    Migration(
        1,
        "offsets, keyed state, change feed, outbox, view catalog",
        """
CREATE TABLE {schema}.offsets (
    topic text COLLATE "C" NOT NULL, partition int NOT NULL, next_offset bigint NOT NULL,
    PRIMARY KEY (topic, partition));
CREATE TABLE {schema}.state (
    operator text COLLATE "C" NOT NULL, partition int NOT NULL, key bytea NOT NULL, value bytea NOT NULL,
    PRIMARY KEY (operator, partition, key));
CREATE TABLE {schema}.changes (seq bigint PRIMARY KEY, view text NOT NULL, row text NOT NULL);
CREATE TABLE {schema}.change_counter (id int PRIMARY KEY CHECK (id = 1), last bigint NOT NULL);
INSERT INTO {schema}.change_counter VALUES (1, 0);
CREATE TABLE {schema}.outbox (
    seq bigserial PRIMARY KEY, topic text NOT NULL, key text NOT NULL, payload bytea NOT NULL,
    idempotency_key text NOT NULL UNIQUE, created_us bigint NOT NULL, delivered_us bigint);
CREATE INDEX outbox_pending ON {schema}.outbox (seq) WHERE delivered_us IS NULL;
CREATE TABLE {schema}.views (name text PRIMARY KEY, spec bytea NOT NULL);
""",
    ),
    Migration(
        2,
        "commit lineage",
        """
CREATE TABLE {schema}.commits (
    partition int NOT NULL, to_offset bigint NOT NULL, topic text COLLATE "C" NOT NULL, from_offset bigint NOT NULL,
    committed_us bigint NOT NULL, lineage bytea NOT NULL, PRIMARY KEY (partition, to_offset, topic));
""",
    ),
)

_SQL_TYPES = {"int": "bigint", "real": "double precision", "text": 'text COLLATE "C"', "json": "jsonb"}
_IDENT = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


def ident(name: str) -> str:
    """A view or column name, checked and quoted for SQL."""
    if not _IDENT.match(name):
        raise ConfigError(f"{name!r} is not a valid view or column name (lowercase letters, digits, _)")
    return f'"{name}"'


def view_table(schema: str, view: str) -> str:
    ident(view)
    return f'"{schema}"."v_{view}"'


def create_view(schema: str, spec: ViewSpec) -> list[str]:
    """Statements that create the view's table, add missing columns and build its indexes."""
    table = view_table(schema, spec.name)
    cols = ", ".join(
        f"{ident(c)} {_SQL_TYPES[spec.columns[c]]}{' NOT NULL' if c in spec.key else ''}" for c in spec.all_columns
    )
    pk = ", ".join(map(ident, spec.key))
    lineage = ", ".join(f"{c} bigint" for c in LINEAGE_COLUMNS)
    statements = [f"CREATE TABLE IF NOT EXISTS {table} ({cols}, {lineage}, PRIMARY KEY ({pk}))"]
    # additive migration: new columns appear as NULL
    statements += [
        f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {ident(c)} {_SQL_TYPES[spec.columns[c]]}"
        for c in spec.all_columns
    ]
    statements += [f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {c} bigint" for c in LINEAGE_COLUMNS]
    for index in spec.indexes:
        columns = ", ".join(map(ident, index))
        name = f"v_{spec.name}__{'_'.join(index)}"[:63]
        statements.append(f'CREATE INDEX IF NOT EXISTS "{name}" ON {table} ({columns})')
    return statements
