"""The intervention rules file: readable YAML, checked before anything runs.

Example (docs/interventions.md has the full reference)::

    rules:
      - name: struggling
        when: failed_attempts      # N failed attempts on one skill within a window
        count: 3
        within_hours: 24
        cooldown_hours: 72
        actions: [webhook]
      - name: gone-quiet
        when: inactive             # no activity in a course for D days
        days: 7
        actions: [webhook]
      - name: quiet-and-at-risk
        when: inactive
        days: 7
        risk_above: 0.7            # ... and the risk, rescored at the deadline, above 0.7
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from edupulse.errors import ConfigError
from edupulse.insights.aggregate_rules import AggregateRule

__all__ = [
    "Action",
    "CalendarEntry",
    "DueNotStartedRule",
    "FailedAttemptsRule",
    "InactiveRule",
    "Rule",
    "RuleBase",
    "RuleSet",
    "configured_rules",
    "load_rules",
    "parse_rules",
]

Action = Literal["webhook", "email", "xapi"]
HOUR_US = 3_600_000_000


class _RuleBase(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.-]+$")
    cooldown_hours: float = Field(0.0, ge=0, description="No second alert of this rule for the same learner sooner.")
    reengage_days: float = Field(
        7.0, gt=0, description="An alert counts as followed by re-engagement if the learner is active this soon after."
    )
    actions: tuple[Action, ...] = ()
    email_to: tuple[Annotated[str, Field(pattern=r"^[^@\s,<>]+@[^@\s,<>]+$")], ...] = Field(
        (), description="Addresses the `email` action writes to (besides any a roster adds)."
    )

    @property
    def cooldown_us(self) -> int:
        return int(self.cooldown_hours * HOUR_US)

    @property
    def reengage_us(self) -> int:
        return int(self.reengage_days * 24 * HOUR_US)


class FailedAttemptsRule(_RuleBase):
    """``count`` failed attempts on one skill within ``within_hours`` of event time."""

    when: Literal["failed_attempts"]
    count: int = Field(ge=1)
    within_hours: float = Field(gt=0)

    @property
    def window_us(self) -> int:
        return int(self.within_hours * HOUR_US)


class InactiveRule(_RuleBase):
    """No event in a course for ``days`` days, judged when the partition's event time passes the deadline."""

    when: Literal["inactive"]
    days: float = Field(gt=0)
    risk_above: float | None = Field(
        None,
        gt=0,
        lt=1,
        description="Only if the learner's risk, rescored as of the deadline by the at-risk model, is above this.",
    )

    @property
    def quiet_us(self) -> int:
        return int(self.days * 24 * HOUR_US)


class DueNotStartedRule(_RuleBase):
    """An assignment due within ``hours`` that the learner has not started (``insights.rules_due``)."""

    when: Literal["due_not_started"]
    hours: float = Field(gt=0)

    @property
    def ahead_us(self) -> int:
        return int(self.hours * HOUR_US)


class CalendarEntry(BaseModel):
    """An assignment of a course and when it is due, for learners seen in that course."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    course: str = Field(min_length=1)
    assignment: str = Field(min_length=1, description="The assignment's object id, as its events carry it.")
    due: AwareDatetime

    @property
    def due_us(self) -> int:
        delta = self.due.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)
        return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


RuleBase = _RuleBase
Rule = Annotated[FailedAttemptsRule | InactiveRule | DueNotStartedRule, Field(discriminator="when")]


class RuleSet(BaseModel):
    """Every rule of a file, names unique."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rules: tuple[Rule, ...] = ()
    calendar: tuple[CalendarEntry, ...] = ()
    aggregates: tuple[AggregateRule, ...] = ()  # checked on the wall clock (alerts.aggregates)

    @property
    def failed_attempts(self) -> list[FailedAttemptsRule]:
        return [r for r in self.rules if isinstance(r, FailedAttemptsRule)]

    @property
    def inactive(self) -> list[InactiveRule]:
        return [r for r in self.rules if isinstance(r, InactiveRule)]

    @property
    def silence_us(self) -> list[int]:
        """The silence lengths after which the risk operator must rescore (``inactive`` rules with ``risk_above``)."""
        return sorted({r.quiet_us for r in self.inactive if r.risk_above is not None})

    @property
    def due_not_started(self) -> list[DueNotStartedRule]:
        return [r for r in self.rules if isinstance(r, DueNotStartedRule)]


def parse_rules(text: str, *, source: str = "<rules>") -> RuleSet:
    """Rules from YAML text; a ``ConfigError`` names what is wrong and where."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source}: not valid YAML: {exc}") from None
    if not isinstance(data, dict) or not {"rules", "aggregates"} & set(data):
        raise ConfigError(f"{source}: expected a mapping with a `rules:` list (or `aggregates:`)")
    try:
        ruleset = RuleSet.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"{source}: {problems}") from None
    names = [r.name for r in ruleset.rules] + [a.name for a in ruleset.aggregates]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ConfigError(f"{source}: rule names must be unique; repeated: {dupes}")
    return ruleset


def configured_rules(path: Path | None) -> RuleSet | None:
    """The rules of the configured file (``rules.path``), or None when none is set."""
    return None if path is None else load_rules(path)


def load_rules(path: Path) -> RuleSet:
    """The rules in a YAML file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read the rules file {path}: {exc.strerror}; set EDUPULSE_RULES__PATH") from None
    return parse_rules(text, source=str(path))
