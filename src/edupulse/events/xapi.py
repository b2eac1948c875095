"""xAPI statements: typed decoding with precise errors, and the mapping to LearningEvent.

Decoding is done by msgspec in one pass (types, required fields, unknown properties).
The structs are not tracked by the garbage collector (``gc=False``): decoded JSON cannot
form reference cycles, and untracked objects keep large batches from triggering
collections;
the checks msgspec cannot express (one identifier per agent, IRIs, known verbs) follow,
and every error names the statement and field it is about, as ``$[3].actor.mbox``.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Literal

import msgspec

from edupulse.errors import InvalidEventError
from edupulse.events.model import ExtensionValue, LearningEvent, Result
from edupulse.events.vocabulary import Verb, verb_from_name

__all__ = [
    "MAPPING_VERSION",
    "SKILLS_EXTENSION",
    "Item",
    "Statement",
    "decode_statements",
    "id_text",
    "parse_duration",
    "to_event",
]

MAPPING_VERSION = "xapi-2"  # 2: the due-date extension becomes the event's due_us
SKILLS_EXTENSION = "https://edupulse.dev/xapi/extensions/skills"
DUE_EXTENSION = "https://edupulse.dev/xapi/extensions/due"  # ISO 8601 due time of the object (an assignment)
COURSE_TYPE_SUFFIX = "/course"
_IRI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:[^\s]+$")
_DURATION = re.compile(
    r"^P(?:(?P<y>\d+(?:\.\d+)?)Y)?(?:(?P<mo>\d+(?:\.\d+)?)M)?(?:(?P<w>\d+(?:\.\d+)?)W)?"
    r"(?:(?P<d>\d+(?:\.\d+)?)D)?(?:T(?:(?P<h>\d+(?:\.\d+)?)H)?(?:(?P<mi>\d+(?:\.\d+)?)M)?"
    r"(?:(?P<s>\d+(?:\.\d+)?)S)?)?$"
)
_DURATION_SECONDS = {"y": 31_536_000, "mo": 2_592_000, "w": 604_800, "d": 86_400, "h": 3600, "mi": 60, "s": 1}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_IFI_FIELDS = ("mbox", "mbox_sha1sum", "openid", "account")


class Account(msgspec.Struct, forbid_unknown_fields=True, gc=False, omit_defaults=True):
    home_page: str = msgspec.field(name="homePage")
    name: str


class Agent(msgspec.Struct, forbid_unknown_fields=True, gc=False, omit_defaults=True):
    object_type: Literal["Agent", "Group"] = msgspec.field(name="objectType", default="Agent")
    name: str | None = None
    mbox: str | None = None
    mbox_sha1sum: str | None = None
    openid: str | None = None
    account: Account | None = None
    member: list[Agent] | None = None


class VerbRef(msgspec.Struct, forbid_unknown_fields=True, gc=False, omit_defaults=True):
    id: str
    display: dict[str, str] | None = None


class ActivityDefinition(msgspec.Struct, gc=False, omit_defaults=True):
    type: str | None = None
    name: dict[str, str] | None = None
    description: dict[str, str] | None = None
    extensions: dict[str, Any] | None = None


class StatementObject(msgspec.Struct, gc=False, omit_defaults=True):
    """An Activity, or (by objectType) an Agent, Group, StatementRef or SubStatement."""

    id: str | None = None
    object_type: str = msgspec.field(name="objectType", default="Activity")
    definition: ActivityDefinition | None = None
    mbox: str | None = None
    account: Account | None = None


class Score(msgspec.Struct, forbid_unknown_fields=True, gc=False, omit_defaults=True):
    scaled: float | None = None
    raw: float | None = None
    min: float | None = None
    max: float | None = None


class XapiResult(msgspec.Struct, forbid_unknown_fields=True, gc=False, omit_defaults=True):
    score: Score | None = None
    success: bool | None = None
    completion: bool | None = None
    response: str | None = None
    duration: str | None = None
    extensions: dict[str, Any] | None = None


class ContextActivities(msgspec.Struct, forbid_unknown_fields=True, gc=False, omit_defaults=True):
    parent: list[StatementObject] | StatementObject | None = None
    grouping: list[StatementObject] | StatementObject | None = None
    category: list[StatementObject] | StatementObject | None = None
    other: list[StatementObject] | StatementObject | None = None


class Context(msgspec.Struct, forbid_unknown_fields=True, gc=False, omit_defaults=True):
    registration: uuid.UUID | None = None
    instructor: Agent | None = None
    team: Agent | None = None
    context_activities: ContextActivities | None = msgspec.field(name="contextActivities", default=None)
    revision: str | None = None
    platform: str | None = None
    language: str | None = None
    statement: dict[str, Any] | None = None
    extensions: dict[str, Any] | None = None
    context_agents: list[dict[str, Any]] | None = msgspec.field(name="contextAgents", default=None)
    context_groups: list[dict[str, Any]] | None = msgspec.field(name="contextGroups", default=None)


class Statement(msgspec.Struct, forbid_unknown_fields=True, gc=False, omit_defaults=True):
    actor: Agent
    verb: VerbRef
    object: StatementObject
    id: uuid.UUID | None = None
    result: XapiResult | None = None
    context: Context | None = None
    timestamp: str | None = None
    stored: str | None = None
    authority: dict[str, Any] | None = None
    version: str | None = None
    attachments: list[dict[str, Any]] | None = None


_decode_list = msgspec.json.Decoder(list[msgspec.Raw]).decode
_decode_one = msgspec.json.Decoder(Statement).decode
_encode_canonical = msgspec.msgpack.Encoder(order="deterministic").encode
_encode_json = msgspec.json.Encoder().encode


class Item(msgspec.Struct, frozen=True, gc=False):
    """One statement of a request body: where it is, its bytes, and it or its error."""

    index: int
    path: str
    raw: bytes
    statement: Statement | InvalidEventError


def decode_statements(body: bytes) -> Iterator[Item]:
    """Each statement of a body holding one statement or an array of them.

    A body that is not JSON at all raises InvalidEventError.
    """
    stripped = body.lstrip()
    if stripped[:1] == b"[":
        try:
            items = _decode_list(body)
        except msgspec.DecodeError as exc:
            raise InvalidEventError(f"the body is not valid JSON: {exc}", path="$") from exc
        for i, raw in enumerate(items):
            data = bytes(raw)
            yield Item(i, f"$[{i}]", data, _decode_item(data, f"$[{i}]"))
        return
    if stripped[:1] != b"{":
        raise InvalidEventError("the body must be a JSON object (one statement) or an array of statements")
    yield Item(0, "$", body, _decode_item(body, "$"))


def _decode_item(raw: bytes, where: str) -> Statement | InvalidEventError:
    try:
        stmt = _decode_one(raw)
    except msgspec.ValidationError as exc:
        message, _, path = str(exc).partition(" - at `")
        path = where + path.rstrip("`").removeprefix("$") if path else where
        return InvalidEventError(f"{message} at {path}", path=path)
    except msgspec.DecodeError as exc:
        return InvalidEventError(f"{where} is not valid JSON: {exc}", path=where)
    problem = _check(stmt)
    if problem is not None:
        field, message = problem
        return InvalidEventError(f"{message} at {where}{field}", path=where + field)
    return stmt


def _check(stmt: Statement) -> tuple[str, str] | None:
    """Rules the type decoder cannot express: (field path, message) of the first broken one."""
    if not is_iri(stmt.verb.id):
        return ".verb.id", f"verb id must be an absolute IRI, got {stmt.verb.id!r}"
    problem = _check_agent(stmt.actor, ".actor")
    if problem is not None:
        return problem
    obj = stmt.object
    if obj.object_type == "Activity" and (not obj.id or not is_iri(obj.id)):
        return ".object.id", f"an Activity id must be an absolute IRI, got {obj.id!r}"
    if stmt.timestamp is not None and not _is_timestamp(stmt.timestamp):
        return ".timestamp", f"timestamp must be ISO 8601 with a time zone, got {stmt.timestamp!r}"
    return _check_result(stmt.result) if stmt.result is not None else None


def _check_result(res: XapiResult) -> tuple[str, str] | None:
    if res.duration is not None and parse_duration(res.duration) is None:
        return ".result.duration", f"duration must be an ISO 8601 duration like PT1M30S, got {res.duration!r}"
    if res.score is not None and res.score.scaled is not None and not -1 <= res.score.scaled <= 1:
        return ".result.score.scaled", f"scaled score must be between -1 and 1, got {res.score.scaled}"
    return None


@lru_cache(maxsize=4096)
def is_iri(text: str) -> bool:
    """Whether ``text`` is an absolute IRI (a scheme, a colon, no white space)."""
    return _IRI.match(text) is not None


def _check_agent(agent: Agent, where: str) -> tuple[str, str] | None:
    mbox = agent.mbox
    one = (mbox is not None) + (agent.mbox_sha1sum is not None) + (agent.openid is not None)
    if one + (agent.account is not None) == 1 and (mbox is None or mbox.startswith("mailto:")):
        return None  # the common case, decided without building the messages below
    ifis = [f for f in _IFI_FIELDS if getattr(agent, f) is not None]
    if len(ifis) > 1:
        return where, f"an agent must have exactly one identifier, got {', '.join(ifis)}"
    if not ifis and agent.object_type == "Agent":
        return where, "the agent has no identifier (mbox, mbox_sha1sum, openid or account)"
    if not ifis:
        return where, "an anonymous group cannot be the actor of a learning event; identify the group"
    if agent.mbox is not None and not agent.mbox.startswith("mailto:"):
        return f"{where}.mbox", f"mbox must be a mailto: IRI, got {agent.mbox!r}"
    return None


def _is_timestamp(text: str) -> bool:
    """Whether ``parse_timestamp`` accepts ``text``, without computing the result."""
    try:
        datetime.fromisoformat(text)
    except ValueError:
        return False
    return True


def parse_timestamp(text: str) -> int | None:
    """Epoch microseconds of an ISO 8601 timestamp; naive times are taken as UTC."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def parse_duration(text: str) -> float | None:
    """Seconds in an ISO 8601 duration (``PT1H30M``), or None if it is not one."""
    match = _DURATION.match(text)
    if match is None or text in ("P", "PT") or text.endswith("T"):
        return None
    return sum(float(v) * _DURATION_SECONDS[k] for k, v in match.groupdict().items() if v)


