"""Master key rotation: every data key re-wrapped under a new master key, in one transaction.

The data keys do not change, so nothing sealed with them (payloads on the log and in
the lake, identities in the vault) is rewritten. With the default key file
(``{data_dir}/privacy/master.key``) the new key replaces it once the vault has
committed; with a configured key, the operator points the setting at the new key.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from edupulse.config import Settings
from edupulse.privacy.crypto import new_key
from edupulse.privacy.keys import decode_key, key_id, write_key_file
from edupulse.privacy.setup import master_key, open_vault

__all__ = ["rotate_master_key"]


def rotate_master_key(settings: Settings, new_key_file: Path) -> dict[str, Any]:
    """Re-wrap under the key in ``new_key_file`` (made if missing); returns what was done."""
    if not new_key_file.exists():
        write_key_file(new_key_file, new_key())
    new = decode_key(new_key_file.read_text(), what=f"the key file {new_key_file}")
    old_id = key_id(master_key(settings))
    vault = open_vault(settings)
    try:
        rewrapped = vault.rotate(new)
    finally:
        vault.close()
    cfg = settings.privacy
    replaced = None
    if cfg.master_key is None and cfg.master_key_file is None:
        default = settings.data_dir / "privacy" / "master.key"
        os.replace(new_key_file, default)  # the old key is gone: only the new one opens the vault now
        replaced = str(default)
    return {"rewrapped": rewrapped, "old_key_id": old_id, "new_key_id": key_id(new), "replaced": replaced}
