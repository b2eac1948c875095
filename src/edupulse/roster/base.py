"""The roster store: a protocol, and the SQL every backend shares.

What the access checks ask of it is one look-up per request: ``person(tenant, subject)``
resolves a token's subject to a roster user and the scope that follows from the roster
(the classes they teach and the students in them, the learners they advise or are the
guardian of). It is read from the store on every call, so every API process sees the
same roster, and a re-import takes effect at once.

The audit log lives beside the roster: append-only (the backends refuse UPDATE and
DELETE on it with triggers), one row per read of personal data.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any, Literal, Protocol

import msgspec

from edupulse.roster.model import STAFF_ROLES, Agent, Enrollment, RosterClass, RosterCourse, User

__all__ = ["AuditEntry", "Person", "RosterRows", "RosterStore", "SqlRoster", "learner_keys"]

AuditKind = Literal["personal", "identified"]


class RosterRows(msgspec.Struct):
    """One batch of roster changes: rows to upsert, and sourced ids to delete (delta files)."""

    users: list[User] = msgspec.field(default_factory=list)
    courses: list[RosterCourse] = msgspec.field(default_factory=list)
    classes: list[RosterClass] = msgspec.field(default_factory=list)
    enrollments: list[Enrollment] = msgspec.field(default_factory=list)
    agents: list[Agent] = msgspec.field(default_factory=list)
    deleted: list[tuple[str, str]] = msgspec.field(default_factory=list)  # (table, sourced id)

    def __len__(self) -> int:
        parts = (self.users, self.courses, self.classes, self.enrollments, self.agents, self.deleted)
        return sum(len(p) for p in parts)


class Person(msgspec.Struct, frozen=True):
    """A roster user and what the roster lets them see.

    ``courses``: every key of the classes they teach (class and course sourced ids and
    codes, as events may name a course by any of them); ``students``: the learner keys
    of the students in those classes; ``advisees``: of the learners they advise or are
    the guardian of; ``own``: their own learner keys.
    """

    tenant: str
    user: User
    admin: bool
    courses: frozenset[str]
    students: frozenset[str]
    advisees: frozenset[str]
    own: frozenset[str]

    @property
    def roles(self) -> list[str]:
        """The access roles the roster gives: admin, instructor, counsellor, learner."""
        found = ["admin"] if self.admin else []
        found += ["instructor"] if self.courses else []
        found += ["counsellor"] if self.advisees else []
        found += ["learner"] if self.user.role == "student" else []
        return found


class AuditEntry(msgspec.Struct, frozen=True):
    """One read of personal data: who, what, when and why."""

    at_us: int
    tenant: str
    actor: str
    roles: str
    action: str
    subject: str
    purpose: str
    kind: AuditKind
    seq: int = 0


def learner_keys(user: User) -> frozenset[str]:
    """The keys a user may carry as a learner in events: sourced id, username, identifier, mailto: email,
    and their LMS accounts as the event mappings spell them (``User.lms_ids``)."""
    keys = {user.sourced_id, user.username, user.identifier, f"mailto:{user.email}" if user.email else ""}
    return frozenset(k for k in (*keys, *user.lms_ids.split()) if k)


class RosterStore(Protocol):
    """The roster seam. Backends: ``roster.sqlite`` (embedded), ``roster.postgres`` (scale-out)."""

    def put(self, tenant: str, rows: RosterRows) -> None:
        """Upsert and delete one batch of rows, in one transaction."""

    def person(self, tenant: str, subject: str) -> Person | None:
        """The user whose sourced id (or else username) is ``subject``, with their scope."""

    def user(self, tenant: str, sourced_id: str) -> User | None:
        """One user by sourced id."""

    def users(self) -> list[User]:
        """Every user of every tenant (what the masking roster learns at start)."""

    def counts(self, tenant: str) -> dict[str, int]:
        """Rows per table for a tenant."""

    def audit(self, entry: AuditEntry) -> None:
        """Append one audit entry."""

    def audit_entries(
        self, tenant: str, *, after: int = 0, limit: int = 100, subject: str | None = None
    ) -> list[AuditEntry]:
        """A tenant's audit entries after sequence number ``after``, oldest first."""

    def close(self) -> None:
        """Release connections."""