def id_text(value: uuid.UUID) -> str:
    """The canonical text of a UUID, as ``str()`` gives it (lower case, hyphens), in a third of the time."""
    return _encode_json(value)[1:-1].decode()


def learner_id(agent: Agent) -> str:
    """A stable identifier string for an agent's inverse functional identifier."""
    if agent.account is not None:
        return f"account:{agent.account.home_page}|{agent.account.name}"
    if agent.mbox is not None:
        return agent.mbox
    if agent.mbox_sha1sum is not None:
        return f"sha1:{agent.mbox_sha1sum}"
    return f"openid:{agent.openid}"


def digest(stmt: Statement) -> bytes:
    """Fingerprint of what a statement says, for telling duplicates from conflicts.

    16 bytes of SHA-256 over a canonical form: the decoded statement, without
    ``stored``, ``authority`` and ``version``, as MessagePack with the keys of every
    object sorted and fields at their default left out. Key order, white space and
    spelling (``1.0``/``1e0``, escapes) do not matter; any other change of content does.
    """
    core = stmt
    if stmt.stored is not None or stmt.authority is not None or stmt.version is not None:
        core = msgspec.structs.replace(stmt, stored=None, authority=None, version=None)
    return hashlib.sha256(_encode_canonical(core)).digest()[:16]


