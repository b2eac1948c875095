"""The roster's rows, as OneRoster 1.1 names them."""

from __future__ import annotations

import msgspec

__all__ = ["STAFF_ROLES", "USER_ROLES", "Agent", "Enrollment", "RosterClass", "RosterCourse", "User"]

# OneRoster 1.1 user roles (users.csv ``role``).
USER_ROLES = frozenset({"administrator", "aide", "guardian", "parent", "proctor", "relative", "student", "teacher"})
# Roles whose enrolment in a class makes them its instructors.
STAFF_ROLES = frozenset({"teacher", "aide", "administrator", "proctor"})


class User(msgspec.Struct, frozen=True):
    """A person: their role, and the direct identifiers the API shows only to allowed roles."""

    sourced_id: str
    role: str
    username: str = ""
    identifier: str = ""
    given_name: str = ""
    family_name: str = ""
    email: str = ""
    lms_ids: str = ""
    """The learner keys events give this person (``roster.keys.lms_keys`` of users.csv ``userIds``),
    space-separated: ``canvas-user:4711``, ``moodle-user:88``, ``account:HOME|NAME``."""


class RosterCourse(msgspec.Struct, frozen=True):
    """A course (``courses.csv``): the catalogue entry classes are sections of."""

    sourced_id: str
    title: str
    course_code: str = ""


class RosterClass(msgspec.Struct, frozen=True):
    """A class (``classes.csv``): a section of a course that people enrol in."""

    sourced_id: str
    title: str
    course_sourced_id: str
    class_code: str = ""


class Enrollment(msgspec.Struct, frozen=True):
    """A user's enrolment in a class with a role (``enrollments.csv``)."""

    sourced_id: str
    class_sourced_id: str
    user_sourced_id: str
    role: str


class Agent(msgspec.Struct, frozen=True):
    """``users.csv`` ``agentSourcedIds``: a user related to another (a guardian, an advisor)."""

    user_sourced_id: str
    agent_sourced_id: str
