"""Rosters: who the people are, who teaches which class and who advises whom (OneRoster).

``base`` holds the store protocol and the shared SQL; ``sqlite`` and ``postgres`` the
backends; ``oneroster`` the CSV importer.
"""

from edupulse.roster.base import AuditEntry, Person, RosterRows, RosterStore
from edupulse.roster.model import Agent, Enrollment, RosterClass, RosterCourse, User

__all__ = [
    "Agent",
    "AuditEntry",
    "Enrollment",
    "Person",
    "RosterClass",
    "RosterCourse",
    "RosterRows",
    "RosterStore",
    "User",
]