def verb_of(ref: VerbRef) -> Verb | None:
    """The vocabulary verb of an xAPI verb: by the IRI's last segment, then its display."""
    verb = _verb_of_iri(ref.id)
    if verb is None and ref.display:
        for word in ref.display.values():
            verb = verb_from_name(word)
            if verb is not None:
                break
    return verb


@lru_cache(maxsize=1024)
def _verb_of_iri(iri: str) -> Verb | None:
    return verb_from_name(iri.rstrip("/").rsplit("/", 1)[-1].rsplit("#", 1)[-1])


def _activities(value: list[StatementObject] | StatementObject | None) -> list[StatementObject]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def course_of(stmt: Statement) -> str | None:
    """The course: a context activity typed as a course, else the first parent."""
    ctx = stmt.context
    if ctx is None or ctx.context_activities is None:
        return None
    acts = ctx.context_activities
    candidates = _activities(acts.grouping) + _activities(acts.parent)
    for act in candidates:
        if act.definition and act.definition.type and act.definition.type.endswith(COURSE_TYPE_SUFFIX):
            return act.id
    parents = _activities(acts.parent)
    return parents[0].id if parents else None


def skills_of(stmt: Statement) -> tuple[str, ...]:
    """Skills from the edupulse skills extension (a string or a list of strings)."""
    for ext in (stmt.context and stmt.context.extensions, stmt.object.definition and stmt.object.definition.extensions):
        if ext and SKILLS_EXTENSION in ext:
            value = ext[SKILLS_EXTENSION]
            items = value if isinstance(value, list) else [value]
            return tuple(sorted({str(s) for s in items if isinstance(s, str | int)}))
    return ()


