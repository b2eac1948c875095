"""A whole statement: its properties, object, result, context, attachments and version rules.

``check_statement`` takes the decoded JSON of one statement and raises ``Invalid``
naming the first broken rule. ``v2`` turns on the rules of xAPI 2.0.0 (IEEE 9274.1.1):
timestamps need a time zone, and the context may list ``contextAgents`` and
``contextGroups``.
"""

from __future__ import annotations

import re
from typing import Any

from edupulse.lrs.validate.activities import check_activity
from edupulse.lrs.validate.agents import check_actor, check_agent, check_group
from edupulse.lrs.validate.values import (
    Invalid,
    check_extensions,
    check_iri,
    check_language_map,
    check_uuid,
    duration_ok,
    expect_object,
    expect_string,
    language_tag_ok,
    timestamp_ok,
)

__all__ = ["check_statement", "object_kind"]

_STATEMENT_FIELDS = frozenset(
    ("id", "actor", "verb", "object", "result", "context", "timestamp", "stored", "authority", "version", "attachments")
)
_SUB_FIELDS = frozenset(("objectType", "actor", "verb", "object", "result", "context", "timestamp", "attachments"))
_CONTEXT_FIELDS = frozenset(
    {"registration", "instructor", "team", "contextActivities", "revision", "platform", "language", "statement"}
    | {"extensions"}
)
_CONTEXT_V2_FIELDS = _CONTEXT_FIELDS | {"contextAgents", "contextGroups"}
_ATTACHMENT_FIELDS = frozenset(("usageType", "display", "description", "contentType", "length", "sha2", "fileUrl"))
_ATTACHMENT_REQUIRED = ("usageType", "display", "contentType", "length", "sha2")
_VERSION_1 = re.compile(r"^1\.0(\.\d+)?$")
_VERSION_2 = re.compile(r"^(1\.0(\.\d+)?|2\.0(\.\d+)?)$")
_MEDIA_TYPE = re.compile(r"^[\w.+-]+/[\w.+-]+(\s*;.*)?$")
_SHA2 = re.compile(r"^[0-9a-fA-F]{56,128}$")
_SCORE_FIELDS = ("scaled", "raw", "min", "max")


def check_statement(
    value: Any, path: str = "$", *, v2: bool = False, trusted: frozenset[str] = frozenset()
) -> dict[str, Any]:
    """Raise ``Invalid`` unless ``value`` is a valid statement; ``trusted`` fields were checked already."""
    stmt = expect_object(value, path)
    _check_fields(stmt, _STATEMENT_FIELDS, path, "a Statement")
    for field in ("actor", "verb", "object"):
        if field not in stmt:
            raise Invalid(f"{path}.{field}", f"a Statement needs {field!r}")
    if "id" in stmt:
        check_uuid(stmt["id"], f"{path}.id")
    if "version" in stmt:
        version = expect_string(stmt["version"], f"{path}.version")
        if (_VERSION_2 if v2 else _VERSION_1).match(version) is None:
            raise Invalid(f"{path}.version", f"unsupported xAPI version {version!r}")
    if "stored" in stmt:
        _check_timestamp(stmt["stored"], f"{path}.stored", v2=False)
    if "authority" in stmt:
        _check_authority(stmt["authority"], f"{path}.authority")
    _check_body(stmt, path, v2=v2, sub=False, trusted=trusted)
    return stmt


def _check_body(stmt: dict[str, Any], path: str, *, v2: bool, sub: bool, trusted: frozenset[str] = frozenset()) -> None:
    """What statements and sub-statements share: actor, verb, object, result, context..."""
    if "actor" not in trusted:
        check_actor(stmt["actor"], f"{path}.actor")
    if "verb" not in trusted:
        _check_verb(stmt["verb"], f"{path}.verb")
    if "object" in trusted:
        kind = str(stmt["object"].get("objectType", "Activity"))
    else:
        kind = _check_object(stmt["object"], f"{path}.object", v2=v2, sub=sub)
    if "result" in stmt:
        _check_result(stmt["result"], f"{path}.result")
    if "context" in stmt and "context" not in trusted:
        _check_context(stmt["context"], f"{path}.context", object_kind=kind, v2=v2)
    if "timestamp" in stmt:
        _check_timestamp(stmt["timestamp"], f"{path}.timestamp", v2=v2)
    if "attachments" in stmt:
        _check_attachments(stmt["attachments"], f"{path}.attachments")


