"""Aliases in the data directory (embedded): ``{data_dir}/models/{name}/aliases.json``.

The file holds every change, oldest first. A writer takes an exclusive lock on
``aliases.lock``, writes the whole list to a temporary file and renames it over the old
one, so a reader (a running processor) sees the old list or the new one, never half.
The stamp is the file's inode, size and modification time: one ``stat`` per poll.
"""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path

import msgspec

from edupulse.errors import ConfigError
from edupulse.ml.registry.base import AliasChange, ChangeKind

__all__ = ["ALIASES_FILE", "FileRegistry"]

ALIASES_FILE = "aliases.json"
_decode = msgspec.json.Decoder(list[AliasChange]).decode


class FileRegistry:
    """Alias changes in one JSON file per model name under ``root`` (``{data_dir}/models``)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, name: str) -> Path:
        return self.root / name / ALIASES_FILE

    def changes(self, name: str) -> list[AliasChange]:
        path = self._path(name)
        try:
            return _decode(path.read_bytes())
        except FileNotFoundError:
            return []
        except msgspec.DecodeError as exc:
            raise ConfigError(f"{path} is not a list of alias changes ({exc}); restore it from a backup") from exc

    def append(self, name: str, alias: str, kind: ChangeKind, version: str, actor: str) -> AliasChange:
        path = self._path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        with (self.root / name / "aliases.lock").open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            changes = self.changes(name)
            seq = changes[-1].seq + 1 if changes else 1
            change = AliasChange(seq, name, alias, kind, version, actor, time.time_ns() // 1000)
            tmp = path.with_suffix(".tmp")
            tmp.write_bytes(msgspec.json.format(msgspec.json.encode([*changes, change]), indent=1))
            os.replace(tmp, path)
        return change

    def stamp(self, name: str) -> str:
        try:
            st = os.stat(self._path(name))
        except FileNotFoundError:
            return "none"
        return f"{st.st_ino}:{st.st_size}:{st.st_mtime_ns}"

    def close(self) -> None:
        pass
