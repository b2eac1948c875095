"""The ``audit`` command: read the append-only log of personal-data reads.

Registered on the ``edupulse`` group by ``cli.py``; thin like the others.
"""

from __future__ import annotations

from pathlib import Path

import click
import msgspec

from edupulse.cli import _emit, _settings, data_dir_option, option

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
    Example:
      edupulse audit --subject mailto:eve@school.example
    """
    from edupulse.deployment import open_roster  # noqa: PLC0415 - keeps `--help` fast

    settings = _settings(data_dir=data_dir, tenant=tenant)
    roster = open_roster(settings)
    try:
        entries = roster.audit_entries(settings.tenant, after=after, limit=limit, subject=subject)
    finally:
        roster.close()
    if as_json:
        _emit([msgspec.structs.asdict(e) for e in entries])
        return
    for e in entries:
        click.echo(f"{e.seq}\t{e.at_us}\t{e.actor} ({e.roles})\t{e.action}\t{e.subject}\t{e.kind}\t{e.purpose}")


COMMANDS: list[click.Command] = [audit]
