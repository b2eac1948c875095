"""What the model commands and the admin API do: list, show, promote, roll back, retrain,
compare, monitor. Each takes the deployment's settings and returns plain data.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec

from edupulse.config import Settings
from edupulse.errors import NotFoundError
from edupulse.ml import registry as reg
from edupulse.ml.mastery_model import MASTERY_MODEL, serve_version
from edupulse.ml.risk_models import RISK_MODEL

__all__ = ["MODEL_NAMES", "compare", "listing", "monitor", "promote", "retrain", "rollback", "show", "watch"]

MODEL_NAMES = (RISK_MODEL, MASTERY_MODEL)
Say = Callable[[str], None]


@contextmanager
def _registry(settings: Settings) -> Iterator[reg.Registry]:
    registry = reg.open_registry(settings)
    try:
        yield registry
    finally:
        registry.close()


def _root(settings: Settings) -> Path:
    return settings.data_dir / "models"


def _when(us: int) -> str:
    return datetime.fromtimestamp(us / 1e6, UTC).isoformat(timespec="seconds") if us else ""


def listing(settings: Settings) -> dict[str, Any]:
    """Per model name: its versions (oldest first) with the aliases naming each, and the aliases."""
    out: dict[str, Any] = {}
    with _registry(settings) as registry:
        for name in MODEL_NAMES:
            named = reg.aliases(registry, name)
            champion = reg.resolve(registry, _root(settings), name)
            served = {a: v for a, v in ((reg.CHAMPION, champion), *named.items()) if v is not None}
            cards = reg.versions(_root(settings), name)
            versions = [
                {
                    "version": c.version,
                    "created": _when(c.created_us),
                    "aliases": sorted(a for a, v in served.items() if v == c.version),
                }
                for c in cards
            ]
            out[name] = {"aliases": served, "versions": versions}
    return out


def show(settings: Settings, name: str, version: str | None = None) -> dict[str, Any]:
    """A version's card (the champion's without ``version``), and the model's alias history."""
    with _registry(settings) as registry:
        version = version or reg.resolve(registry, _root(settings), name)
        if version is None:
            raise NotFoundError(f"no {name} model is stored under {_root(settings)}; train one first")
        card = reg.read_card(_root(settings), name, version)
        history = registry.changes(name)
    body: dict[str, Any] = msgspec.to_builtins(card)
    return body | {
        "created": _when(card.created_us),
        "alias_history": [msgspec.to_builtins(c) for c in history],
    }


def promote(
    settings: Settings, name: str, version: str, *, alias: str = reg.CHAMPION, actor: str = "cli"
) -> dict[str, Any]:
    with _registry(settings) as registry:
        change = reg.promote(registry, _root(settings), name, version, alias=alias, actor=actor)
        served = reg.aliases(registry, name)
    if name == MASTERY_MODEL and alias == reg.CHAMPION:
        serve_version(settings.data_dir, version)
    return {"change": msgspec.to_builtins(change), "aliases": served}


def rollback(settings: Settings, name: str, *, alias: str = reg.CHAMPION, actor: str = "cli") -> dict[str, Any]:
    with _registry(settings) as registry:
        version = reg.rollback(registry, name, alias=alias, actor=actor)
        served = reg.aliases(registry, name)
    if name == MASTERY_MODEL and alias == reg.CHAMPION:
        serve_version(settings.data_dir, version)
    return {"rolled_back_to": version, "aliases": served}


def _pin_champion(registry: reg.Registry, root: Path) -> None:
    """Before a new version becomes the newest: name the served one champion, so the new one is not served
    by default (without a champion alias the newest version is)."""
    served = reg.resolve(registry, root, RISK_MODEL)
    if served is not None and reg.CHAMPION not in reg.aliases(registry, RISK_MODEL):
        reg.promote(registry, root, RISK_MODEL, served, actor="retrain (pinned the served version)")


def retrain(
    settings: Settings,
    data: Path,
    *,
    holdout_year: str,
    seed: int = 0,
    kind: str = "gbm",
    promote: bool = False,
    say: Say | None = None,
) -> dict[str, Any]:
    """Fit a challenger on the years before the hold-out, register it, and compare it if asked."""
    from edupulse.ml import challenger as ch  # noqa: PLC0415 - scikit-learn and the OULAD pipeline, only here
    from edupulse.ml.monitor import save_reference  # noqa: PLC0415

    started = time.process_time()
    sets = ch.holdout_sets(data, holdout_year=holdout_year, say=say)
    models, card, reference = ch.retrain(
        sets, data=data, holdout_year=holdout_year, seed=seed, kind="logistic" if kind == "logistic" else "gbm"
    )
    out: dict[str, Any] = {"version": models.version, "metrics": card.details["metrics"]}
    with _registry(settings) as registry:
        _pin_champion(registry, _root(settings))
        reg.save_model(_root(settings), card, models)
        save_reference(_root(settings), RISK_MODEL, models.version, reference)
        named = reg.aliases(registry, RISK_MODEL)
        if models.version in (named.get(reg.CHAMPION), named.get(reg.CHALLENGER)):
            role = reg.CHAMPION if named.get(reg.CHAMPION) == models.version else reg.CHALLENGER
            out["note"] = f"{models.version} is already the {role}"
        else:
            reg.promote(registry, _root(settings), RISK_MODEL, models.version, alias=reg.CHALLENGER, actor="retrain")
    out["cpu_s"] = round(time.process_time() - started, 1)
    if promote:
        out["comparison"] = _compare_sets(settings, sets, holdout_year=holdout_year, promote=True)
    return out


