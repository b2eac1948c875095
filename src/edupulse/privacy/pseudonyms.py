"""Keyed pseudonyms: a learner's identifier becomes ``p-`` and 26 base32 characters.

The pseudonym is HMAC-SHA256 of the identifier under the tenant's secret, cut to 128
bits: stable (the same learner always gets the same one, so their events share a
partition and their state), unlinkable across tenants, and not reversible without the
secret. The tenant's secret is set explicitly (``privacy.tenant_secrets``) or derived
from the deployment's pseudonym secret and the tenant's name.

Identifiers are normalised first: a ``mailto:`` address is compared in lower case.
On the ingest hot path the same learners come back again and again, so results are
cached (a dictionary emptied when it reaches its size).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping

__all__ = ["PREFIX", "Pseudonymiser", "identifier_of", "is_pseudonym", "normalise"]

PREFIX = "p-"
_LENGTH = len(PREFIX) + 26


def is_pseudonym(text: str) -> bool:
    """Whether ``text`` has the shape of a pseudonym this module makes."""
    return len(text) == _LENGTH and text.startswith(PREFIX) and text[2:].isalnum() and text[2:].islower()


def identifier_of(learner: str) -> str:
    """A learner as a person would type them, as the mappings spell it: a bare e-mail gets ``mailto:``."""
    learner = learner.strip()
    if "@" in learner and ":" not in learner:
        return "mailto:" + learner
    return learner


def normalise(identifier: str) -> str:
    """The form of an identifier that is hashed: ``mailto:`` addresses in lower case."""
    if identifier[:7].lower() == "mailto:":
        return "mailto:" + identifier[7:].lower()
    return identifier


class Pseudonymiser:
    """Maps (tenant, identifier) to a pseudonym, with a per-tenant secret."""

    def __init__(self, secret: bytes, tenant_secrets: Mapping[str, bytes] | None = None, *, cache: int = 100_000):
        self._secret = secret
        self._explicit = dict(tenant_secrets or {})
        self._tenant_keys: dict[str, bytes] = {}
        self._cache: dict[tuple[str, str], str] = {}
        self._cache_size = cache

    def tenant_key(self, tenant: str) -> bytes:
        key = self._tenant_keys.get(tenant)
        if key is None:
            key = self._explicit.get(tenant) or hmac.digest(self._secret, b"tenant\x1f" + tenant.encode(), "sha256")
            self._tenant_keys[tenant] = key
        return key

    def pseudonym(self, tenant: str, identifier: str) -> str:
        """The learner's pseudonym in this tenant."""
        cached = self._cache.get((tenant, identifier))
        if cached is not None:
            return cached
        digest = hmac.digest(self.tenant_key(tenant), normalise(identifier).encode(), hashlib.sha256)[:16]
        value = PREFIX + base64.b32encode(digest).decode().rstrip("=").lower()
        if len(self._cache) >= self._cache_size:
            self._cache.clear()
        self._cache[(tenant, identifier)] = value
        return value
