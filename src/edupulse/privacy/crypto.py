"""Authenticated encryption for the vault and for sealed payloads: AES-256-GCM.

A sealed blob is ``b"\\x01" + nonce (12 bytes) + ciphertext and tag``. The nonce is
random: with 96 bits, a key may seal about 2**32 blobs before a repeat becomes
plausible, far beyond what one learner produces. The associated data binds a blob to
what it belongs to (a pseudonym), so a blob moved to another row does not open.
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from edupulse.errors import TerminalError

__all__ = ["KEY_BYTES", "SEALED_PREFIX", "Sealer", "UnsealError", "is_sealed", "new_key"]

KEY_BYTES = 32
SEALED_PREFIX = b"\x01"
_NONCE = 12


class UnsealError(TerminalError):
    """A sealed blob does not open with this key: wrong key, tampered, or its key was shredded."""


def new_key() -> bytes:
    """A fresh random 256-bit key."""
    return os.urandom(KEY_BYTES)


def is_sealed(blob: bytes) -> bool:
    """Whether ``blob`` looks like the output of ``Sealer.seal``."""
    return blob[:1] == SEALED_PREFIX and len(blob) >= 1 + _NONCE + 16


class Sealer:
    """Seals and opens blobs with one key."""

    __slots__ = ("_aead",)

    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise TerminalError(f"an AES-256 key has {KEY_BYTES} bytes, got {len(key)}")
        self._aead = AESGCM(key)

    def seal(self, plaintext: bytes, aad: bytes) -> bytes:
        nonce = os.urandom(_NONCE)
        return SEALED_PREFIX + nonce + self._aead.encrypt(nonce, plaintext, aad)

    def open(self, blob: bytes, aad: bytes) -> bytes:
        if not is_sealed(blob):
            raise UnsealError("not a sealed blob (wrong prefix or too short)")
        try:
            return self._aead.decrypt(blob[1 : 1 + _NONCE], blob[1 + _NONCE :], aad)
        except InvalidTag as exc:
            raise UnsealError("the blob does not open with this key (wrong key, or tampered)") from exc
