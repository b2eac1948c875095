"""Per-source credentials: a protocol, and one module per backend (SQLite, PostgreSQL)."""

from edupulse.privacy.credentials.base import ALL_SCOPES, CredentialStore, NewKey, Principal, Scope
from edupulse.privacy.credentials.sqlite import Credentials, SqliteCredentials

__all__ = ["ALL_SCOPES", "CredentialStore", "Credentials", "NewKey", "Principal", "Scope", "SqliteCredentials"]
