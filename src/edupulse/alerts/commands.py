"""The alert commands: ``rules check``, ``alerts list|show|ack|resolve|reopen|note|deliveries``.

Registered on the ``edupulse`` group by ``cli.py``; thin like the others: load settings,
act, print.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import msgspec

from edupulse.alerts import lifecycle, outcomes
from edupulse.alerts.ledger import Action
from edupulse.cli import _emit, _settings, data_dir_option, option
from edupulse.insights.rule_file import load_rules

__all__ = ["COMMANDS", "alerts", "rules"]

tenant_option = option("--tenant", help="Tenant of the alerts (default: EDUPULSE_TENANT).", env="EDUPULSE_TENANT")
by_option = option("--by", required=True, help="Who acts, recorded in the alert's history.", env="EDUPULSE_ALERT_BY")
note_option = option("--note", help="A note kept with the action.", env="EDUPULSE_ALERT_NOTE")


@click.group()
def rules() -> None:
    """Intervention rules files (docs/interventions.md).

    \b
    Examples:
      edupulse rules check rules.yaml
    """


@rules.command("check")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
def rules_check(path: Path) -> None:
    """Check a rules file and print its rules (then its aggregate rules); a bad file names the rule and field.

    \b
    Examples:
      edupulse rules check rules.yaml
    """
    ruleset = load_rules(path)
    _emit([r.model_dump(mode="json") for r in (*ruleset.rules, *ruleset.aggregates)])


@click.group()
def alerts() -> None:
    """Alerts raised by the rules, and their lifecycle.

    \b
    Examples:
      edupulse alerts list --status open
      edupulse alerts ack ALERT_ID --by mentor-desk --note "called the learner"
    """


def _with_deployment(data_dir: Path | None, act: Any) -> Any:
    from edupulse.deployment import Deployment  # noqa: PLC0415 - opens stores: load only when run

    settings = _settings(data_dir=data_dir)
    with Deployment(settings) as deployment:
        return act(deployment, settings.tenant)


@alerts.command("list")
@data_dir_option
@tenant_option
@option("--course", help="Only this course's alerts.", env="EDUPULSE_ALERT_COURSE")
@option("--learner", help="Only this learner's alerts.", env="EDUPULSE_ALERT_LEARNER")
@option(
    "--status",
    type=click.Choice(["open", "acknowledged", "resolved"]),
    help="Only alerts in this status.",
    env="EDUPULSE_ALERT_STATUS",
)
@option("--limit", type=click.IntRange(1), default=50, help="Most alerts printed.", env="EDUPULSE_ALERT_LIMIT")
def alerts_list(
    *,
    data_dir: Path | None,
    tenant: str | None,
    course: str | None,
    learner: str | None,
    status: str | None,
    limit: int,
) -> None:
    """Alerts, newest first, with their history, as JSON.

    \b
    Examples:
      edupulse alerts list --status open --course https://example.edu/courses/algebra
    """
    filters = {k: v for k, v in (("course", course), ("learner", learner)) if v is not None}
    _emit(
        _with_deployment(
            data_dir,
            lambda dep, default: lifecycle.list_alerts(
                dep.store, dep.alerts, tenant or default, filters=filters, status=status, limit=limit, offset=0
            ),
        )
    )


def _action_command(name: str, action: Action, summary: str) -> click.Command:
    @alerts.command(name, help=f"{summary}\n\n\b\nExamples:\n  edupulse alerts {name} ALERT_ID --by mentor-desk")
    @click.argument("alert_id")
    @data_dir_option
    @tenant_option
    @by_option
    @note_option
    def command(data_dir: Path | None, tenant: str | None, alert_id: str, by: str, note: str | None) -> None:
        _emit(
            _with_deployment(
                data_dir,
                lambda dep, default: lifecycle.act(
                    dep.store, dep.alerts, tenant or default, alert_id, action, actor=by, note=note
                ),
            )
        )

    return command


_action_command("ack", "acknowledged", "Acknowledge an open alert.")
_action_command("resolve", "resolved", "Resolve an open or acknowledged alert.")
_action_command("reopen", "reopened", "Reopen an acknowledged or resolved alert.")
_action_command("note", "noted", "Add a note (--note) to an alert's history.")


@alerts.command("deliveries")
@data_dir_option
@option(
    "--status",
    type=click.Choice(["delivered", "retrying", "dead"]),
    help="Only deliveries in this state (dead: the dead letters).",
    env="EDUPULSE_DELIVERY_STATUS",
)
@option("--limit", type=click.IntRange(1), default=100, help="Most deliveries printed.", env="EDUPULSE_ALERT_LIMIT")
def alerts_deliveries(data_dir: Path | None, status: str | None, limit: int) -> None:
    """Webhook deliveries of alerts, newest first, with counts per state.

    \b
    Examples:
      edupulse alerts deliveries --status dead
    """

    def report(dep: Any, _tenant: str) -> dict[str, Any]:
        rows = dep.alerts.deliveries(status, limit=limit)
        return {"counts": dep.alerts.delivery_counts(), "deliveries": [msgspec.structs.asdict(d) for d in rows]}

    _emit(_with_deployment(data_dir, report))


@alerts.command("reengagement")
@data_dir_option
@tenant_option
@option("--course", help="Only this course's alerts.", env="EDUPULSE_ALERT_COURSE")
def alerts_reengagement(data_dir: Path | None, tenant: str | None, course: str | None) -> None:
    """Per rule: alerts followed by the learner's return within the rule's reengage_days, as JSON.

    \b
    Examples:
      edupulse alerts reengagement --course https://example.edu/courses/algebra
    """
    _emit(
        _with_deployment(
            data_dir, lambda dep, default: outcomes.reengagement(dep.store, tenant or default, course=course)
        )
    )


COMMANDS: list[click.Command] = [rules, alerts]
