"""Contributions of features to a risk score, in plain words."""

from __future__ import annotations

import msgspec

__all__ = ["Factor", "describe"]


class Factor(msgspec.Struct, frozen=True):
    """One reason behind a score: the feature, its value, its push on the risk (log-odds), in words."""

    feature: str
    value: float | str | None
    effect: float
    text: str


_WORDS: dict[str, str] = {
    "days_since_activity": "no activity for {n} days",
    "missed": "{n} assessment(s) missed",
    "submitted": "{n} assessment(s) submitted",
    "submitted_on_time": "{n} assessment(s) submitted on time",
    "submitted_late": "{n} assessment(s) submitted late",
    "failed_assessments": "{n} assessment(s) below the pass mark",
    "mean_score": "mean score {pct}",
    "weighted_score": "weighted score {pct}",
    "last_score": "last score {pct}",
    "min_score": "lowest score {pct}",
    "weight_done": "{n}% of the course's assessment weight done",
    "active_days": "active on {n} day(s)",
    "activity": "{n} action(s) in all",
    "activity_last_7d": "{n} action(s) in the last 7 days",
    "activity_last_30d": "{n} action(s) in the last 30 days",
    "active_weeks_share": "active in {pct} of the weeks so far",
    "longest_streak": "longest run of active days: {n}",
    "current_streak": "active {n} day(s) in a row up to now",
    "objects_reached": "{n} course item(s) reached",
    "material_share": "reached {pct} of the material the most active learner reached",
    "num_of_prev_attempts": "{n} earlier attempt(s) at this module",
    "studied_credits": "studying {n} credits",
    "course_day": "day {n} of the course",
    "other_courses": "{n} other course(s) taken",
    "other_withdrawals": "withdrew from {n} other course(s)",
    "other_mean_score": "mean score {pct} in other courses",
    "other_submitted": "{n} assessment(s) submitted in other courses",
    "other_failed_assessments": "{n} assessment(s) below the pass mark in other courses",
    "concurrent_courses": "{n} other course(s) at the same time",
}


def describe(feature: str, value: float | str | None) -> str:
    """A short phrase for a feature's value: ``no activity for 12 days``."""
    label = feature.replace("_", " ")
    if value is None:
        return f"{label}: unknown"
    if isinstance(value, str):
        return f"{label}: {value}"
    if feature == "registration_day":
        days = round(abs(value))
        return f"registered {days} days {'before' if value <= 0 else 'after'} the start"
    if feature.endswith("_percentile"):
        return _standing(feature.removesuffix("_percentile").replace("_", " "), value)
    template = _WORDS.get(feature)
    if template is None:
        return f"{label}: {value:g}"
    return template.format(n=f"{value:.0f}", pct=f"{value:.0%}")


def _standing(what: str, share_below: float) -> str:
    if share_below < 0.5:
        return f"{what} in the bottom {max(share_below, 0.01):.0%} of the course"
    return f"{what} in the top {max(1 - share_below, 0.01):.0%} of the course"
