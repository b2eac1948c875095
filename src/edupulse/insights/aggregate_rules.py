"""Aggregate rules in the rules file: thresholds over course and institution figures.

Example (docs/interventions.md has the reference)::

    aggregates:
      - name: scale-up
        metric: active_learners      # learners with an event in the last window_minutes
        scope: institution
        above: 5000
        window_minutes: 15
        actions: [webhook]
        webhook_url: https://ops.example.edu/hooks/scale
      - name: marking-backlog
        metric: submission_backlog   # attempts without a score yet, per course
        above: 200
        actions: [email]
        email_to: [course-admin@example.edu]

They are checked on the wall clock by ``alerts.aggregates``, not in the stream.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["AggregateRule", "Metric"]

Metric = Literal["active_learners", "enrolments", "submission_backlog"]
HOUR_US = 3_600_000_000


class AggregateRule(BaseModel):
    """A figure of a course (or of the whole tenant) above a threshold."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.-]+$")
    metric: Metric
    scope: Literal["course", "institution"] = "course"
    above: float = Field(ge=0, description="The rule fires when the figure goes above this.")
    window_minutes: float = Field(
        15.0, gt=0, description="active_learners: an event this recent makes a learner active."
    )
    cooldown_hours: float = Field(1.0, ge=0, description="No second alert of this rule for the same scope sooner.")
    actions: tuple[Literal["webhook", "email"], ...] = ()
    webhook_url: str | None = Field(
        None, pattern=r"^https?://[^\s]+$", description="Where this rule's webhook goes; unset: rules.webhook_url."
    )
    email_to: tuple[Annotated[str, Field(pattern=r"^[^@\s,<>]+@[^@\s,<>]+$")], ...] = ()

    @property
    def cooldown_us(self) -> int:
        return int(self.cooldown_hours * HOUR_US)

    @property
    def window_us(self) -> int:
        return int(self.window_minutes * 60_000_000)
