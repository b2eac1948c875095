"""A lease: one holder at a time across processes and hosts, taken over when the holder dies.

The aggregate rules (``alerts.aggregates``) must be checked by one watcher per
deployment, or every processor raises its own alert. In scale-out the lease is a row of
a ``leases`` table in the deployment's PostgreSQL schema: a holder takes it when it is
free or expired, and renews it on every check; expiry is judged on the database's
clock, so the hosts' clocks need not agree. A holder that dies stops renewing and
another takes over once the lease has run out (``ttl_s``); a holder that stops cleanly
releases it at once.

Embedded deployments need none: one process holds the data directory's processing lock,
and only that process runs the watcher (``Deployment.start_processing``).
"""

from __future__ import annotations

import os
import socket
import uuid
from typing import Protocol

from psycopg import sql

from edupulse.postgres import Migration, SchemaPool

__all__ = ["Lease", "PostgresLease", "holder_name"]

MIGRATIONS = (
    Migration(
        1,
        "leases",
        "CREATE TABLE IF NOT EXISTS {schema}.leases (name text PRIMARY KEY, holder text NOT NULL,"
        " expires_at timestamptz NOT NULL)",
    ),
)


def holder_name() -> str:
    """This process's name as a lease holder: host, process id and a random part (unique per call)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Lease(Protocol):
    """Held by at most one holder at a time."""

    def acquire(self) -> bool:
        """Take or renew the lease for its time to live; whether this holder holds it now."""
        ...

    def release(self) -> None:
        """Give the lease up now, if held (others may take it at once)."""
        ...

    def close(self) -> None: ...


class PostgresLease:
    """A named lease row in one schema of a PostgreSQL database."""

    def __init__(self, dsn: str, *, schema: str, name: str, ttl_s: float, holder: str | None = None) -> None:
        self.name = name
        self.ttl_s = ttl_s
        self.holder = holder or holder_name()
        self._db = SchemaPool(
            dsn, schema=schema, component="leases", migrations=MIGRATIONS, setting_up="set up the lease table"
        )
        self._table = sql.Identifier(self._db.schema, "leases")

    def acquire(self) -> bool:
        query = sql.SQL(
            "INSERT INTO {} AS l (name, holder, expires_at) VALUES (%s, %s, now() + make_interval(secs => %s))"
            " ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at"
            " WHERE l.holder = EXCLUDED.holder OR l.expires_at < now() RETURNING holder"
        ).format(self._table)
        with self._db.connection(f"take the lease {self.name!r}") as conn:
            row = conn.execute(query, [self.name, self.holder, self.ttl_s]).fetchone()
        return row is not None

    def release(self) -> None:
        query = sql.SQL("DELETE FROM {} WHERE name = %s AND holder = %s").format(self._table)
        with self._db.connection(f"release the lease {self.name!r}") as conn:
            conn.execute(query, [self.name, self.holder])

    def close(self) -> None:
        self._db.close()
