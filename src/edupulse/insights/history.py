"""What a learner's other courses say, as of a cut-off: earlier withdrawals, scores, load.

A learner's states for every course share the learner's partition, so this is read
from one partition's feature states, with the same rule as every feature: only facts
timed before the cut-off count.
"""

from __future__ import annotations

from collections.abc import Mapping

from edupulse.insights.features import DAY_US, PASS_SCORE, Features, FeatureState, registered_at

__all__ = ["CONCURRENT_DAYS", "history_features"]

CONCURRENT_DAYS = 270  # another course started this recently, and not left, runs alongside


def history_features(courses: Mapping[str, FeatureState], course: str, cut_us: int) -> Features:
    """Features of ``course``'s learner from their other courses (``courses`` by course)."""
    others = [s for c, s in courses.items() if c != course and s.registered_us is not None and s.registered_us < cut_us]
    withdrawn = [s for s in others if not registered_at(s, cut_us)]
    done = [a for s in others for a in s.attempts.values() if a.time_us < cut_us]
    scores = [a.score for a in done if a.score is not None]
    concurrent = [
        s for s in others if registered_at(s, cut_us) and (s.course_start_us or 0) > cut_us - CONCURRENT_DAYS * DAY_US
    ]
    return {
        "other_courses": float(len(others)),
        "other_withdrawals": float(len(withdrawn)),
        "other_mean_score": sum(scores) / len(scores) if scores else None,
        "other_submitted": float(len(done)),
        "other_failed_assessments": float(sum(1 for x in scores if x < PASS_SCORE)),
        "concurrent_courses": float(len(concurrent)),
    }