def compare(
    settings: Settings, data: Path, *, holdout_year: str, promote: bool = False, say: Say | None = None
) -> dict[str, Any]:
    from edupulse.ml import challenger as ch  # noqa: PLC0415

    return _compare_sets(
        settings, ch.holdout_sets(data, holdout_year=holdout_year, say=say), holdout_year=holdout_year, promote=promote
    )


def _compare_sets(settings: Settings, sets: Any, *, holdout_year: str, promote: bool) -> dict[str, Any]:
    from edupulse.ml import challenger as ch  # noqa: PLC0415
    from edupulse.ml.risk_models import load_risk_models  # noqa: PLC0415

    root = _root(settings)
    with _registry(settings) as registry:
        champion = reg.resolve(registry, root, RISK_MODEL)
        challenger = reg.aliases(registry, RISK_MODEL).get(reg.CHALLENGER)
        if champion is None or challenger is None:
            raise NotFoundError("compare needs a champion and a challenger: `edupulse models list` shows the aliases")
        cfg = settings.models
        result = ch.compare(
            sets,
            root,
            load_risk_models(root, champion),
            load_risk_models(root, challenger),
            holdout_year=holdout_year,
            margin=cfg.promote_margin,
            max_ece=cfg.max_ece,
        )
        out: dict[str, Any] = msgspec.to_builtins(result)
        out["promoted"] = False
        if promote and result.challenger_wins:
            reg.promote(registry, root, RISK_MODEL, challenger, actor="compare")
            out["promoted"] = True
    return out


def _outcomes(
    settings: Settings, path: Path | None, learner_key: Callable[[str, str], str]
) -> dict[tuple[str, str], int]:
    if path is None:
        return {}
    from edupulse.ml.oulad import read_outcomes  # noqa: PLC0415

    table = read_outcomes(path if path.is_dir() else path.parent)
    return {(course, learner_key(settings.tenant, learner)): y for (course, learner), y in table.items()}


def monitor(settings: Settings, outcomes: Path | None = None, *, alert: bool = True) -> list[dict[str, Any]]:
    """The champion's figures per tenant; a ``model_drift`` alert for each tenant with a breach."""
    from edupulse.deployment import Deployment  # noqa: PLC0415 - opens the stores
    from edupulse.insights.risk_views import RISK_VIEW  # noqa: PLC0415
    from edupulse.ml import monitor as mon  # noqa: PLC0415

    root = _root(settings)
    with _registry(settings) as registry:
        version = reg.resolve(registry, root, RISK_MODEL)
    if version is None:
        raise NotFoundError(f"no at-risk model is stored under {root}: nothing to monitor")
    reference = mon.load_reference(root, RISK_MODEL, version)
    out = []
    with Deployment(settings) as dep:
        known = _outcomes(settings, outcomes, dep.learner_key)
        dep.store.setup([RISK_VIEW])
        tenants = sorted({r["tenant"] for r in dep.store.select(RISK_VIEW.name, {"model_version": version})})
        for tenant in tenants:
            report = mon.monitor(dep.store, tenant, version, reference, cfg=settings.models, outcomes=known)
            row = mon.raise_alert(dep.store, report) if alert else None
            out.append(
                msgspec.to_builtins(report)
                | {"breaches": msgspec.to_builtins(report.breaches), "alert": row and row["id"]}
            )
    return out


def watch(
    settings: Settings,
    data: Path,
    outcomes: Path | None,
    *,
    holdout_year: str,
    once: bool,
    say: Say,
    emit: Callable[[Any], None],
) -> None:
    """Monitor on an interval; on a breach, or when the retraining interval is due, retrain and compare."""
    cfg = settings.models
    last_retrain = time.monotonic()
    while True:
        reports = monitor(settings, outcomes)
        drifted = any(r["breaches"] for r in reports)
        due = (
            cfg.retrain_interval_hours is not None
            and time.monotonic() - last_retrain >= cfg.retrain_interval_hours * 3600
        )
        breaches = sum(len(r["breaches"]) for r in reports)
        say(f"monitor: {breaches} breach(es); retrain {'now' if drifted or due else 'not due'}")
        if drifted or due:
            emit(retrain(settings, data, holdout_year=holdout_year, promote=True, say=say))
            last_retrain = time.monotonic()
        if once:
            return
        time.sleep(cfg.watch_interval_s)
