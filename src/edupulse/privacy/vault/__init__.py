"""The identity vault: pseudonym -> identity and data key, envelope-encrypted; SQLite or PostgreSQL rows."""

from edupulse.privacy.vault.base import VaultRow, VaultRows
from edupulse.privacy.vault.service import Identity, IdentityVault
from edupulse.privacy.vault.sqlite import SqliteVaultRows

__all__ = ["Identity", "IdentityVault", "SqliteVaultRows", "VaultRow", "VaultRows"]
