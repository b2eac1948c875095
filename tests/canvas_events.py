"""Canvas Live Events in both formats, shaped as Canvas's live events documentation shows them.

A student (global id 21070000000000048) in course 565 opens an assignment, submits
it, takes a quiz and replies in a discussion; a teacher (…987) grades the submission;
an administrator enrols student …064. The caliper events carry Canvas's own ways:
``Entity`` objects, an ``Attempt`` as an ``AssignableEvent``'s object, and
``com.instructure.canvas`` extensions.
"""

from __future__ import annotations

from typing import Any

STUDENT, TEACHER, ADMIN, NEWCOMER = "21070000000000048", "21070000000000987", "21070000000000001", "21070000000000064"
COURSE = "21070000000000565"
V1P1 = "http://purl.imsglobal.org/ctx/caliper/v1p1"
HOST = "https://school.instructure.com"


def metadata(event_name: str, event_time: str, user_id: str | None = STUDENT, **more: Any) -> dict[str, Any]:
    found = {
        "root_account_uuid": "Qx3fT9aLw2EoPz7mV1cRbN8yU4kHsJ6dG0iWqZ5e",
        "root_account_id": "21070000000000001",
        "user_account_id": "21070000000000001",
        "user_id": user_id,
        "user_login": "student@example.edu",
        "context_type": "Course",
        "context_id": COURSE,
        "context_role": "StudentEnrollment",
        "request_id": "6b1c0a4e-2f0d-4d9b-a7de-0c2f4b9e8a11",
        "session_id": "9e0f3a1b2c4d5e6f7a8b9c0d1e2f3a4b",
        "hostname": "school.instructure.com",
        "producer": "canvas",
        "event_name": event_name,
        "event_time": event_time,
    }
    if user_id is None:
        del found["user_id"], found["user_login"]
    return found | more


LIVE: dict[str, dict[str, Any]] = {
    "asset_accessed": {
        "metadata": metadata("asset_accessed", "2024-03-04T09:00:00.120Z", http_method="GET"),
        "body": {
            "asset_name": "Week 2 problem set",
            "asset_type": "assignment",
            "asset_id": "21070000000000355",
            "asset_subtype": None,
            "category": "assignments",
            "role": "StudentEnrollment",
            "level": None,
        },
    },
    "submission_created": {
        "metadata": metadata("submission_created", "2024-03-04T09:40:12.000Z"),
        "body": {
            "submission_id": "21070000000011086",
            "assignment_id": "21070000000000355",
            "user_id": STUDENT,
            "submitted_at": "2024-03-04T09:40:12Z",
            "attempt": 1,
            "workflow_state": "submitted",
            "submission_type": "online_upload",
            "late": False,
            "missing": False,
        },
    },
    "grade_change": {
        "metadata": metadata("grade_change", "2024-03-05T14:02:00.000Z", TEACHER, context_role="TeacherEnrollment"),
        "body": {
            "submission_id": "21070000000011086",
            "assignment_id": "21070000000000355",
            "grade": "8",
            "old_grade": None,
            "score": 8,
            "old_score": None,
            "points_possible": 10,
            "grader_id": TEACHER,
            "student_id": STUDENT,
            "user_id": STUDENT,
            "grading_complete": True,
            "muted": False,
        },
    },
    "quiz_submitted": {
        "metadata": metadata("quiz_submitted", "2024-03-06T10:15:30.500Z"),
        "body": {"submission_id": "21070000000000777", "quiz_id": "21070000000000042"},
    },
    "enrollment_created": {
        "metadata": metadata("enrollment_created", "2024-02-26T08:00:00.000Z", ADMIN, context_role="AccountAdmin"),
        "body": {
            "enrollment_id": "21070000000046825",
            "course_id": COURSE,
            "user_id": NEWCOMER,
            "user_name": "Ada Lovelace",
            "type": "StudentEnrollment",
            "workflow_state": "active",
            "course_section_id": "21070000000004811",
        },
    },
    "enrollment_updated": {
        "metadata": metadata("enrollment_updated", "2024-03-20T08:00:00.000Z", ADMIN, context_role="AccountAdmin"),
        "body": {
            "enrollment_id": "21070000000046825",
            "course_id": COURSE,
            "user_id": NEWCOMER,
            "type": "StudentEnrollment",
            "workflow_state": "deleted",
        },
    },
    "logged_in": {
        "metadata": metadata("logged_in", "2024-03-04T08:59:01.000Z", context_type=None, context_id=None),
        "body": {"redirect_url": f"{HOST}/"},
    },
    "discussion_entry_created": {
        "metadata": metadata("discussion_entry_created", "2024-03-06T11:00:00.000Z"),
        "body": {
            "discussion_entry_id": "21070000000000901",
            "parent_discussion_entry_id": "21070000000000900",
            "discussion_topic_id": "21070000000000120",
            "text": "<p>I agree with the second approach.</p>",
            "user_id": STUDENT,
        },
    },
    "wiki_page_updated": {
        "metadata": metadata("wiki_page_updated", "2024-03-07T12:00:00.000Z"),
        "body": {"wiki_page_id": "21070000000000300", "title": "Group notes", "body": "<p>…</p>"},
    },
    "account_notification_created": {  # an event edupulse has no verb for: other
        "metadata": metadata("account_notification_created", "2024-03-08T12:00:00.000Z"),
        "body": {"account_notification_id": "21070000000000005", "subject": "Maintenance"},
    },
}
# An event of no user: a job's.
JOB_EVENT = {
    "metadata": metadata("course_updated", "2024-03-09T00:00:00.000Z", None, job_id="1020304", job_tag="Course#x"),
    "body": {"course_id": COURSE, "name": "Algebra", "workflow_state": "available"},
}