_USER_COLS = "sourced_id, role, username, identifier, given_name, family_name, email, lms_ids"
_UPSERTS = {
    "users": (
        f"INSERT INTO {{p}}roster_users (tenant, {_USER_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (tenant, sourced_id) DO UPDATE SET role=excluded.role, username=excluded.username,"
        " identifier=excluded.identifier, given_name=excluded.given_name, family_name=excluded.family_name,"
        " email=excluded.email, lms_ids=excluded.lms_ids"
    ),
    "courses": (
        "INSERT INTO {p}roster_courses (tenant, sourced_id, title, course_code) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (tenant, sourced_id) DO UPDATE SET title=excluded.title, course_code=excluded.course_code"
    ),
    "classes": (
        "INSERT INTO {p}roster_classes (tenant, sourced_id, title, course_sourced_id, class_code)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (tenant, sourced_id) DO UPDATE SET title=excluded.title,"
        " course_sourced_id=excluded.course_sourced_id, class_code=excluded.class_code"
    ),
    "enrollments": (
        "INSERT INTO {p}roster_enrollments (tenant, sourced_id, class_sourced_id, user_sourced_id, role)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (tenant, sourced_id) DO UPDATE SET"
        " class_sourced_id=excluded.class_sourced_id, user_sourced_id=excluded.user_sourced_id, role=excluded.role"
    ),
    "agents": (
        "INSERT INTO {p}roster_agents (tenant, user_sourced_id, agent_sourced_id) VALUES (?, ?, ?)"
        " ON CONFLICT DO NOTHING"
    ),
}
_DELETES = {
    "users": "DELETE FROM {p}roster_users WHERE tenant=? AND sourced_id=?",
    "courses": "DELETE FROM {p}roster_courses WHERE tenant=? AND sourced_id=?",
    "classes": "DELETE FROM {p}roster_classes WHERE tenant=? AND sourced_id=?",
    "enrollments": "DELETE FROM {p}roster_enrollments WHERE tenant=? AND sourced_id=?",
}
_STAFF = ", ".join(f"'{r}'" for r in sorted(STAFF_ROLES))
_TAUGHT = (
    "SELECT c.sourced_id, c.class_code, c.course_sourced_id, COALESCE(co.course_code, '')"
    " FROM {p}roster_enrollments e JOIN {p}roster_classes c ON c.tenant=e.tenant AND c.sourced_id=e.class_sourced_id"
    " LEFT JOIN {p}roster_courses co ON co.tenant=c.tenant AND co.sourced_id=c.course_sourced_id"
    f" WHERE e.tenant=? AND e.user_sourced_id=? AND e.role IN ({_STAFF})"
)
_STUDENTS = (
    f"SELECT DISTINCT u.{_USER_COLS.replace(', ', ', u.')} FROM {{p}}roster_enrollments t"
    " JOIN {p}roster_enrollments s ON s.tenant=t.tenant AND s.class_sourced_id=t.class_sourced_id"
    " AND s.role='student' JOIN {p}roster_users u ON u.tenant=s.tenant AND u.sourced_id=s.user_sourced_id"
    f" WHERE t.tenant=? AND t.user_sourced_id=? AND t.role IN ({_STAFF})"
)
# Advisees: students who name the person as an agent, or whom the person names as agents.
_ADVISEES = (
    f"SELECT DISTINCT u.{_USER_COLS.replace(', ', ', u.')} FROM {{p}}roster_agents a"
    " JOIN {p}roster_users u ON u.tenant=a.tenant AND u.role='student'"
    " AND ((a.agent_sourced_id=? AND u.sourced_id=a.user_sourced_id)"
    " OR (a.user_sourced_id=? AND u.sourced_id=a.agent_sourced_id))"
    " WHERE a.tenant=?"
)
_AUDIT_COLS = "at_us, tenant, actor, roles, action, subject, purpose, kind"


