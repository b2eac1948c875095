"""Privacy commands: ``forget`` and ``privacy rotate-key|identity``.

Registered on the ``edupulse`` group by ``cli.py``; thin like the others: load settings,
act, print.
"""

from __future__ import annotations

from pathlib import Path

import click

from edupulse.cli import _emit, _settings, data_dir_option, option
from edupulse.progress import one_phase

__all__ = ["COMMANDS", "forget", "privacy"]

tenant_option = option("--tenant", env="EDUPULSE_TENANT", help="The learner's tenant (default: default).")


@click.command()
@click.argument("learner")
@tenant_option
@data_dir_option
@option(
    "--shred-only",
    is_flag=True,
    help="Only shred the key, record the tombstone and delete LRS statements (safe while the server runs).",
    env="EDUPULSE_FORGET_SHRED_ONLY",
)
def forget(learner: str, tenant: str | None, data_dir: Path | None, shred_only: bool) -> None:
    """Erase a learner from every store (GDPR article 17); stop the server first.

    LEARNER is an e-mail, an xAPI identifier as edupulse maps it (mailto:..., account:HOME|NAME,
    sha1:..., openid:...), an LMS user id as its importer maps it, or the learner's pseudonym (p-...).

    \b
    Examples:
      edupulse forget ana.lima@example.edu --tenant acme
      edupulse forget 'account:https://lms.example.edu|11842' --tenant acme
      edupulse forget p-3xq7mzk2bq5ldr6xw4cu2y7a3e --shred-only
    """
    from edupulse.privacy.erasure import forget as run_forget
    from edupulse.privacy.erasure import shred

    settings = _settings(data_dir=data_dir)
    who = tenant or settings.tenant
    with one_phase("forget", "shredding the key" if shred_only else "erasing from every store, rebuilding the views"):
        report = shred(settings, who, learner) if shred_only else run_forget(settings, who, learner)
    _emit(report)


@click.group()
def privacy() -> None:
    """The identity vault's keys and records.

    \b
    Examples:
      edupulse privacy pseudonym ana.lima@example.edu
      edupulse privacy identity p-3xq7mzk2bq5ldr6xw4cu2y7a3e
    """


@privacy.command("rotate-key")
@click.argument("new_key_file", type=click.Path(dir_okay=False, path_type=Path))
@data_dir_option
def rotate_key(new_key_file: Path, data_dir: Path | None) -> None:
    """Re-wrap every learner's data key under the master key in NEW_KEY_FILE (created if missing).

    Afterwards point EDUPULSE_PRIVACY__MASTER_KEY_FILE at NEW_KEY_FILE (or replace the old key)
    and destroy the old key. Safe to run again after an interruption.

    \b
    Examples:
      edupulse privacy rotate-key /etc/edupulse/master-2027.key
    """
    from edupulse.privacy.rotation import rotate_master_key

    _emit(rotate_master_key(_settings(data_dir=data_dir), new_key_file))


@privacy.command("identity")
@click.argument("pseudonym")
@data_dir_option
def identity(pseudonym: str, data_dir: Path | None) -> None:
    """Who a pseudonym is (identifier, name, e-mail), from the vault; nothing for an erased learner.

    \b
    Examples:
      edupulse privacy identity p-3xq7mzk2bq5ldr6xw4cu2y7a3e
    """
    from edupulse.errors import NotFoundError
    from edupulse.privacy.setup import open_vault

    vault = open_vault(_settings(data_dir=data_dir))
    try:
        found = vault.identity(pseudonym)
    finally:
        vault.close()
    if found is None:
        raise NotFoundError(f"no identity for {pseudonym}: unknown, or erased")
    _emit(found)


@privacy.command("pseudonym")
@click.argument("learner")
@tenant_option
@data_dir_option
def pseudonym(learner: str, tenant: str | None, data_dir: Path | None) -> None:
    """The pseudonym a learner's identifier becomes in a tenant.

    \b
    Examples:
      edupulse privacy pseudonym ana.lima@example.edu --tenant acme
    """
    from edupulse.privacy.pseudonyms import identifier_of
    from edupulse.privacy.setup import open_pseudonymiser

    settings = _settings(data_dir=data_dir)
    _emit({"pseudonym": open_pseudonymiser(settings).pseudonym(tenant or settings.tenant, identifier_of(learner))})


COMMANDS: tuple[click.Command, ...] = (forget, privacy)
