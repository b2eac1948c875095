"""Stream operators that turn events into insights."""

from edupulse.config import Settings
from edupulse.insights.engagement import EngagementOperator
from edupulse.insights.features import FeatureOperator
from edupulse.insights.mastery import MasteryOperator
from edupulse.ml.mastery_model import MasteryModel, load_model
from edupulse.stream.operator import Operator

__all__ = ["EngagementOperator", "FeatureOperator", "MasteryOperator", "default_operators", "standard_operators"]


def default_operators(*, allowed_lateness_us: int, mastery: MasteryModel | None = None) -> list[Operator]:
    """The operator chain every deployment runs, in order.

    ``mastery`` is the stored mastery model (``ml.mastery_model.load_model``); None
    traces knowledge with default parameters.
    """
    return [EngagementOperator(allowed_lateness_us=allowed_lateness_us), MasteryOperator(mastery), FeatureOperator()]


def standard_operators(settings: Settings) -> list[Operator]:
    """The chain this code ships, as a deployment configures it: live, replay and blue/green
    all build it here, with the mastery model stored under the data directory (if any)."""
    return default_operators(
        allowed_lateness_us=settings.runtime.allowed_lateness_us, mastery=load_model(settings.data_dir)
    )
