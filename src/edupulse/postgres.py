"""PostgreSQL plumbing shared by the scale-out stores: pools, errors and migrations.

Everything a store keeps lives in one schema given to it, so deployments (and tests)
can share a database. Errors from psycopg are translated here, once: a lost connection,
a server restart or a serialization failure is a ``TransientError`` (retry later); a
value or statement that can never succeed is a ``TerminalError``.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any, NamedTuple, cast

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import ConnectionPool, PoolTimeout

from edupulse.errors import ConfigError, EdupulseError, TerminalError, TransientError

__all__ = [
    "Migration",
    "SchemaPool",
    "check_schema",
    "describe",
    "migrate",
    "open_pool",
    "pooled",
    "rewrite_after",
    "translate",
]

_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
# SQLSTATE classes a retry can cure: connection exception, transaction rollback
# (serialization failure, deadlock), insufficient resources, operator intervention
# (admin shutdown, server starting up), system error.
_TRANSIENT_CLASSES = ("08", "40", "53", "57", "58")
RECONNECT_TIMEOUT_S = 5.0
START_HINT = "start it with scripts/services/postgres.sh up, or point EDUPULSE_POSTGRES__DSN at a running server"


class Migration(NamedTuple):
    """One step of a component's schema, applied once, in version order."""

    version: int
    name: str
    sql: str


def check_schema(schema: str) -> str:
    if not _SCHEMA_NAME.match(schema):
        raise ConfigError(f"{schema!r} is not a valid PostgreSQL schema name (lowercase letters, digits, _)")
    return schema


def describe(dsn: str) -> str:
    """The server a DSN names, without its password: ``user@host:port/dbname``."""
    try:
        parts = conninfo_to_dict(dsn)
    except psycopg.ProgrammingError as exc:
        raise ConfigError(f"EDUPULSE_POSTGRES__DSN is not a valid connection string: {exc}") from None
    user = parts.get("user", "")
    where = f"{parts.get('host', 'localhost')}:{parts.get('port', 5432)}/{parts.get('dbname', '')}"
    return f"{user}@{where}" if user else where


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, PoolTimeout | psycopg.OperationalError | psycopg.InterfaceError):
        return True
    state = getattr(exc, "sqlstate", None)
    return isinstance(state, str) and state.startswith(_TRANSIENT_CLASSES)


def translate(exc: BaseException, doing: str, dsn: str) -> EdupulseError:
    """The project error for a psycopg or pool error raised while ``doing`` something."""
    if is_transient(exc):
        return TransientError(f"could not {doing} at PostgreSQL {describe(dsn)} (retrying may help): {exc}")
    return TerminalError(f"could not {doing}: {exc}")


def _probe(dsn: str, timeout_s: float) -> None:
    """Connect once, so that an unreachable server is reported at once and plainly."""
    try:
        psycopg.connect(dsn, connect_timeout=max(1, round(timeout_s)), autocommit=True).close()
    except psycopg.Error as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise ConfigError(f"cannot reach PostgreSQL at {describe(dsn)}: {reason}; {START_HINT}") from exc


def open_pool(
    dsn: str,
    *,
    size: int,
    name: str,
    timeout_s: float = 10.0,
    configure: Callable[[psycopg.Connection[tuple[object, ...]]], None] | None = None,
) -> ConnectionPool:
    """A pool of autocommit connections, each checked before it is handed out.

    The check costs one round trip and is what makes a store survive a server restart:
    connections the restart broke are discarded and replaced instead of failing a call.
    """
    _probe(dsn, timeout_s)
    pool = ConnectionPool(
        dsn,
        min_size=1,
        max_size=size,
        kwargs={"autocommit": True, "connect_timeout": max(1, round(timeout_s))},
        configure=configure,
        check=ConnectionPool.check_connection,
        timeout=timeout_s,
        # Give up a series of reconnection attempts soon: the next caller starts a new
        # series at once, so a restarted server is used again within seconds, not after
        # a backoff that grew while it was down.
        reconnect_timeout=RECONNECT_TIMEOUT_S,
        name=name,
        open=False,
    )
    try:
        pool.open(wait=True, timeout=timeout_s)
    except PoolTimeout as exc:
        pool.close()
        raise ConfigError(f"no connection to PostgreSQL at {describe(dsn)} within {timeout_s} s; {START_HINT}") from exc
    return pool