def _result(res: XapiResult | None) -> Result | None:
    if res is None:
        return None
    score = None
    if res.score is not None:
        s = res.score
        if s.scaled is not None:
            score = s.scaled
        elif s.raw is not None and s.min is not None and s.max is not None and s.max > s.min:
            score = (s.raw - s.min) / (s.max - s.min)
    duration = parse_duration(res.duration) if res.duration else None
    return Result(score, res.success, res.completion, duration)


def to_event(stmt: Statement, raw: bytes, *, tenant: str, event_id: str, stored_us: int, verb: Verb) -> LearningEvent:
    """The canonical event of a checked statement; ``raw`` becomes its payload.

    Pass ``b""`` as ``raw`` for an event bound for the log, whose payload travels
    beside it (see ``LearningEvent``).
    """
    obj = stmt.object
    object_type = obj.object_type
    if obj.definition is not None and obj.definition.type:
        object_type = obj.definition.type.rstrip("/").rsplit("/", 1)[-1]
    event_us = parse_timestamp(stmt.timestamp) if stmt.timestamp else None
    return LearningEvent(
        event_id=event_id,
        tenant=tenant,
        learner=learner_id(stmt.actor),
        verb=verb,
        object_id=obj.id or "",
        object_type=object_type,
        course=course_of(stmt),
        skills=skills_of(stmt),
        result=_result(stmt.result),
        event_time_us=stored_us if event_us is None else event_us,
        stored_time_us=stored_us,
        source_format="xapi",
        mapping_version=MAPPING_VERSION,
        payload=raw,
        extensions=extensions_of(stmt),
    )


def extensions_of(stmt: Statement) -> dict[str, ExtensionValue] | None:
    """Facts beyond the common fields: ``due_us`` from the due extension (context or object), if a timestamp."""
    for ext in (stmt.context and stmt.context.extensions, stmt.object.definition and stmt.object.definition.extensions):
        value = ext.get(DUE_EXTENSION) if ext else None
        due = parse_timestamp(value) if isinstance(value, str) else None
        if due is not None:
            return {"due_us": due}
    return None
