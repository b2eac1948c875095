"""Stream operators that turn events into insights."""

from edupulse.config import Settings
from edupulse.insights.engagement import EngagementOperator
from edupulse.insights.features import FeatureOperator
from edupulse.insights.mastery import MasteryOperator
from edupulse.insights.risk import RiskOperator
from edupulse.insights.rule_file import RuleSet, configured_rules
from edupulse.insights.rules import RulesOperator
from edupulse.ml.mastery_model import MasteryModel, load_model
from edupulse.ml.risk_models import RiskModels, RiskSource, risk_source
from edupulse.stream.operator import Operator

__all__ = [
    "EngagementOperator",
    "FeatureOperator",
    "MasteryOperator",
    "RiskOperator",
    "RulesOperator",
    "default_operators",
    "standard_operators",
]


def default_operators(
    *,
    allowed_lateness_us: int,
    mastery: MasteryModel | None = None,
    rules: RuleSet | None = None,
    risk: RiskModels | RiskSource | None = None,
    lake: bool = False,
) -> list[Operator]:
    """The operator chain every deployment runs, in order.

    ``mastery`` is the stored mastery model (``ml.mastery_model.load_model``); None
    traces knowledge with default parameters. ``rules``: the intervention rules
    (``insights.rule_file.load_rules``); None (or no rules) adds no operator, so
    deployments without rules pay nothing for them. ``risk``: the stored at-risk models
    (``ml.risk_models.stored_risk_models``), or a source of the champion and challenger
    that follows promotions (``ml.risk_models.risk_source``); None adds no risk operator. ``lake``: the risk
    operator also sends its history rows and feature vectors to the lake's outbox topics.
    """
    features = FeatureOperator()
    ops: list[Operator] = [
        EngagementOperator(allowed_lateness_us=allowed_lateness_us),
        MasteryOperator(mastery),
        features,
    ]
    if risk is not None:
        if isinstance(risk, RiskSource):
            ops.append(RiskOperator(features, lake=lake, source=risk))
        else:
            ops.append(RiskOperator(features, risk, lake=lake))
    if rules is not None and rules.rules:
        ops.append(RulesOperator(rules, allowed_lateness_us=allowed_lateness_us))
    return ops


def standard_operators(settings: Settings) -> list[Operator]:
    """The chain this code ships, as a deployment configures it: live, replay and blue/green
    all build it here, with the mastery model stored under the data directory (if any) and
    the rules file (if one is set), and the at-risk champion (and challenger) of the registry (if any)."""
    return default_operators(
        allowed_lateness_us=settings.runtime.allowed_lateness_us,
        mastery=load_model(settings.data_dir),
        rules=configured_rules(settings.rules.path),
        risk=risk_source(settings),
        lake=settings.lake.enabled,
    )
