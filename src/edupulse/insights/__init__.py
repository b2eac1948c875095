"""Stream operators that turn events into insights."""

from edupulse.insights.engagement import EngagementOperator
from edupulse.insights.features import FeatureOperator
from edupulse.stream.operator import Operator

__all__ = ["EngagementOperator", "FeatureOperator", "default_operators"]


def default_operators(*, allowed_lateness_us: int) -> list[Operator]:
    """The operator chain every deployment runs, in order."""
    return [EngagementOperator(allowed_lateness_us=allowed_lateness_us), FeatureOperator()]
