"""The risk commands: ``learner LEARNER --course C`` and ``at-risk COURSE``.

Registered on the ``edupulse`` group by ``cli.py``; thin like the others: load settings,
read, print.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from edupulse.cli import _emit, _settings, data_dir_option, option
from edupulse.insights import risk_queries
from edupulse.insights.risk_explain import RiskExplainer

__all__ = ["COMMANDS", "at_risk", "learner"]

tenant_option = option("--tenant", help="Tenant to read (default: EDUPULSE_TENANT).", env="EDUPULSE_TENANT")
json_option = option("--json", "as_json", is_flag=True, help="Print JSON.", env="EDUPULSE_JSON")


def _read(data_dir: Path | None, tenant: str | None, act: Any) -> Any:
    from edupulse.deployment import Deployment  # noqa: PLC0415 - opens stores: load only when run
    from edupulse.stream.runtime import EVENTS_TOPIC  # noqa: PLC0415

    settings = _settings(data_dir=data_dir, tenant=tenant)
    explainer = RiskExplainer(settings.data_dir / "models")
    with Deployment(settings) as dep:
        return act(dep.store, dep.log.partitions(EVENTS_TOPIC), settings.tenant, explainer)


@click.command()
@click.argument("learner_id", metavar="LEARNER")
@option("--course", required=True, help="The course.", env="EDUPULSE_COURSE")
@option("--history", type=click.IntRange(0), default=20, help="Most history rows shown.", env="EDUPULSE_RISK_HISTORY")
@data_dir_option
@tenant_option
@json_option
def learner(
    *, learner_id: str, course: str, history: int, data_dir: Path | None, tenant: str | None, as_json: bool
) -> None:
    """A learner in a course: features now, mastery per skill, risk with reasons, risk history.

    \b
    Examples:
      edupulse learner oulad:11391 --course AAA_2013J --json
    """
    profile = _read(
        data_dir,
        tenant,
        lambda store, parts, t, why: risk_queries.learner_profile(
            store, parts, t, learner_id, course, explainer=why, history=history
        ),
    )
    if as_json:
        _emit(profile)
        return
    click.echo(f"{learner_id} in {course}")
    risk = profile["risk"]
    if risk is None:
        click.echo("  risk: not scored (no risk model stored, or no event since it was)")
    else:
        click.echo(f"  risk {risk['risk']:.2f} (model {risk['model_version']}, day {risk['model_day']})")
        for factor in risk["factors"]:
            click.echo(f"    - {factor['text']}")
        if risk["factors_missing"]:
            click.echo(f"    (no reasons: {risk['factors_missing']})")
    for row in profile["mastery"]:
        click.echo(f"  skill {row['skill']}: mastery {row['p_mastery']:.2f} after {row['attempts']} attempt(s)")
    past = " -> ".join(f"{r['risk']:.2f}" for r in profile["risk_history"])
    click.echo(f"  history: {past or 'none'}")


@click.command("at-risk")
@click.argument("course")
@option("--limit", type=click.IntRange(1, 500), default=20, help="Most learners listed.", env="EDUPULSE_RISK_LIMIT")
@option(
    "--threshold",
    type=click.FloatRange(0, 1),
    default=0.0,
    help="Only learners with at least this risk.",
    env="EDUPULSE_RISK_THRESHOLD",
)
@data_dir_option
@tenant_option
@json_option
def at_risk(
    *, course: str, limit: int, threshold: float, data_dir: Path | None, tenant: str | None, as_json: bool
) -> None:
    """A course's learners by current risk, riskiest first, with the top reasons.

    \b
    Examples:
      edupulse at-risk AAA_2013J --limit 10 --threshold 0.7
    """
    listing = _read(
        data_dir,
        tenant,
        lambda store, _parts, t, why: risk_queries.course_at_risk(
            store, t, course, explainer=why, threshold=threshold, page_size=limit
        ),
    )
    if as_json:
        _emit(listing)
        return
    click.echo(f"{course}: {listing['total']} learner(s) at risk {threshold:g} or more")
    for row in listing["learners"]:
        reasons = "; ".join(f["text"] for f in row["factors"]) or f"(no reasons: {row['factors_missing']})"
        click.echo(f"  {row['risk']:.2f}  {row['learner']}  {reasons}")


COMMANDS: list[click.Command] = [learner, at_risk]