class SqlRoster:
    """The queries; a backend supplies the connection, placeholders and DDL."""

    prefix = ""

    def _transaction(self) -> AbstractContextManager[Any]:
        raise NotImplementedError

    def _sql(self, text: str) -> str:
        return text.replace("{p}", self.prefix)

    def _fetch(self, sql: str, params: Sequence[object]) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    def _execute(self, cursor: Any, sql: str, params: Sequence[object]) -> None:
        raise NotImplementedError

    def _execute_many(self, cursor: Any, sql: str, rows: Sequence[Sequence[object]]) -> None:
        raise NotImplementedError

    def put(self, tenant: str, rows: RosterRows) -> None:
        with self._transaction() as cur:
            for table, sourced_id in rows.deleted:
                self._execute(cur, self._sql(_DELETES[table]), (tenant, sourced_id))
            for user in rows.users:  # a user's row lists all their agents: replace them
                self._execute(
                    cur,
                    self._sql("DELETE FROM {p}roster_agents WHERE tenant=? AND user_sourced_id=?"),
                    (tenant, user.sourced_id),
                )
            for table, items in self._upsert_rows(rows):
                if items:
                    values = [(tenant, *msgspec.structs.astuple(item)) for item in items]
                    self._execute_many(cur, self._sql(_UPSERTS[table]), values)

    @staticmethod
    def _upsert_rows(rows: RosterRows) -> Iterator[tuple[str, Sequence[msgspec.Struct]]]:
        yield "users", rows.users
        yield "courses", rows.courses
        yield "classes", rows.classes
        yield "enrollments", rows.enrollments
        yield "agents", rows.agents

    def user(self, tenant: str, sourced_id: str) -> User | None:
        found = self._fetch(
            self._sql(f"SELECT {_USER_COLS} FROM {{p}}roster_users WHERE tenant=? AND sourced_id=?"),
            (tenant, sourced_id),
        )
        return User(*found[0]) if found else None

    def users(self) -> list[User]:
        found = self._fetch(self._sql(f"SELECT {_USER_COLS} FROM {{p}}roster_users ORDER BY tenant, sourced_id"), ())
        return [User(*row) for row in found]

    def person(self, tenant: str, subject: str) -> Person | None:
        user = self.user(tenant, subject)
        if user is None:
            by_name = self._fetch(
                self._sql(
                    f"SELECT {_USER_COLS} FROM {{p}}roster_users WHERE tenant=? AND username=?"
                    " ORDER BY sourced_id LIMIT 1"
                ),
                (tenant, subject),
            )
            if not by_name:
                return None
            user = User(*by_name[0])
        sid = user.sourced_id
        taught = self._fetch(self._sql(_TAUGHT), (tenant, sid))
        students = self._fetch(self._sql(_STUDENTS), (tenant, sid))
        advisees = self._fetch(self._sql(_ADVISEES), (sid, sid, tenant))
        return Person(
            tenant=tenant,
            user=user,
            admin=user.role == "administrator",
            courses=frozenset(k for row in taught for k in row if k),
            students=frozenset(k for row in students for k in learner_keys(User(*row))),
            advisees=frozenset(k for row in advisees for k in learner_keys(User(*row))),
            own=learner_keys(user) if user.role == "student" else frozenset(),
        )

    def counts(self, tenant: str) -> dict[str, int]:
        out = {}
        for table in ("users", "courses", "classes", "enrollments", "agents"):
            rows = self._fetch(self._sql(f"SELECT count(*) FROM {{p}}roster_{table} WHERE tenant=?"), (tenant,))
            out[table] = int(rows[0][0])
        return out

    def audit(self, entry: AuditEntry) -> None:
        values = msgspec.structs.astuple(entry)[:-1]
        with self._transaction() as cur:
            self._execute(
                cur, self._sql(f"INSERT INTO {{p}}audit_log ({_AUDIT_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"), values
            )

    def audit_entries(
        self, tenant: str, *, after: int = 0, limit: int = 100, subject: str | None = None
    ) -> list[AuditEntry]:
        where = "tenant=? AND seq>?" + (" AND subject=?" if subject is not None else "")
        params: list[object] = [tenant, after] + ([subject] if subject is not None else []) + [limit]
        rows = self._fetch(
            self._sql(f"SELECT {_AUDIT_COLS}, seq FROM {{p}}audit_log WHERE {where} ORDER BY seq LIMIT ?"), params
        )
        return [AuditEntry(*row) for row in rows]
