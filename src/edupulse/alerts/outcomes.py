"""Re-engagement rates per rule: how often an alert was followed by the learner's return.

Each alert row carries its outcome (``insights.reengagement``): ``pending`` while its
watch is open, then ``reengaged`` or ``not_reengaged``. The rate of a rule is
reengaged / (reengaged + not_reengaged): alerts still pending are counted apart, not
as failures. Alerts raised before outcomes were recorded (no outcome) are left out.
"""

from __future__ import annotations

from typing import Any

from edupulse.insights.rules import ALERTS_VIEW
from edupulse.stream.store.base import StateStore

__all__ = ["reengagement"]


def reengagement(store: StateStore, tenant: str, *, course: str | None = None) -> list[dict[str, Any]]:
    """Per rule: alerts, how many re-engaged, did not, are pending, the rate and the median days to return."""
    where = {"tenant": tenant} | ({"course": course} if course is not None else {})
    per_rule: dict[str, dict[str, Any]] = {}
    for row in store.select(ALERTS_VIEW.name, where):
        outcome = row.get("outcome")
        if outcome is None:
            continue
        entry = per_rule.setdefault(
            row["rule"],
            {"rule": row["rule"], "alerts": 0, "reengaged": 0, "not_reengaged": 0, "pending": 0, "_days": []},
        )
        entry["alerts"] += 1
        entry[outcome] += 1
        if outcome == "reengaged":
            entry["_days"].append((row["reengaged_us"] - row["opened_us"]) / 86_400_000_000)
    out = []
    for rule in sorted(per_rule):
        entry = per_rule[rule]
        days = sorted(entry.pop("_days"))
        decided = entry["reengaged"] + entry["not_reengaged"]
        entry["rate"] = round(entry["reengaged"] / decided, 4) if decided else None
        entry["median_days_to_return"] = round(days[len(days) // 2], 3) if days else None
        out.append(entry)
    return out
