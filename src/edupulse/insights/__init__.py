"""Stream operators that turn events into insights."""

from edupulse.insights.engagement import EngagementOperator
from edupulse.insights.mastery import MasteryOperator
from edupulse.ml.mastery_model import MasteryModel
from edupulse.stream.operator import Operator

__all__ = ["EngagementOperator", "MasteryOperator", "default_operators"]


def default_operators(*, allowed_lateness_us: int, mastery: MasteryModel | None = None) -> list[Operator]:
    """The operator chain every deployment runs, in order.

    ``mastery`` is the stored mastery model (``ml.mastery_model.load_model``); None
    traces knowledge with default parameters.
    """
    return [EngagementOperator(allowed_lateness_us=allowed_lateness_us), MasteryOperator(mastery)]
