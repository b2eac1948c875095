"""The credential contract: every backend keeps keys the same way (hashing, cache, revocation)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from edupulse.errors import AuthError, ConfigError, ForbiddenError
from edupulse.privacy.credentials import CredentialStore
from tests.contract.backends import CREDENTIAL_BACKENDS, Handles


@pytest.fixture(params=sorted(CREDENTIAL_BACKENDS))
def handles(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Handles[CredentialStore]]:
    opened: Handles[CredentialStore] = Handles(CREDENTIAL_BACKENDS[request.param], tmp_path)
    yield opened
    opened.close_all()


def test_a_created_key_verifies_with_its_secret_only(handles: Handles[CredentialStore]) -> None:
    creds = handles.open()
    new = creds.create("lms", tenant="t1", scopes=("read", "ingest"))

    principal = creds.verify(new.key, new.secret)

    assert (principal.key, principal.name, principal.tenant) == (new.key, "lms", "t1")
    assert principal.scopes == frozenset({"ingest", "read"})
    assert new.scopes == ["ingest", "read"]
    principal.require("read")
    with pytest.raises(ForbiddenError):
        principal.require("admin")
    with pytest.raises(AuthError):
        creds.verify(new.key, new.secret + "x")
    with pytest.raises(AuthError):
        creds.verify("ep_unknown", new.secret)


def test_bad_names_and_scopes_are_refused(handles: Handles[CredentialStore]) -> None:
    creds = handles.open()
    with pytest.raises(ConfigError, match="unknown scope"):
        creds.create("lms", tenant="t", scopes=("write",))
    with pytest.raises(ConfigError, match="non-empty"):
        creds.create("  ", tenant="t")
    assert creds.list() == []


def test_keys_are_shared_by_every_process_and_survive_reopen(handles: Handles[CredentialStore]) -> None:
    first = handles.open()
    second = handles.open()  # another API process
    new = first.create("lms", tenant="t", scopes=("admin",))

    assert second.verify(new.key, new.secret).scopes == frozenset({"admin"})
    reopened = handles.reopen(first)
    assert reopened.verify(new.key, new.secret).name == "lms"


def test_revocation_is_immediate_here_and_for_processes_that_read_after_it(handles: Handles[CredentialStore]) -> None:
    creds = handles.open()
    kept, gone = creds.create("a", tenant="t"), creds.create("b", tenant="t")
    creds.verify(gone.key, gone.secret)  # cached

    assert creds.revoke(gone.key) is True
    assert creds.revoke(gone.key) is False
    assert creds.revoke("ep_unknown") is False
    with pytest.raises(AuthError):
        creds.verify(gone.key, gone.secret)
    with pytest.raises(AuthError):
        handles.open().verify(gone.key, gone.secret)
    assert creds.verify(kept.key, kept.secret).name == "a"
    listed = creds.list()
    assert sorted((k["key"], k["revoked"]) for k in listed) == sorted([(kept.key, False), (gone.key, True)])
    assert all("secret" not in str(k) for k in listed)
