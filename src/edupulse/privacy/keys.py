"""Where secrets come from: the master key and the pseudonym secret.

Each is 32 random bytes, given base64-encoded in a setting (from the environment), in
a file named by a setting, or, when neither is set, in a file under
``{data_dir}/privacy/`` created on first use with owner-only permissions. A key is
known by its id, the first 8 bytes of its SHA-256 in hex, which the vault stores
beside every data key it wraps, so a wrong or stale master key is reported as such.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import os
from pathlib import Path

from pydantic import SecretStr

from edupulse.errors import ConfigError
from edupulse.privacy.crypto import KEY_BYTES, new_key

__all__ = ["decode_key", "encode_key", "key_id", "load_key", "write_key_file"]


def key_id(key: bytes) -> str:
    """A short public name of a key: it identifies the key without revealing it."""
    return hashlib.sha256(key).hexdigest()[:16]


def encode_key(key: bytes) -> str:
    return base64.b64encode(key).decode()


def decode_key(text: str, *, what: str) -> bytes:
    """A key from its base64 text; ``what`` names the setting or file in the error."""
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ConfigError(f"{what} is not base64 text: {exc}") from exc
    if len(key) != KEY_BYTES:
        raise ConfigError(
            f"{what} must hold {KEY_BYTES} random bytes in base64, got {len(key)} bytes; "
            'make one with: python -c "import os,base64;print(base64.b64encode(os.urandom(32)).decode())"'
        )
    return key


def write_key_file(path: Path, key: bytes) -> None:
    """Write a key file readable by its owner only; refuses to overwrite an existing one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as file:
        file.write(encode_key(key) + "\n")
        file.flush()
        os.fsync(file.fileno())


def load_key(value: SecretStr | None, file: Path | None, *, default_file: Path, what: str) -> bytes:
    """The key from the setting, else the named file, else the default file (created if missing)."""
    if value is not None:
        return decode_key(value.get_secret_value(), what=f"the setting {what}")
    path = file or default_file
    if file is not None and not file.exists():
        raise ConfigError(f"{what}_file names {file}, which does not exist")
    if not path.exists():
        with contextlib.suppress(FileExistsError):  # another process created it first: read theirs
            write_key_file(path, new_key())
    return decode_key(path.read_text(), what=f"the key file {path}")
