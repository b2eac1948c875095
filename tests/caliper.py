"""Caliper envelopes and events for tests, built here (not read from the shared data)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

V1P1 = "http://purl.imsglobal.org/ctx/caliper/v1p1"
V1P2 = "http://purl.imsglobal.org/ctx/caliper/v1p2"
COURSE = "https://school.example/courses/bio-101/sections/2"


def envelope(*data: dict[str, Any], version: str = V1P2, send_time: str = "2025-03-04T09:30:01.000Z") -> dict[str, Any]:
    return {
        "sensor": "https://school.example/sensors/lms",
        "sendTime": send_time,
        "dataVersion": version,
        "data": list(data),
    }


def body(*data: dict[str, Any], **kwargs: Any) -> bytes:
    return json.dumps(envelope(*data, **kwargs)).encode()


def event_id(n: int) -> str:
    return f"urn:uuid:{uuid.UUID(int=n + 0x5EED_0000)}"


def submitted(n: int = 1, *, learner: str = "ana", version: str = V1P2, **changes: Any) -> dict[str, Any]:
    """An AssessmentEvent (Submitted) with a generated Attempt that took 90 seconds."""
    event: dict[str, Any] = {
        "@context": version,
        "id": event_id(n),
        "type": "AssessmentEvent",
        "actor": {"id": f"https://school.example/people/{learner}", "type": "Person"},
        "action": "Submitted",
        "object": {
            "id": "https://school.example/quizzes/cells",
            "type": "Assessment",
            "maxScore": 10,
            "learningObjectives": [{"id": "https://school.example/objectives/mitosis", "type": "LearningObjective"}],
        },
        "generated": {
            "id": f"https://school.example/quizzes/cells/attempts/{n}",
            "type": "Attempt",
            "assignee": f"https://school.example/people/{learner}",
            "assignable": "https://school.example/quizzes/cells",
            "count": 1,
            "duration": "PT1M30S",
        },
        "eventTime": "2025-03-04T09:30:00.000Z",
        "group": {"id": COURSE, "type": "CourseSection", "courseNumber": "BIO 101-02"},
        "membership": {
            "id": f"{COURSE}/members/{learner}",
            "type": "Membership",
            "member": f"https://school.example/people/{learner}",
            "organization": COURSE,
            "roles": ["Learner"],
            "status": "Active",
        },
    }
    if version == V1P2:
        event["profile"] = "AssessmentProfile"
    event.update(changes)
    return event


def thinned(n: int = 2, *, action: str = "Viewed", kind: str = "ViewEvent") -> dict[str, Any]:
    """An event whose entities are all given as IRIs."""
    return {
        "@context": V1P2,
        "id": event_id(n),
        "type": kind,
        "actor": "https://school.example/people/ana",
        "action": action,
        "object": "https://school.example/readings/chapter-3",
        "eventTime": "2025-03-04T10:00:00Z",
        "group": COURSE,
    }


def shared_files(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.json"))