def _person(user: str) -> dict[str, Any]:
    return {"id": f"urn:instructure:canvas:user:{user}", "type": "Person"}


def _caliper(event_id: str, kind: str, actor: str, action: str, obj: dict[str, Any], **more: Any) -> dict[str, Any]:
    return {
        "@context": V1P1,
        "id": f"urn:uuid:{event_id}",
        "type": kind,
        "actor": _person(actor)
        | {"extensions": {"com.instructure.canvas": {"root_account_id": ADMIN, "entity_id": actor}}},
        "action": action,
        "object": obj,
        "eventTime": more.pop("time"),
        "edApp": {"id": f"{HOST}/", "type": "SoftwareApplication"},
        "session": {"id": "urn:instructure:canvas:session:9e0f3a1b2c4d5e6f", "type": "Session"},
        "extensions": {"com.instructure.canvas": {"hostname": "school.instructure.com", "version": "1.0.0"}},
    } | more


_GROUP = {
    "id": f"urn:instructure:canvas:course:{COURSE}",
    "type": "CourseOffering",
    "extensions": {"com.instructure.canvas": {"context_type": "Course", "entity_id": COURSE}},
}
_ATTEMPT = {
    "id": "urn:instructure:canvas:submission:21070000000011086",
    "type": "Attempt",
    "assignee": _person(STUDENT),
    "assignable": {"id": "urn:instructure:canvas:assignment:21070000000000355", "type": "AssignableDigitalResource"},
    "extensions": {"com.instructure.canvas": {"entity_id": "21070000000011086", "submission_type": "online_upload"}},
    "count": 1,
}