def migrate(
    conn: psycopg.Connection[tuple[object, ...]], schema: str, component: str, steps: Sequence[Migration]
) -> None:
    """Apply the steps of ``component`` not yet recorded in ``schema.schema_migrations``.

    Run it inside a transaction: a transaction-scoped advisory lock makes concurrent
    callers (workers starting together) apply each step exactly once, one after another.
    """
    conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [f"edupulse.migrate.{schema}"])
    ident = sql.Identifier(schema)
    conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(ident))
    conn.execute(
        sql.SQL(
            "CREATE TABLE IF NOT EXISTS {}.schema_migrations (component text NOT NULL, version int NOT NULL,"
            " name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (component, version))"
        ).format(ident)
    )
    rows = conn.execute(
        sql.SQL("SELECT version FROM {}.schema_migrations WHERE component = %s").format(ident), [component]
    ).fetchall()
    applied = {cast(int, version) for (version,) in rows}
    for step in sorted(steps):
        if step.version in applied:
            continue
        conn.execute(step.sql.format(schema=f'"{schema}"').encode())
        conn.execute(
            sql.SQL("INSERT INTO {}.schema_migrations (component, version, name) VALUES (%s, %s, %s)").format(ident),
            [component, step.version, step.name],
        )


@contextmanager
def pooled(pool: ConnectionPool, doing: str, dsn: str) -> Iterator[psycopg.Connection[Any]]:
    """A connection of ``pool``; a database or pool error becomes an ``EdupulseError`` naming ``doing``."""
    try:
        with pool.connection() as conn:
            yield conn
    except EdupulseError:
        raise
    except (psycopg.Error, PoolTimeout) as exc:
        raise translate(exc, doing, dsn) from exc


class SchemaPool:
    """A component's tables in one schema of a PostgreSQL database: a connection pool, the
    component's migrations applied on opening, and errors that say what was being done.

    The small stores (credentials, roster, identity vault, tutor index) each own one.
    """

    def __init__(
        self,
        dsn: str,
        *,
        schema: str,
        component: str,
        migrations: Sequence[Migration],
        setting_up: str,
        pool_size: int = 2,
        timeout_s: float = 10.0,
    ) -> None:
        self.dsn = dsn
        self.schema = check_schema(schema)
        self.pool = open_pool(dsn, size=pool_size, name=f"edupulse-{component}-{schema}", timeout_s=timeout_s)
        try:
            with self.connection(setting_up) as conn, conn.transaction():
                migrate(conn, self.schema, component, migrations)
        except BaseException:
            self.pool.close()
            raise

    def connection(self, doing: str) -> AbstractContextManager[psycopg.Connection[Any]]:
        """A pooled connection; a database error becomes an ``EdupulseError`` naming ``doing``."""
        return pooled(self.pool, doing, self.dsn)

    def close(self) -> None:
        self.pool.close()


_OLDER = (
    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() "
    "AND backend_xmin IS NOT NULL AND age(backend_xmin) >= age(%s::text::xid)"
)


def rewrite_after(dsn: str, tables: Sequence[str], xid: int, *, wait_s: float = 60.0) -> bool:
    """``VACUUM FULL`` these tables once no transaction that began before ``xid`` (the one that
    deleted rows from them) is open: the rewrite also copies the rows an older snapshot may still
    read. Waits up to ``wait_s`` for those, then rewrites anyway; False if it had to (the deleted
    rows may then survive in the new files until the next rewrite)."""
    if not tables:
        return True
    clear = True
    with psycopg.connect(dsn, autocommit=True, connect_timeout=10) as conn:
        deadline = time.monotonic() + wait_s
        while cast(tuple[int], conn.execute(_OLDER.encode(), [str(xid % 2**32)]).fetchone())[0]:
            if time.monotonic() > deadline:
                logging.getLogger(__name__).warning("transactions older than an erasure are still open: %s", tables)
                clear = False
                break
            time.sleep(0.2)
        for table in tables:
            conn.execute(f"VACUUM FULL {table}".encode())
    return clear
