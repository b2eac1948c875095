"""The identity vault contract: every backend keeps keys and identities the same way.

Envelope encryption, first-writer-wins keys shared by every process, erasure with a
tombstone, and master key rotation, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from edupulse.errors import ConfigError
from edupulse.privacy.crypto import UnsealError, new_key
from edupulse.privacy.vault import Identity, IdentityVault, VaultRows
from tests.contract.backends import VAULT_BACKENDS, Handles

ANA = Identity("acme", "mailto:ana.lima@example.edu", name="Ana Lima", email="ana.lima@example.edu")
P_ANA = "p-" + "a" * 26
P_BO = "p-" + "b" * 26


@pytest.fixture(params=sorted(VAULT_BACKENDS))
def handles(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Handles[VaultRows]]:
    opened: Handles[VaultRows] = Handles(VAULT_BACKENDS[request.param], tmp_path)
    yield opened
    opened.close_all()


def test_a_new_learner_gets_a_key_every_process_shares(handles: Handles[VaultRows]) -> None:
    master = new_key()
    first, second = IdentityVault(handles.open(), master), IdentityVault(handles.open(), master)

    sealed = first.sealers({P_ANA: ANA})[P_ANA].seal(b"payload", P_ANA.encode())
    # another process meets the same learner: it finds the stored key and does not make its own
    assert second.sealers({P_ANA: ANA})[P_ANA].open(sealed, P_ANA.encode()) == b"payload"
    assert second.identity(P_ANA) == ANA
    assert first.identity(P_BO) is None


def test_identities_are_stored_sealed(handles: Handles[VaultRows]) -> None:
    rows = handles.open()
    vault = IdentityVault(rows, new_key())
    vault.sealers({P_ANA: ANA})

    row = rows.row(P_ANA)
    assert row is not None
    assert b"ana.lima" not in row.identity and b"Ana Lima" not in row.identity
    assert b"ana.lima" not in row.wrapped_key


def test_forgetting_shreds_the_key_and_leaves_a_tombstone(handles: Handles[VaultRows]) -> None:
    master = new_key()
    vault = IdentityVault(handles.open(), master)
    sealer = vault.sealers({P_ANA: ANA, P_BO: Identity("acme", "mailto:bo@example.edu")})[P_ANA]
    sealed = sealer.seal(b"payload", P_ANA.encode())

    assert vault.forget("acme", P_ANA, erased_us=1234) is True
    assert vault.forget("acme", P_ANA, erased_us=1234) is False  # nothing left to shred

    again = IdentityVault(handles.open(), master)
    assert again.identity(P_ANA) is None and again.sealer(P_ANA) is None
    assert again.tombstones() == {P_ANA: 1234}
    assert again.identity(P_BO) is not None
    # a learner seen again after erasure gets a NEW key: the old payloads stay closed
    fresh = again.sealers({P_ANA: ANA})[P_ANA]
    with pytest.raises(UnsealError):
        fresh.open(sealed, P_ANA.encode())


def test_rotation_rewraps_every_key_under_the_new_master(handles: Handles[VaultRows]) -> None:
    old, new = new_key(), new_key()
    vault = IdentityVault(handles.open(), old)
    sealed = vault.sealers({P_ANA: ANA})[P_ANA].seal(b"payload", P_ANA.encode())

    assert vault.rotate(new) == 1
    assert IdentityVault(handles.open(), new).rotate(new) == 0  # a rotation run again has nothing left to do

    rotated = IdentityVault(handles.open(), new)
    assert rotated.identity(P_ANA) == ANA
    assert rotated.sealers({P_ANA: ANA})[P_ANA].open(sealed, P_ANA.encode()) == b"payload"
    with pytest.raises(ConfigError, match="wrapped by master key"):
        IdentityVault(handles.open(), old).identity(P_ANA)
