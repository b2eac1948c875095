"""The xAPI value types: IRIs, UUIDs, timestamps, durations, language tags and maps, extensions.

Every check raises ``Invalid`` with the JSON path of the value and what is wrong with it.
Regular expressions are compiled once; the common, valid case is decided by one match.
"""

from __future__ import annotations

import re
from datetime import datetime
from functools import lru_cache
from typing import Any

from edupulse.errors import InvalidEventError

__all__ = [
    "Invalid",
    "check_extensions",
    "check_iri",
    "check_language_map",
    "check_uuid",
    "duration_ok",
    "expect_object",
    "expect_string",
    "language_tag_ok",
    "timestamp_ok",
]

_IRI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:[^\s<>\"{}|\\^`]*[^\s<>\"{}|\\^`/:]?$")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[1-8][0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}$")
_TIMESTAMP = re.compile(
    r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)(\.\d+)?"
    r"(?P<zone>Z|z|[+-](?:[01]\d|2[0-3])(?::?[0-5]\d)?)?$"
)
_DURATION = re.compile(
    r"^P(?:\d+(?:[.,]\d+)?W|(?=\d|T\d)(?:\d+(?:[.,]\d+)?Y)?(?:\d+(?:[.,]\d+)?M)?(?:\d+(?:[.,]\d+)?D)?"
    r"(?:T(?=\d)(?:\d+(?:[.,]\d+)?H)?(?:\d+(?:[.,]\d+)?M)?(?:\d+(?:[.,]\d+)?S)?)?)$"
)
_LANGUAGE_TAG = re.compile(
    r"^(?:[A-Za-z]{2,3}(?:-[A-Za-z]{3}){0,3}|[A-Za-z]{4,8})(?:-[A-Za-z]{4})?(?:-(?:[A-Za-z]{2}|\d{3}))?"
    r"(?:-(?:[A-Za-z\d]{5,8}|\d[A-Za-z\d]{3}))*(?:-[0-9A-WY-Za-wy-z](?:-[A-Za-z\d]{2,8})+)*(?:-[xX](?:-[A-Za-z\d]{1,8})+)?$"
    r"|^[xX](?:-[A-Za-z\d]{1,8})+$"
)


class Invalid(InvalidEventError):
    """A statement or parameter breaks a rule of the xAPI specification."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{message} at {path}", path=path)


def expect_object(value: Any, path: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise Invalid(path, f"expected a JSON object, got {_kind(value)}")
    return value


def expect_string(value: Any, path: str) -> str:
    if not isinstance(value, str):
        raise Invalid(path, f"expected a string, got {_kind(value)}")
    return value


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}.get(type(value), "a number")


@lru_cache(maxsize=8192)
def iri_ok(text: str) -> bool:
    return _IRI.match(text) is not None


def check_iri(value: Any, path: str) -> str:
    """An absolute IRI: a scheme, a colon and no white space."""
    text = expect_string(value, path)
    if not iri_ok(text):
        raise Invalid(path, f"expected an absolute IRI (scheme:...), got {text!r}")
    return text


def check_uuid(value: Any, path: str) -> str:
    text = expect_string(value, path)
    if _UUID.match(text) is None:
        raise Invalid(path, f"expected a UUID like 6fbd600f-d17c-4c74-801a-2ec2e53231f7, got {text!r}")
    return text


def timestamp_ok(text: str, *, zone_required: bool = False) -> bool:
    """ISO 8601 date and time (RFC 3339 profile); "-00:00" is refused as the spec asks."""
    match = _TIMESTAMP.match(text)
    if match is None:
        return False
    zone = match.group("zone")
    if zone is None:
        return not zone_required
    if zone[0] == "-" and not zone.strip("-:0"):
        return False
    try:
        datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        return False
    return True


def duration_ok(text: str) -> bool:
    return _DURATION.match(text) is not None


@lru_cache(maxsize=1024)
def language_tag_ok(tag: str) -> bool:
    return _LANGUAGE_TAG.match(tag) is not None


def check_language_map(value: Any, path: str) -> None:
    """An object of RFC 5646 language tags to strings."""
    for tag, text in expect_object(value, path).items():
        if not language_tag_ok(tag):
            raise Invalid(f"{path}.{tag}", f"{tag!r} is not an RFC 5646 language tag")
        if not isinstance(text, str):
            raise Invalid(f"{path}.{tag}", f"a language map's values are strings, got {_kind(text)}")


def check_extensions(value: Any, path: str) -> None:
    """An object whose keys are IRIs; values are any JSON (null included)."""
    for key in expect_object(value, path):
        if not iri_ok(key):
            raise Invalid(f"{path}.{key}", f"extension keys must be absolute IRIs, got {key!r}")
