"""The real services the scale-out tests use, started by ``scripts/services/*.sh``.

A test that needs a service which is not running is skipped with the command that
starts it, unless ``EDUPULSE_TEST_SERVICES=required`` (as in CI and ``make test``):
then it fails, so a broken service can never pass as a skip.
"""

from __future__ import annotations

import functools
import os

import psycopg
import pytest
from psycopg import sql

__all__ = ["drop_scratch_schemas", "postgres_dsn", "require_service", "scratch_schema"]

DEFAULT_POSTGRES_DSN = "postgresql://edupulse@127.0.0.1:55432/edupulse"
_created: set[str] = set()


def require_service(problem: str) -> None:
    """Skip (or, when services are required, fail) the calling test, saying how to fix it."""
    if os.environ.get("EDUPULSE_TEST_SERVICES") == "required":
        pytest.fail(f"{problem} (EDUPULSE_TEST_SERVICES=required)")
    pytest.skip(problem)


@functools.cache
def _postgres_problem(dsn: str) -> str | None:
    try:
        psycopg.connect(dsn, connect_timeout=3).close()
    except psycopg.Error as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        return f"PostgreSQL is not reachable at {dsn} ({reason}): start it with scripts/services/postgres.sh up"
    return None


def postgres_dsn() -> str:
    """The test server's DSN (``EDUPULSE_TEST_POSTGRES_DSN``), once it is known to answer."""
    dsn = os.environ.get("EDUPULSE_TEST_POSTGRES_DSN", DEFAULT_POSTGRES_DSN)
    problem = _postgres_problem(dsn)
    if problem is not None:
        require_service(problem)
    return dsn


def scratch_schema(name: str) -> str:
    """A schema private to this test session: emptied the first time it is named."""
    if name not in _created:
        with psycopg.connect(postgres_dsn(), autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))
        _created.add(name)
    return name


def drop_scratch_schemas() -> None:
    """Drop every schema ``scratch_schema`` handed out (at the end of the session)."""
    if not _created:
        return
    with psycopg.connect(postgres_dsn(), autocommit=True) as conn:
        for name in sorted(_created):
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))
    _created.clear()
