"""The ``audit`` command: read the append-only log of personal-data reads.

Registered on the ``edupulse`` group by ``cli.py``; thin like the others.
"""

from __future__ import annotations

from pathlib import Path

import click
import msgspec

from edupulse.cli import _emit, _settings, data_dir_option, option
from edupulse.config import Settings
from edupulse.errors import EdupulseError

__all__ = ["COMMANDS", "audit"]


@click.command("audit")
@data_dir_option
@option("--tenant", help="Tenant whose reads to list (default: EDUPULSE_TENANT).", env="EDUPULSE_TENANT")
@option(
    "--after",
    type=click.IntRange(min=0),
    default=0,
    help="Entries after this sequence number.",
    env="EDUPULSE_AUDIT_AFTER",
)
@option("--limit", type=click.IntRange(min=1), default=100, help="Most entries to print.", env="EDUPULSE_AUDIT_LIMIT")
@option("--subject", help="Only reads of this learner, user or resource.", env="EDUPULSE_AUDIT_SUBJECT")
@option("--json", "as_json", is_flag=True, help="Print a JSON array.", env="EDUPULSE_JSON")
def audit(
    *, data_dir: Path | None, tenant: str | None, after: int, limit: int, subject: str | None, as_json: bool
) -> None:
    """List who read whose personal data, when, and for what purpose (oldest first).

    \b
    Examples:
      edupulse audit --subject mailto:eve@school.example
    """
    from edupulse.deployment import open_roster  # noqa: PLC0415 - keeps `--help` fast

    settings = _settings(data_dir=data_dir, tenant=tenant)
    subjects: list[str | None] = [subject] if subject is None else _subjects(settings, subject)
    roster = open_roster(settings)
    try:
        found = {
            e.seq: e
            for s in subjects
            for e in roster.audit_entries(settings.tenant, after=after, limit=limit, subject=s)
        }
    finally:
        roster.close()
    entries = [found[seq] for seq in sorted(found)][:limit]
    if as_json:
        _emit([msgspec.structs.asdict(e) for e in entries])
        return
    for e in entries:
        click.echo(f"{e.seq}\t{e.at_us}\t{e.actor} ({e.roles})\t{e.action}\t{e.subject}\t{e.kind}\t{e.purpose}")


def _subjects(settings: Settings, subject: str) -> list[str | None]:
    """The subject as given, and, if it names a learner, the pseudonym their reads are logged under."""
    from edupulse.privacy.pseudonyms import identifier_of, is_pseudonym  # noqa: PLC0415
    from edupulse.privacy.setup import open_pseudonymiser  # noqa: PLC0415

    if not settings.privacy.pseudonymise or is_pseudonym(subject):
        return [subject]
    try:
        pseudonym = open_pseudonymiser(settings).pseudonym(settings.tenant, identifier_of(subject))
    except EdupulseError:  # no pseudonym secret here: only the subject as given
        return [subject]
    return [subject, pseudonym]


COMMANDS: list[click.Command] = [audit]