def _check_fields(obj: dict[str, Any], allowed: frozenset[str], path: str, what: str) -> None:
    for field, value in obj.items():
        if field not in allowed:
            raise Invalid(f"{path}.{field}", f"unknown property {field!r} of {what}")
        if value is None:
            raise Invalid(f"{path}.{field}", "properties cannot be null (outside extensions)")


def _check_verb(value: Any, path: str) -> None:
    verb = expect_object(value, path)
    _check_fields(verb, frozenset(("id", "display")), path, "a Verb")
    if "id" not in verb:
        raise Invalid(f"{path}.id", "a Verb needs an id (an IRI)")
    check_iri(verb["id"], f"{path}.id")
    if "display" in verb:
        check_language_map(verb["display"], f"{path}.display")


def _check_object(value: Any, path: str, *, v2: bool, sub: bool) -> str:
    obj = expect_object(value, path)
    kind = obj.get("objectType", "Activity")
    if kind == "Activity":
        check_activity(obj, path)
    elif kind == "Agent":
        check_agent(obj, path)
    elif kind == "Group":
        check_group(obj, path)
    elif kind == "StatementRef":
        _check_statement_ref(obj, path)
    elif kind == "SubStatement" and not sub:
        _check_fields(obj, _SUB_FIELDS, path, "a SubStatement")
        for field in ("actor", "verb", "object"):
            if field not in obj:
                raise Invalid(f"{path}.{field}", f"a SubStatement needs {field!r}")
        _check_body(obj, path, v2=v2, sub=True)
    elif kind == "SubStatement":
        raise Invalid(f"{path}.objectType", "a SubStatement cannot contain another SubStatement")
    else:
        raise Invalid(f"{path}.objectType", f"unknown objectType {kind!r}")
    return str(kind)


def _check_statement_ref(value: Any, path: str) -> None:
    ref = expect_object(value, path)
    _check_fields(ref, frozenset(("objectType", "id")), path, "a StatementRef")
    if ref.get("objectType") != "StatementRef":
        raise Invalid(f"{path}.objectType", "a StatementRef needs objectType 'StatementRef'")
    check_uuid(ref.get("id"), f"{path}.id")


def _check_result(value: Any, path: str) -> None:
    result = expect_object(value, path)
    allowed = frozenset(("score", "success", "completion", "response", "duration", "extensions"))
    _check_fields(result, allowed, path, "a Result")
    for field in ("success", "completion"):
        if field in result and not isinstance(result[field], bool):
            raise Invalid(f"{path}.{field}", f"{field} must be true or false")
    if "response" in result:
        expect_string(result["response"], f"{path}.response")
    if "duration" in result and not duration_ok(expect_string(result["duration"], f"{path}.duration")):
        raise Invalid(f"{path}.duration", f"expected an ISO 8601 duration like PT1M30S, got {result['duration']!r}")
    if "extensions" in result:
        check_extensions(result["extensions"], f"{path}.extensions")
    if "score" in result:
        _check_score(result["score"], f"{path}.score")


def _check_score(value: Any, path: str) -> None:
    score = expect_object(value, path)
    _check_fields(score, frozenset(_SCORE_FIELDS), path, "a Score")
    for field, number in score.items():
        if isinstance(number, bool) or not isinstance(number, int | float):
            raise Invalid(f"{path}.{field}", f"{field} must be a number")
    if "scaled" in score and not -1 <= score["scaled"] <= 1:
        raise Invalid(f"{path}.scaled", "scaled must be between -1 and 1")
    low, high, raw = score.get("min"), score.get("max"), score.get("raw")
    if low is not None and high is not None and low >= high:
        raise Invalid(f"{path}.max", "max must be greater than min")
    if raw is not None and ((low is not None and raw < low) or (high is not None and raw > high)):
        raise Invalid(f"{path}.raw", "raw must be between min and max")


def _check_context(value: Any, path: str, *, object_kind: str, v2: bool) -> None:
    ctx = expect_object(value, path)
    _check_fields(ctx, _CONTEXT_V2_FIELDS if v2 else _CONTEXT_FIELDS, path, "a Context")
    if "registration" in ctx:
        check_uuid(ctx["registration"], f"{path}.registration")
    if "instructor" in ctx:
        check_actor(ctx["instructor"], f"{path}.instructor")
    if "team" in ctx:
        check_group(ctx["team"], f"{path}.team")
    for field in ("revision", "platform"):
        if field in ctx:
            expect_string(ctx[field], f"{path}.{field}")
            if object_kind != "Activity":
                raise Invalid(f"{path}.{field}", f"{field} is only allowed when the object is an Activity")
    if "language" in ctx and not language_tag_ok(expect_string(ctx["language"], f"{path}.language")):
        raise Invalid(f"{path}.language", f"{ctx['language']!r} is not an RFC 5646 language tag")
    if "statement" in ctx:
        _check_statement_ref(ctx["statement"], f"{path}.statement")
    if "extensions" in ctx:
        check_extensions(ctx["extensions"], f"{path}.extensions")
    if "contextActivities" in ctx:
        _check_context_activities(ctx["contextActivities"], f"{path}.contextActivities")
    for field, kind, key in (("contextAgents", "contextAgent", "agent"), ("contextGroups", "contextGroup", "group")):
        if field in ctx:
            _check_context_actors(ctx[field], f"{path}.{field}", kind, key)


