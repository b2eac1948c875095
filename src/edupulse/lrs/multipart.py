"""multipart/mixed bodies of statements with attachments (RFC 2046), read and written.

The first part holds the statements (application/json); each further part is one
attachment's content, named by its ``X-Experience-API-Hash`` header and sent with
``Content-Transfer-Encoding: binary``.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence

from edupulse.errors import InvalidEventError
from edupulse.lrs.writer import Part

__all__ = ["boundary_of", "build_multipart", "parse_multipart"]

_BOUNDARY = re.compile(r'boundary="?([^";]+)"?', re.IGNORECASE)


def boundary_of(content_type: str) -> str:
    match = _BOUNDARY.search(content_type)
    if match is None:
        raise InvalidEventError("a multipart/mixed body needs a boundary parameter in its Content-Type")
    return match.group(1)


def _headers(block: bytes, index: int) -> dict[str, str]:
    headers: dict[str, str] = {}
    for line in block.split(b"\r\n"):
        if not line.strip():
            continue
        name, sep, value = line.decode("latin-1").partition(":")
        if not sep:
            raise InvalidEventError(f"part {index} of the multipart body has a malformed header line")
        headers[name.strip().lower()] = value.strip()
    return headers


def parse_multipart(body: bytes, content_type: str) -> tuple[bytes, dict[str, Part]]:
    """The statements part and the attachments (by SHA-2) of a multipart/mixed body."""
    delimiter = b"--" + boundary_of(content_type).encode("latin-1")
    chunks = body.split(delimiter)
    if len(chunks) < 3 or not chunks[-1].startswith(b"--"):
        raise InvalidEventError("the multipart body is not closed by its boundary followed by --")
    parts: list[tuple[dict[str, str], bytes]] = []
    for index, raw in enumerate(chunks[1:-1]):
        chunk = raw.removeprefix(b"\r\n").removesuffix(b"\r\n")
        head, sep, content = chunk.partition(b"\r\n\r\n")
        if not sep:
            head, content = (b"", chunk[2:]) if chunk.startswith(b"\r\n") else (head, b"")
        parts.append((_headers(head, index), content))
    first_headers, statements = parts[0]
    if first_headers.get("content-type", "").split(";")[0].strip() != "application/json":
        raise InvalidEventError("the first part of a multipart body must be the statements, as application/json")
    attachments: dict[str, Part] = {}
    for index, (headers, content) in enumerate(parts[1:], start=1):
        sha2 = headers.get("x-experience-api-hash")
        if not sha2:
            raise InvalidEventError(f"attachment part {index} has no X-Experience-API-Hash header")
        if headers.get("content-transfer-encoding", "binary").lower() != "binary":
            raise InvalidEventError(f"attachment part {index} must use Content-Transfer-Encoding: binary")
        attachments[sha2] = Part(headers.get("content-type", "application/octet-stream"), content)
    return statements, attachments


def build_multipart(statements: bytes, attachments: Sequence[tuple[str, str, bytes]]) -> tuple[bytes, str]:
    """A multipart/mixed body and its Content-Type."""
    boundary = secrets.token_hex(16)
    out = [f"--{boundary}\r\nContent-Type: application/json\r\n\r\n".encode(), statements, b"\r\n"]
    for sha2, content_type, content in attachments:
        head = (
            f"--{boundary}\r\nContent-Type: {content_type}\r\nContent-Transfer-Encoding: binary\r\n"
            f"X-Experience-API-Hash: {sha2}\r\n\r\n"
        )
        out += [head.encode(), content, b"\r\n"]
    out.append(f"--{boundary}--".encode())
    return b"".join(out), f'multipart/mixed; boundary="{boundary}"'
