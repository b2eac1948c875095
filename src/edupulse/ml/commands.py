"""The model commands: ``models list|show|promote|rollback|retrain|compare|monitor|watch``.

Registered on the ``edupulse`` group by ``cli.py``; thin: load settings, act, print.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from edupulse.cli import _emit, _settings, data_dir_option, option, oulad_data_option
from edupulse.config import Settings
from edupulse.ml import model_admin

__all__ = ["COMMANDS", "models"]

name_argument = click.argument("name", type=click.Choice(model_admin.MODEL_NAMES))
alias_option = option(
    "--alias",
    type=click.Choice(["champion", "challenger"]),
    default="champion",
    show_default=True,
    help="Which alias to move.",
    env="EDUPULSE_MODEL_ALIAS",
)
by_option = option(
    "--by", default="cli", show_default=True, help="Who acts, kept in the alias history.", env="EDUPULSE_MODEL_BY"
)
json_option = option("--json", "as_json", is_flag=True, help="Print JSON.", env="EDUPULSE_JSON")
holdout_option = option(
    "--holdout-year",
    default="2014",
    show_default=True,
    help="Presentations of this year are held out.",
    env="EDUPULSE_HOLDOUT_YEAR",
)
promote_flag = option(
    "--promote",
    is_flag=True,
    help="Make the challenger champion if it wins on the hold-out.",
    env="EDUPULSE_MODEL_PROMOTE",
)
outcomes_option = option(
    "--outcomes",
    type=click.Path(exists=True, path_type=Path),
    help="OULAD studentInfo.csv (or its directory): final results, for the AUC and ECE.",
    env="EDUPULSE_OUTCOMES",
)


@click.group()
def models() -> None:
    """Model versions, aliases (champion, challenger), drift and retraining (docs/models.md).

    \b
    Examples:
      edupulse models list
      edupulse models promote risk risk-gbm-1a2b3c4d
    """


@models.command("list")
@data_dir_option
@json_option
def list_models(data_dir: Path | None, as_json: bool) -> None:
    """Every stored version of the at-risk and mastery models, with the aliases naming them.

    \b
    Examples:
      edupulse models list --json
    """
    listing = model_admin.listing(_settings(data_dir=data_dir))
    if as_json:
        _emit(listing)
        return
    for name, entry in listing.items():
        for v in entry["versions"]:
            tags = ", ".join(v["aliases"])
            click.echo(f"{name}  {v['version']}  {v['created']}" + (f"  [{tags}]" if tags else ""))


@models.command("show")
@data_dir_option
@name_argument
@click.argument("version", required=False)
def show(data_dir: Path | None, name: str, version: str | None) -> None:
    """A version's card (data snapshot, features, parameters, metrics) and the alias history.

    Without VERSION: the champion.

    \b
    Examples:
      edupulse models show risk
    """
    _emit(model_admin.show(_settings(data_dir=data_dir), name, version))


@models.command("promote")
@data_dir_option
@name_argument
@click.argument("version")
@alias_option
@by_option
def promote(data_dir: Path | None, name: str, version: str, alias: str, by: str) -> None:
    """Point an alias at a stored version; running processors and workers take it between batches.

    \b
    Examples:
      edupulse models promote risk risk-gbm-1a2b3c4d
      edupulse models promote risk risk-gbm-5e6f7a8b --alias challenger
    """
    _emit(model_admin.promote(_settings(data_dir=data_dir), name, version, alias=alias, actor=by))


@models.command("rollback")
@data_dir_option
@name_argument
@alias_option
@by_option
def rollback(data_dir: Path | None, name: str, alias: str, by: str) -> None:
    """Put back the version the alias named before its last promotion.

    \b
    Examples:
      edupulse models rollback risk
    """
    _emit(model_admin.rollback(_settings(data_dir=data_dir), name, alias=alias, actor=by))


def _say(message: str) -> None:
    click.echo(message, err=True)


@models.command("retrain")
@data_dir_option
@click.argument("name", type=click.Choice(["risk"]))
@oulad_data_option
@holdout_option
@option("--seed", type=int, default=0, show_default=True, help="Seed of the folds.", env="EDUPULSE_SEED")
@option(
    "--kind",
    type=click.Choice(["gbm", "logistic"]),
    default="gbm",
    show_default=True,
    help="Model.",
    env="EDUPULSE_MODEL_KIND",
)
@promote_flag
def retrain(
    *, data_dir: Path | None, name: str, data: Path, holdout_year: str, seed: int, kind: str, promote: bool
) -> None:
    """Train the at-risk models on the years before the hold-out; register them as challenger.

    With --promote, compare with the champion on the hold-out and promote the challenger
    if it wins by the margin (EDUPULSE_MODELS__PROMOTE_MARGIN).

    \b
    Examples:
      edupulse models retrain risk --data ../shared/data/oulad --promote
    """
    settings = _settings(data_dir=data_dir)
    _emit(
        model_admin.retrain(settings, data, holdout_year=holdout_year, seed=seed, kind=kind, promote=promote, say=_say)
    )


@models.command("compare")
@data_dir_option
@click.argument("name", type=click.Choice(["risk"]))
@oulad_data_option
@holdout_option
@promote_flag
def compare(data_dir: Path | None, name: str, data: Path, holdout_year: str, promote: bool) -> None:
    """Champion against challenger on the hold-out year: AUC and ECE per cut-off day.

    \b
    Examples:
      edupulse models compare risk --data ../shared/data/oulad
    """
    settings = _settings(data_dir=data_dir)
    _emit(model_admin.compare(settings, data, holdout_year=holdout_year, promote=promote, say=_say))


@models.command("monitor")
@data_dir_option
@outcomes_option
@json_option
def monitor(data_dir: Path | None, outcomes: Path | None, as_json: bool) -> None:
    """Drift (PSI, KS) and quality (AUC, ECE) of the champion's current scores; alerts on breaches.

    \b
    Examples:
      edupulse models monitor --outcomes ../shared/data/oulad --json
    """
    reports = model_admin.monitor(_settings(data_dir=data_dir), outcomes)
    if as_json:
        _emit(reports)
        return
    for r in reports:
        breaches = r["breaches"]
        head = f"{r['tenant']}: {r['model_version']}, {r['rows']} scores, {r['outcomes']} outcomes"
        click.echo(f"{head}, {len(breaches)} breach(es)")
        for f in breaches:
            click.echo(f"  {f['kind']} {f['feature'] or ''} day {f['day']}: {f['value']} (threshold {f['threshold']})")


@models.command("watch")
@data_dir_option
@oulad_data_option
@outcomes_option
@holdout_option
@option("--once", is_flag=True, help="One check, then exit.", env="EDUPULSE_MODEL_WATCH_ONCE")
def watch(data_dir: Path | None, data: Path, outcomes: Path | None, holdout_year: str, once: bool) -> None:
    """Monitor every EDUPULSE_MODELS__WATCH_INTERVAL_S; retrain on a drift alert or on schedule, then
    compare and promote the challenger if it wins.

    \b
    Examples:
      edupulse models watch --data ../shared/data/oulad --outcomes ../shared/data/oulad
    """
    settings: Settings = _settings(data_dir=data_dir)
    model_admin.watch(settings, data, outcomes, holdout_year=holdout_year, once=once, say=_say, emit=_emit)


COMMANDS: list[Any] = [models]
