"""The real services the scale-out tests use, started by scripts/services/*.sh.

A test that needs one calls ``kafka_servers()`` or ``postgres_dsn()``: if the service
does not answer, the test is skipped with the command that starts it, or fails when
``EDUPULSE_TEST_SERVICES=required`` (as in CI), so a missing service never passes silently.
"""

from __future__ import annotations

import os
import socket
import warnings
from functools import lru_cache
from urllib.parse import urlsplit

import psycopg
import pytest
from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient
from psycopg import sql

from edupulse.log.kafka import KafkaLog

__all__ = ["drop_test_namespaces", "kafka_servers", "postgres_dsn", "track", "unavailable"]

DEFAULT_KAFKA = "127.0.0.1:59092"
DEFAULT_POSTGRES = "postgresql://edupulse@127.0.0.1:55432/edupulse"


def unavailable(message: str) -> None:
    """Skip, or fail when the services are required."""
    if os.environ.get("EDUPULSE_TEST_SERVICES") == "required":
        pytest.fail(f"{message} (EDUPULSE_TEST_SERVICES=required)")
    pytest.skip(message)


@lru_cache(maxsize=8)
def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def kafka_servers() -> str:
    servers = os.environ.get("EDUPULSE_TEST_KAFKA", DEFAULT_KAFKA)
    host, _, port = servers.split(",")[0].rpartition(":")
    if not _answers(host, int(port)):
        unavailable(f"Kafka is not running at {servers}; start it with scripts/services/kafka.sh up")
    return servers


def postgres_dsn() -> str:
    dsn = os.environ.get("EDUPULSE_TEST_POSTGRES_DSN", DEFAULT_POSTGRES)
    parts = urlsplit(dsn)
    if not _answers(parts.hostname or "127.0.0.1", parts.port or 5432):
        unavailable(f"PostgreSQL is not running at {dsn}; start it with scripts/services/postgres.sh up")
    return dsn


_TRACKED: list[KafkaLog] = []


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
