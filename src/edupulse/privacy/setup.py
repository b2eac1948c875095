"""Opening the privacy machinery of a deployment from its settings.

Embedded: the vault is ``vault.db`` under the data directory and the keys, unless
configured, are files under ``{data_dir}/privacy/``. Scale-out: the vault is in
PostgreSQL; the keys should be configured (every machine needs the same ones): without
them the files under the data directory are used, with a warning.
"""

from __future__ import annotations

import logging
from pathlib import Path

from edupulse.config import Settings
from edupulse.privacy.keys import decode_key, load_key
from edupulse.privacy.protect import Protector
from edupulse.privacy.pseudonyms import Pseudonymiser
from edupulse.privacy.scrub import Scrubber
from edupulse.privacy.values import ValueOpener
from edupulse.privacy.vault.base import VaultRows
from edupulse.privacy.vault.service import IdentityVault
from edupulse.privacy.vault.sqlite import SqliteVaultRows

__all__ = [
    "VAULT_FILE",
    "master_key",
    "open_protector",
    "open_pseudonymiser",
    "open_value_opener",
    "open_vault",
    "open_vault_rows",
    "read_tombstones",
    "seals_events",
]

VAULT_FILE = "vault.db"
logger = logging.getLogger(__name__)


def _key_dir(settings: Settings) -> Path:
    return settings.data_dir / "privacy"


def _require_configured(settings: Settings, what: str, configured: bool) -> None:
    if settings.deployment == "scaleout" and not configured:
        logger.warning(
            "privacy.%s is not set: using the file under %s, which every process of this deployment must share "
            "(on several machines, set EDUPULSE_PRIVACY__%s)",
            what,
            _key_dir(settings),
            what.upper(),
        )


def master_key(settings: Settings) -> bytes:
    cfg = settings.privacy
    _require_configured(settings, "master_key", cfg.master_key is not None or cfg.master_key_file is not None)
    default = _key_dir(settings) / "master.key"
    return load_key(cfg.master_key, cfg.master_key_file, default_file=default, what="privacy.master_key")


def open_pseudonymiser(settings: Settings) -> Pseudonymiser:
    cfg = settings.privacy
    configured = cfg.pseudonym_secret is not None or cfg.pseudonym_secret_file is not None
    _require_configured(settings, "pseudonym_secret", configured)
    default = _key_dir(settings) / "pseudonym.key"
    what = "privacy.pseudonym_secret"
    secret = load_key(cfg.pseudonym_secret, cfg.pseudonym_secret_file, default_file=default, what=what)
    tenants = {
        t: decode_key(s.get_secret_value(), what=f"tenant secret of {t!r}") for t, s in cfg.tenant_secrets.items()
    }
    return Pseudonymiser(secret, tenants, cache=cfg.cache_size)


def open_vault_rows(settings: Settings) -> VaultRows:
    """The vault's rows, without the master key (tombstones need no key)."""
    if settings.deployment == "scaleout":
        from edupulse.privacy.vault.postgres import PostgresVaultRows  # noqa: PLC0415 - only scale-out needs psycopg

        pg = settings.postgres
        return PostgresVaultRows(pg.dsn, schema=pg.schema_name, pool_size=min(2, pg.pool_size))
    return SqliteVaultRows(settings.data_dir / VAULT_FILE)


def open_vault(settings: Settings) -> IdentityVault:
    key = master_key(settings)
    return IdentityVault(open_vault_rows(settings), key, cache=settings.privacy.cache_size)


def open_protector(settings: Settings) -> Protector:
    """Pseudonymiser, vault and scrubber of a deployment, ready for ingest."""
    pseudonyms = open_pseudonymiser(settings)
    vault = open_vault(settings)
    scrubber = Scrubber() if settings.privacy.mask_free_text else None
    return Protector(pseudonyms, vault, scrubber, seal_values=seals_events(settings))


def seals_events(settings: Settings) -> bool:
    """Whether event values are sealed (``privacy.seal_events``; unset: when the log is Kafka)."""
    if not settings.privacy.pseudonymise:
        return False
    configured = settings.privacy.seal_events
    return settings.deployment == "scaleout" if configured is None else configured


def open_value_opener(settings: Settings) -> ValueOpener | None:
    """What a replay's runtime opens sealed event values with (None when values are not sealed);
    close it with ``opener.vault.close()``."""
    return ValueOpener(open_vault(settings)) if seals_events(settings) else None


def read_tombstones(settings: Settings) -> dict[str, int]:
    """``{pseudonym: erased_us}`` of every erased learner: what the runtime skips."""
    rows = open_vault_rows(settings)
    try:
        return rows.tombstones()
    finally:
        rows.close()
