"""Signed statements: the JWS (compact serialisation) carried by a signature attachment.

The LRS checks what the specification requires of it: the attachment is a JWS with an
RS256, RS384 or RS512 algorithm whose payload is the statement as it was signed
(the same actor, verb, object, result, context and timestamp; the id if the payload
has one). The RSA signature itself is the business of whoever trusts the signer's
certificate (``x5c``), which the LRS cannot vouch for.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

import msgspec

from edupulse.lrs.validate.values import Invalid

__all__ = ["SIGNATURE_USAGE", "check_signature"]

SIGNATURE_USAGE = "http://adlnet.gov/expapi/attachments/signature"
_ALGORITHMS = frozenset(("RS256", "RS384", "RS512"))
_HUNDREDTHS = re.compile(r"(\.\d{1,2})\d*(?=S$)")
_COMPARED = ("actor", "verb", "object", "result", "context", "timestamp")


def _b64(part: str, path: str) -> Any:
    try:
        return msgspec.json.decode(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    except (binascii.Error, ValueError, msgspec.DecodeError):
        raise Invalid(path, "the signature is not a JWS (base64url JSON header and payload)") from None


def _comparable(field: str, value: Any) -> Any:
    """A value as compared: a result's duration counts to the hundredth of a second (xAPI 2.0)."""
    if field != "result" or not isinstance(value, dict) or not isinstance(value.get("duration"), str):
        return value
    return {**value, "duration": _HUNDREDTHS.sub(r"\1", value["duration"])}


def check_signature(stmt: dict[str, Any], jws: bytes, path: str) -> None:
    """Raise ``Invalid`` unless ``jws`` is a fitting signature of ``stmt``."""
    try:
        text = jws.decode("ascii").strip()
    except UnicodeDecodeError:
        raise Invalid(path, "the signature is not a JWS in compact serialisation") from None
    parts = text.split(".")
    if len(parts) != 3 or not parts[2]:
        raise Invalid(path, "the signature is not a JWS in compact serialisation (header.payload.signature)")
    header, payload = _b64(parts[0], path), _b64(parts[1], path)
    if not isinstance(header, dict) or header.get("alg") not in _ALGORITHMS:
        raise Invalid(path, "the JWS algorithm must be RS256, RS384 or RS512")
    if not isinstance(payload, dict):
        raise Invalid(path, "the JWS payload must be the signed statement")
    for field in _COMPARED:
        if field in stmt and _comparable(field, payload.get(field)) != _comparable(field, stmt[field]):
            raise Invalid(path, f"the JWS payload does not match the statement's {field}")
    if "id" in payload and str(payload["id"]).lower() != str(stmt.get("id", payload["id"])).lower():
        raise Invalid(path, "the JWS payload does not match the statement's id")
