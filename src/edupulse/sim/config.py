"""What to simulate: how many courses and learners, over which period, from which seed."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from edupulse.sim.catalog import DOMAINS
from edupulse.sim.profiles import DEFAULT_MIX, ProfileName

__all__ = ["SimConfig"]

_MAX_SKILLS = min(len(topics) for topics in DOMAINS.values())


class SimConfig(BaseModel):
    """Settings of one simulation; the same settings always give the same statements."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    seed: int = Field(0, description="Seed of every random choice.")
    courses: int = Field(3, ge=1, le=1000, description="Courses simulated side by side.")
    learners_per_course: int = Field(100, ge=1, le=1_000_000, description="Learners enrolled in each course.")
    skills_per_course: int = Field(8, ge=1, le=_MAX_SKILLS, description="Skills taught by each course.")
    start: AwareDatetime = Field(
        datetime(2024, 9, 2, tzinfo=UTC), description="When the courses open (time-zone aware)."
    )
    days: int = Field(56, ge=7, le=730, description="Simulated course time in days; the final exam ends it.")
    speed: float = Field(60.0, gt=0, description="Simulated seconds per real second when streaming by event time.")
    profile_mix: dict[ProfileName, float] = Field(
        default_factory=lambda: dict(DEFAULT_MIX),
        description="Relative share of learners with each engagement profile.",
    )

    @field_validator("profile_mix")
    @classmethod
    def _some_positive_weight(cls, mix: dict[ProfileName, float]) -> dict[ProfileName, float]:
        if any(w < 0 for w in mix.values()) or not any(w > 0 for w in mix.values()):
            raise ValueError("profile_mix needs non-negative weights and at least one positive weight")
        return mix
