"""Stream operators that turn events into insights."""

import logging

from edupulse.config import Settings
from edupulse.insights.engagement import EngagementOperator
from edupulse.insights.features import FeatureOperator
from edupulse.insights.mastery import MasteryOperator
from edupulse.insights.risk import RiskOperator
from edupulse.insights.rule_file import RuleSet, configured_rules
from edupulse.insights.rules import RulesOperator
from edupulse.ml.mastery_model import MasteryModel, MasterySource, mastery_source
from edupulse.ml.risk_models import RiskModels, RiskSource, risk_source
from edupulse.stream.operator import Operator

logger = logging.getLogger(__name__)

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
    mastery: MasteryModel | MasterySource | None = None,
    rules: RuleSet | None = None,
    risk: RiskModels | RiskSource | None = None,
    lake: bool = False,
) -> list[Operator]:
    """The operator chain every deployment runs, in order.

    ``mastery`` is the stored mastery model (``ml.mastery_model.load_model``), or a source
    that follows its champion (``ml.mastery_model.mastery_source``); None traces knowledge
    with default parameters. ``rules``: the intervention rules
    (``insights.rule_file.load_rules``); None (or no rules) adds no operator, so
    deployments without rules pay nothing for them. ``risk``: the stored at-risk models
    (``ml.risk_models.stored_risk_models``), or a source of the champion and challenger
    that follows promotions, empty until a first version is stored (``ml.risk_models.risk_source``);
    None adds no risk operator. ``lake``: the risk
    operator also sends its history rows and feature vectors to the lake's outbox topics.
    """
    features = FeatureOperator()
    ops: list[Operator] = [
        EngagementOperator(allowed_lateness_us=allowed_lateness_us),
        MasteryOperator(mastery),
        features,
    ]
    silence = rules.silence_us if rules is not None else []
    scorer = None
    if risk is not None:
        models, source = (None, risk) if isinstance(risk, RiskSource) else (risk, None)
        scorer = RiskOperator(
            features, models, lake=lake, source=source, silence_us=silence, allowed_lateness_us=allowed_lateness_us
        )
        ops.append(scorer)
    if silence and (scorer is None or scorer.models is None):
        logger.warning("inactive rules with risk_above raise no alert until an at-risk model is stored (train one)")
    if rules is not None and rules.rules:
        risk_at = scorer.silence.risk_at if scorer is not None and scorer.silence is not None else None
        ops.append(RulesOperator(rules, allowed_lateness_us=allowed_lateness_us, risk_at=risk_at))
    return ops


def standard_operators(settings: Settings) -> list[Operator]:
    """The chain this code ships, as a deployment configures it: live, replay and blue/green
    all build it here, with the mastery model stored under the data directory (if any, and
    its new champions), the rules file (if one is set), and the at-risk champion (and
    challenger) of the registry (if any yet: the risk operator is always there, and scores
    from the first version stored)."""
    return default_operators(
        allowed_lateness_us=settings.runtime.allowed_lateness_us,
        mastery=mastery_source(settings),
        rules=configured_rules(settings.rules.path),
        risk=risk_source(settings),
        lake=settings.lake.enabled,
    )
