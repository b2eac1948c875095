"""How far the pipeline has got: what ``edupulse status`` and ``/api/v1/status`` report."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from edupulse.insights.engagement import COURSE_VIEW, LEARNER_VIEW
from edupulse.stream.runtime import EVENTS_TOPIC

if TYPE_CHECKING:
    from edupulse.deployment import Deployment

__all__ = ["pipeline_status"]


def pipeline_status(deployment: Deployment) -> dict[str, Any]:
    """Events in the log, learners and courses in the views, and each partition's progress."""
    log, store = deployment.log, deployment.store
    ends = log.end_offsets(EVENTS_TOPIC)
    starts = log.start_offsets(EVENTS_TOPIC)
    committed = store.committed_offsets(EVENTS_TOPIC)
    partitions = [
        {
            "partition": p,
            "start_offset": starts[p],
            "end_offset": end,
            "committed_offset": committed.get(p, 0),
            "lag": end - committed.get(p, 0),
        }
        for p, end in enumerate(ends)
    ]
    return {
        "events": sum(ends),
        "processed": sum(committed.values()),
        "learners": store.count_distinct(LEARNER_VIEW.name, ("tenant", "learner")),
        "courses": store.count_distinct(COURSE_VIEW.name, ("tenant", "course")),
        "lag": sum(p["lag"] for p in partitions),
        "partitions": partitions,
    }
