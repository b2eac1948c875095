"""A caller and what it may see.

Two kinds: a source key (``edupulse keys create``) and a person signed in with a
token, whose scope comes from the roster. The rules:

- a key with only ``ingest`` may only send data (every read is a 403);
- a key with ``read`` is a tool reading its tenant's pseudonymous analytics;
  with ``admin`` it is an administrator;
- a roster ``administrator`` is an administrator;
- an instructor sees the classes they teach (and the learners in them, for those
  classes); a counsellor or guardian the learners they advise; a learner themselves.

Identified data (names, e-mail addresses) goes to administrators, and to people
whose roster relation covers the learner; never to keys without ``admin``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import msgspec

from edupulse.errors import ForbiddenError
from edupulse.roster.base import Person, learner_keys
from edupulse.roster.model import User

__all__ = ["Caller"]


class Caller(msgspec.Struct, frozen=True):
    """Who is calling (``name``), for which tenant, and with what standing."""

    name: str
    tenant: str
    kind: Literal["key", "person"]
    scopes: frozenset[str] = frozenset()
    person: Person | None = None

    @property
    def admin(self) -> bool:
        return "admin" in self.scopes if self.person is None else self.person.admin

    @property
    def everything(self) -> bool:
        """Sees every pseudonymous row of the tenant: administrators and read keys."""
        return self.admin or (self.person is None and "read" in self.scopes)

    @property
    def roles(self) -> list[str]:
        if self.person is not None:
            return self.person.roles or ["none"]
        return sorted(self.scopes)

    def require_reader(self) -> None:
        if self.person is None and not self.scopes & {"read", "admin"}:
            raise ForbiddenError(f"key {self.name!r} may only ingest; reading needs a key with --scope read")
        if self.person is not None and not self.person.roles:
            raise ForbiddenError(f"{self.name} has no role in the roster that may read analytics")

    def require_everything(self) -> None:
        """Tenant-wide operational data: administrators and read keys only."""
        self.require_reader()
        if not self.everything:
            raise ForbiddenError(f"{self.name} may not read tenant-wide data; it needs an administrator or a read key")

    def require_admin(self) -> None:
        if not self.admin:
            raise ForbiddenError(f"{self.name} is not an administrator")

    def _learners(self) -> frozenset[str]:
        p = self.person
        return frozenset() if p is None else p.own | p.advisees | p.students

    def check_course(self, course: str) -> None:
        if not self.everything and (self.person is None or course not in self.person.courses):
            raise ForbiddenError(f"{self.name} does not teach course {course!r}")

    def check_learner(self, learner: str) -> None:
        if not self.everything and learner not in self._learners():
            raise ForbiddenError(f"{self.name} may not see learner {learner!r}")

    def sees_course(self, course: object) -> bool:
        return self.everything or (self.person is not None and course in self.person.courses)

    def sees_row(self, row: Mapping[str, object]) -> bool:
        """A row of a course they teach, or of a learner they are (or advise)."""
        if self.everything:
            return True
        p = self.person
        if p is None:
            return False
        return row.get("course") in p.courses or row.get("learner") in (p.own | p.advisees)

    def may_identify(self, user: User) -> bool:
        """May see the names and e-mail of this roster user."""
        if self.admin:
            return True
        if self.person is None:
            return False
        return user.sourced_id == self.person.user.sourced_id or bool(learner_keys(user) & self._learners())
