"""The backends the contract tests run against, and handles that open and reopen them.

Every backend is a factory taking a ``place``: a fresh, test-private directory. Calling
the factory twice with the same place must open the SAME log or store again (that is how
the durability tests "restart" it). A file backend keeps its files there; a server
backend (Kafka, PostgreSQL) derives a private namespace from it, or ignores it when the
test already uses unique names. A backend that needs a service which is not running
should call ``pytest.skip`` with the command that starts it.

Adding a backend is one more entry in ``LOG_BACKENDS``, ``STORE_BACKENDS`` or
``CREDENTIAL_BACKENDS``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Generic, Protocol, TypeVar

from edupulse.log.base import EventLog
from edupulse.log.kafka import KafkaLog
from edupulse.log.sqlite import SqliteLog
from edupulse.privacy.credentials import CredentialStore, SqliteCredentials
from edupulse.privacy.credentials.postgres import PostgresCredentials
from edupulse.privacy.vault import SqliteVaultRows, VaultRows
from edupulse.privacy.vault.postgres import PostgresVaultRows
from edupulse.stream.store.base import StateStore
from edupulse.stream.store.postgres import PostgresStore
from edupulse.stream.store.sqlite import SqliteStore
from tests.services import kafka_servers, postgres_dsn, scratch_schema, track

__all__ = ["CREDENTIAL_BACKENDS", "LOG_BACKENDS", "STORE_BACKENDS", "VAULT_BACKENDS", "Handles"]


def _sqlite_log(place: Path) -> EventLog:
    return SqliteLog(place / "log.sqlite")


def _kafka_log(place: Path) -> EventLog:
    """Kafka and PostgreSQL shared by all tests: topics are unique per test, the index schema per place."""
    schema = "test_log_" + hashlib.sha256(str(place).encode()).hexdigest()[:16]
    return track(KafkaLog(kafka_servers(), postgres_dsn(), schema=schema))


def _sqlite_store(place: Path) -> StateStore:
    return SqliteStore(place / "state.sqlite")


def _schema(place: Path) -> str:
    """A private schema per place: the first open of a place starts it empty."""
    return scratch_schema("t_" + hashlib.blake2b(str(place.resolve()).encode(), digest_size=8).hexdigest())


def _postgres_store(place: Path) -> StateStore:
    return PostgresStore(postgres_dsn(), schema=_schema(place), pool_size=2)


def _sqlite_credentials(place: Path) -> CredentialStore:
    return SqliteCredentials(place / "auth.sqlite")


def _postgres_credentials(place: Path) -> CredentialStore:
    return PostgresCredentials(postgres_dsn(), schema=_schema(place), pool_size=1)


def _sqlite_vault(place: Path) -> VaultRows:
    return SqliteVaultRows(place / "vault.sqlite")


def _postgres_vault(place: Path) -> VaultRows:
    return PostgresVaultRows(postgres_dsn(), schema=_schema(place), pool_size=1)


LOG_BACKENDS: dict[str, Callable[[Path], EventLog]] = {"kafka": _kafka_log, "sqlite": _sqlite_log}
STORE_BACKENDS: dict[str, Callable[[Path], StateStore]] = {"sqlite": _sqlite_store, "postgres": _postgres_store}
CREDENTIAL_BACKENDS: dict[str, Callable[[Path], CredentialStore]] = {
    "sqlite": _sqlite_credentials,
    "postgres": _postgres_credentials,
}
VAULT_BACKENDS: dict[str, Callable[[Path], VaultRows]] = {"sqlite": _sqlite_vault, "postgres": _postgres_vault}


class _Closable(Protocol):
    def close(self) -> None: ...


T = TypeVar("T", bound=_Closable)


class Handles(Generic[T]):
    """Opens one backend at one place, tracks the open handles and closes them all at the end."""

    def __init__(self, factory: Callable[[Path], T], place: Path) -> None:
        self._factory = factory
        self._place = place
        self._open: list[T] = []

    def open(self) -> T:
        handle = self._factory(self._place)
        self._open.append(handle)
        return handle

    def reopen(self, handle: T) -> T:
        """Close ``handle`` (as a stopped process would) and open the same place again."""
        self._open.remove(handle)
        handle.close()
        return self.open()

    def close_all(self) -> None:
        while self._open:
            self._open.pop().close()