CALIPER: dict[str, dict[str, Any]] = {
    "asset_accessed": _caliper(
        "5e3c8d2a-0f41-4b8e-9a77-1c2d3e4f5a60",
        "NavigationEvent",
        STUDENT,
        "NavigatedTo",
        {
            "id": f"urn:instructure:canvas:course:{COURSE}",
            "type": "Entity",
            "name": "files",
            "extensions": {"com.instructure.canvas": {"asset_type": "course", "asset_subtype": "files"}},
        },
        time="2024-03-04T09:01:00.000Z",
        referrer=f"{HOST}/courses/565",
        group=_GROUP,
    ),
    "submission_created": _caliper(
        "6f4d9e3b-1a52-4c9f-8b88-2d3e4f5a6b71",
        "AssignableEvent",
        STUDENT,
        "Submitted",
        _ATTEMPT,
        time="2024-03-04T09:40:12.000Z",
    ),
    "grade_change": _caliper(
        "7a5e0f4c-2b63-4d0a-9c99-3e4f5a6b7c82",
        "GradeEvent",
        TEACHER,
        "Graded",
        _ATTEMPT,
        time="2024-03-05T14:02:00.000Z",
        generated={
            "id": "urn:instructure:canvas:submission:21070000000011086",
            "type": "Score",
            "attempt": _ATTEMPT,
            "maxScore": 10,
            "scoreGiven": 8,
            "scoredBy": f"urn:instructure:canvas:user:{TEACHER}",
        },
        group=_GROUP,
    ),
    "enrollment_created": _caliper(
        "8b6f1a5d-3c74-4e1b-8daa-4f5a6b7c8d93",
        "Event",
        ADMIN,
        "Created",
        {
            "id": "urn:instructure:canvas:enrollment:21070000000046825",
            "type": "Entity",
            "extensions": {
                "com.instructure.canvas": {
                    "course_id": f"urn:instructure:canvas:course:{COURSE}",
                    "user_id": f"urn:instructure:canvas:user:{NEWCOMER}",
                    "type": "StudentEnrollment",
                    "workflow_state": "active",
                }
            },
        },
        time="2024-02-26T08:00:00.000Z",
        group={"id": f"urn:instructure:canvas:course:{COURSE}:section:21070000000004811", "type": "CourseSection"},
    ),
    "quiz_submitted": _caliper(
        "1e9c4d8a-6f07-4b5e-8add-7c8d9eafb0c6",
        "AssessmentEvent",
        STUDENT,
        "Submitted",
        _ATTEMPT
        | {
            "id": "urn:instructure:canvas:submission:21070000000000777",
            "assignable": {"id": "urn:instructure:canvas:quiz:21070000000000042", "type": "Assessment"},
        },
        time="2024-03-06T10:15:30.500Z",
        group=_GROUP,
    ),
    "discussion_entry_created": _caliper(
        "2fad5e9b-7018-4c6f-9bee-8d9eafb0c1d7",
        "MessageEvent",
        STUDENT,
        "Posted",
        {
            "id": "urn:instructure:canvas:discussionEntry:21070000000000901",
            "type": "Message",
            "isPartOf": {"id": "urn:instructure:canvas:discussion:21070000000000120", "type": "Thread"},
            "body": "<p>I agree with the second approach.</p>",
        },
        time="2024-03-06T11:00:00.000Z",
        group=_GROUP,
    ),
    "logged_in": _caliper(
        "9c7a2b6e-4d85-4f2c-9ebb-5a6b7c8d9ea4",
        "SessionEvent",
        STUDENT,
        "LoggedIn",
        {"id": f"{HOST}/", "type": "SoftwareApplication"},
        time="2024-03-04T08:59:01.000Z",
    ),
}


# Canvas itself serving a file: no learner's event.
SYSTEM_NAVIGATION = CALIPER["asset_accessed"] | {
    "id": "urn:uuid:0d8b3c7f-5e96-4a3d-8fcc-6b7c8d9eafb5",
    "actor": {"id": f"{HOST}/", "type": "SoftwareApplication"},
}


def envelope(*events: dict[str, Any]) -> dict[str, Any]:
    return {"sensor": f"{HOST}/", "sendTime": "2024-03-10T00:00:00.000Z", "dataVersion": V1P1, "data": list(events)}