def _check_context_activities(value: Any, path: str) -> None:
    acts = expect_object(value, path)
    _check_fields(acts, frozenset(("parent", "grouping", "category", "other")), path, "contextActivities")
    for field, item in acts.items():
        items = item if isinstance(item, list) else [item]
        for i, activity in enumerate(items):
            check_activity(activity, f"{path}.{field}[{i}]" if isinstance(item, list) else f"{path}.{field}")


def _check_context_actors(value: Any, path: str, kind: str, key: str) -> None:
    if not isinstance(value, list):
        raise Invalid(path, f"expected an array of {kind} objects")
    for i, item in enumerate(value):
        where = f"{path}[{i}]"
        entry = expect_object(item, where)
        _check_fields(entry, frozenset(("objectType", key, "relevantTypes")), where, f"a {kind}")
        if entry.get("objectType") != kind:
            raise Invalid(f"{where}.objectType", f"expected objectType {kind!r}")
        if key not in entry:
            raise Invalid(f"{where}.{key}", f"a {kind} needs {key!r}")
        if key == "agent":
            check_agent(entry[key], f"{where}.{key}")
        else:
            check_group(entry[key], f"{where}.{key}")
        if "relevantTypes" in entry:
            types = entry["relevantTypes"]
            if not isinstance(types, list) or not types:
                raise Invalid(f"{where}.relevantTypes", "relevantTypes must be a non-empty array of IRIs")
            for j, iri in enumerate(types):
                check_iri(iri, f"{where}.relevantTypes[{j}]")


def _check_timestamp(value: Any, path: str, *, v2: bool) -> None:
    text = expect_string(value, path)
    if not timestamp_ok(text, zone_required=v2):
        zone = " with a time zone" if v2 else ""
        raise Invalid(path, f"expected an ISO 8601 timestamp{zone} like 2024-05-01T12:00:00Z, got {text!r}")


def _check_authority(value: Any, path: str) -> None:
    authority = check_actor(value, path)
    if authority.get("objectType") == "Group":
        members = authority.get("member")
        identified = any(field in authority for field in ("mbox", "mbox_sha1sum", "openid", "account"))
        if identified or not isinstance(members, list) or len(members) != 2:
            raise Invalid(
                f"{path}.member", "a Group as authority must have exactly two Agents (OAuth consumer and user)"
            )


def _check_attachments(value: Any, path: str) -> None:
    if not isinstance(value, list):
        raise Invalid(path, "attachments must be an array")
    for i, item in enumerate(value):
        where = f"{path}[{i}]"
        att = expect_object(item, where)
        _check_fields(att, _ATTACHMENT_FIELDS, where, "an Attachment")
        for field in _ATTACHMENT_REQUIRED:
            if field not in att:
                raise Invalid(f"{where}.{field}", f"an Attachment needs {field!r}")
        check_iri(att["usageType"], f"{where}.usageType")
        check_language_map(att["display"], f"{where}.display")
        if "description" in att:
            check_language_map(att["description"], f"{where}.description")
        if _MEDIA_TYPE.match(expect_string(att["contentType"], f"{where}.contentType")) is None:
            raise Invalid(f"{where}.contentType", "contentType must be an Internet media type")
        length = att["length"]
        if isinstance(length, bool) or not isinstance(length, int) or length < 0:
            raise Invalid(f"{where}.length", "length must be a whole number of bytes")
        if _SHA2.match(expect_string(att["sha2"], f"{where}.sha2")) is None:
            raise Invalid(f"{where}.sha2", "sha2 must be the hex SHA-2 digest of the attachment")
        if "fileUrl" in att:
            check_iri(att["fileUrl"], f"{where}.fileUrl")


def object_kind(stmt: dict[str, Any]) -> str:
    """The objectType of a (checked) statement's object."""
    return str(stmt["object"].get("objectType", "Activity"))
