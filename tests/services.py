"""The real services the scale-out tests use, started by ``scripts/services/*.sh``.

A test that needs a service which is not running is skipped with the command that
starts it, unless ``EDUPULSE_TEST_SERVICES=required`` (as in CI and ``make test``):
then it fails, so a broken service can never pass as a skip.
"""

from __future__ import annotations

import functools
import os
import socket
import warnings

import psycopg
import pytest
from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient
from psycopg import sql

from edupulse.log.kafka import KafkaLog

__all__ = [
    "drop_scratch_schemas",
    "drop_test_namespaces",
    "kafka_servers",
    "postgres_dsn",
    "require_service",
    "scratch_schema",
    "track",
]

DEFAULT_POSTGRES_DSN = "postgresql://edupulse@127.0.0.1:15432/edupulse"
DEFAULT_KAFKA = "127.0.0.1:19092"
_created: set[str] = set()
_TRACKED: list[KafkaLog] = []


def require_service(problem: str) -> None:
    """Skip (or, when services are required, fail) the calling test, saying how to fix it."""
    if os.environ.get("EDUPULSE_TEST_SERVICES") == "required":
        pytest.fail(f"{problem} (EDUPULSE_TEST_SERVICES=required)")
    pytest.skip(problem)


# -- PostgreSQL ------------------------------------------------------------------------


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


# -- Kafka -----------------------------------------------------------------------------


@functools.cache
def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def kafka_servers() -> str:
    """The test broker (``EDUPULSE_TEST_KAFKA``), once it is known to answer."""
    servers = os.environ.get("EDUPULSE_TEST_KAFKA", DEFAULT_KAFKA)
    host, _, port = servers.split(",")[0].rpartition(":")
    if not _answers(host, int(port)):
        require_service(f"Kafka is not running at {servers}; start it with scripts/services/kafka.sh up")
    return servers


def track(log: KafkaLog) -> KafkaLog:
    """Remember a test's log so that its topics and index schema are dropped after the session."""
    _TRACKED.append(log)
    return log


def drop_test_namespaces() -> None:
    """Delete the topics the tracked logs created and drop their PostgreSQL schemas."""
    by_servers: dict[str, set[str]] = {}
    schemas: dict[str, set[str]] = {}
    for log in _TRACKED:
        by_servers.setdefault(log.bootstrap_servers, set()).update(log.created_topics)
        schemas.setdefault(log.dsn, set()).add(log.schema)
    _TRACKED.clear()
    try:
        for servers, topics in by_servers.items():
            if topics:
                admin = AdminClient({"bootstrap.servers": servers})  # kept until the futures are done
                for future in admin.delete_topics(sorted(topics), operation_timeout=30).values():
                    future.result(timeout=30)
        for dsn, names in schemas.items():
            with psycopg.connect(dsn, autocommit=True, connect_timeout=10) as conn:
                for name in sorted(names):
                    conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))
    except (KafkaException, psycopg.Error) as exc:  # a service stopped meanwhile: leftovers, not failures
        warnings.warn(f"test topics or schemas were not dropped: {exc}", stacklevel=1)
