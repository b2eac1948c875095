"""Erasure (GDPR article 17): a learner's data leaves every store, and stays out.

``forget`` does, in this order:

1. crypto-shreds the learner: their data key and sealed identity leave the vault, and a
   tombstone (pseudonym, time) is recorded in the same transaction. Every payload
   sealed with that key, in the log, the lake, any copy or backup, no longer opens;
   the runtime skips the learner's events stored before the tombstone in every replay;
2. deletes their statements (and documents) from the LRS store;
3. deletes their records and payloads from the embedded log, and vacuums the file so
   the bytes do not stay in free pages or the write-ahead log (Kafka cannot delete a
   record: there the payloads stay sealed under a shredded key, and the tombstone
   keeps the records out of every replay);
4. deletes their rows from every lake table and vacuums the lake at once;
5. rebuilds the state, views and outbox by a replay of what remains (embedded), so no
   derived number, alert or pending message about them is left.

Run it with processing stopped (it takes the processing lock), like retention.
"""

from __future__ import annotations

import sqlite3
import time

import msgspec

from edupulse.config import Settings
from edupulse.deployment import LOG_FILE, LRS_FILE, STOPPING_GRACE_S, ProcessLock
from edupulse.errors import ConfigError, NotFoundError
from edupulse.lake.erasure import delete_learner_rows, erase_learner
from edupulse.log.sqlite import SqliteLog
from edupulse.lrs.store.sqlite import SqliteLrsStore
from edupulse.privacy.pseudonyms import identifier_of, is_pseudonym
from edupulse.privacy.setup import open_pseudonymiser, open_vault_rows
from edupulse.privacy.vault.service import IdentityVault
from edupulse.replay import replay
from edupulse.stream.log_sender import LOG_TOPICS
from edupulse.stream.runtime import EVENTS_TOPIC
from edupulse.stream.store.base import StateStore

__all__ = ["ErasureReport", "erase_in_store", "erase_serving", "forget", "lrs_agent_keys", "shred"]


class ErasureReport(msgspec.Struct):
    """What an erasure removed."""

    tenant: str
    pseudonym: str
    key_shredded: bool
    erased_us: int = 0
    lrs_statements: int = 0
    view_rows: int = 0
    state_rows: int = 0
    outbox_rows: int = 0
    log_records: int = 0
    lake_rows: int = 0
    lake_files_vacuumed: int = 0
    replayed_events: int | None = None
    steps: dict[str, str] = msgspec.field(default_factory=dict)
    """What each step of the erasure did, in words (the admin API's answer)."""


def _identifier(learner: str) -> str:
    if not learner.strip():
        raise ConfigError("name the learner to forget: an e-mail, mailto:, account:HOME|NAME, sha1:, openid:, an id")
    return identifier_of(learner)


def lrs_agent_keys(identifier: str) -> list[str]:
    """The LRS store's agent keys of an identifier (``lrs.index.agent_key``)."""
    if identifier.lower().startswith("mailto:"):
        return [f"mbox:{identifier}", f"mbox:mailto:{identifier[7:].lower()}"]
    return [identifier]


def shred(settings: Settings, tenant: str, learner: str, *, vault: IdentityVault | None = None) -> ErasureReport:
    """Steps 1 and 2 only, safe while the server runs: the key is shredded, the tombstone recorded,
    the LRS store's statements deleted. The rest waits for ``forget`` (processing stopped).

    ``vault``: the running deployment's own vault, so that its cache forgets the key too.
    """
    pseudonym, identifier = _resolve(settings, tenant, learner, vault)
    now = time.time_ns() // 1000
    if vault is not None:
        shredded = vault.forget(tenant, pseudonym, erased_us=now)
    else:
        rows = open_vault_rows(settings)
        try:
            shredded = rows.erase(tenant, pseudonym, now)
        finally:
            rows.close()
    report = ErasureReport(tenant, pseudonym, shredded, erased_us=now)
    if identifier is not None:
        report.lrs_statements = _forget_in_lrs(settings, tenant, identifier)
    return report


def erase_serving(
    settings: Settings, tenant: str, learner: str, *, vault: IdentityVault | None, store: StateStore
) -> ErasureReport:
    """Everything a running deployment can erase online (the admin API): the key shredded and the
    tombstone recorded, the LRS store's statements, the state store's rows (views, keyed state,
    view changes, outbox) and the lake's rows (deleted; vacuumed by ``forget``)."""
    report = shred(settings, tenant, learner, vault=vault)
    erase_in_store(report, store, close=False)
    if settings.lake.enabled:
        report.lake_rows = sum(delete_learner_rows(settings, tenant, report.pseudonym).values())
    report.steps = _steps(settings, report, online=True)
    return report


def _steps(settings: Settings, report: ErasureReport, *, online: bool) -> dict[str, str]:
    embedded = settings.deployment == "embedded"
    steps = {
        "key": "shredded: every payload and sealed value of theirs no longer opens"
        if report.key_shredded
        else "no key in the vault (unknown, or erased before)",
        "tombstone": "recorded: every runtime and replay skips their earlier events",
        "lrs": f"{report.lrs_statements} statements deleted",
        "state": f"{report.view_rows} view rows, {report.state_rows} state rows, {report.outbox_rows} outbox "
        "messages deleted; running processors drop them from memory at their next batch",
        "tutor": "the tutor's index holds course passages, no learner data: nothing to delete",
    }
    if not settings.lake.enabled:
        steps["lake"] = "no lake configured"
    elif online:
        steps["lake"] = f"{report.lake_rows} rows deleted; older files vacuumed by `edupulse forget`"
    else:
        steps["lake"] = f"{report.lake_rows} rows deleted, {report.lake_files_vacuumed} files vacuumed"
    if not embedded:
        steps["log"] = (
            "Kafka records stay until the topic's retention: values and payloads sealed under the shredded key"
        )
    elif online:
        steps["log"] = "records deleted by `edupulse forget` (processing stopped); their payloads no longer open"
    else:
        steps["log"] = f"{report.log_records} records deleted, file vacuumed"
    return steps


def forget(settings: Settings, tenant: str, learner: str, *, rebuild: bool = True) -> ErasureReport:
    """Erase a learner (an identifier or their pseudonym) from every store; see the module's text."""
    lock = ProcessLock(settings.data_dir)
    lock.acquire(wait_s=STOPPING_GRACE_S)
    try:
        report = shred(settings, tenant, learner)
        if settings.deployment == "embedded":
            report.log_records = _forget_in_log(settings, tenant, report.pseudonym)
        else:  # embedded state is rebuilt by the replay below; PostgreSQL's is erased in place
            erase_in_store(report, _open_store(settings))
        lake = erase_learner(settings, tenant, report.pseudonym)
        report.lake_rows, report.lake_files_vacuumed = sum(lake.rows.values()), lake.files_vacuumed
    finally:
        lock.release()
    if rebuild and settings.deployment == "embedded":
        report.replayed_events = replay(settings).events
    report.steps = _steps(settings, report, online=False)
    return report


def erase_in_store(report: ErasureReport, store: StateStore, *, close: bool = True) -> None:
    """Delete the learner's view rows, keyed state, view changes and outbox messages; into the report."""
    try:
        erased = store.erase_learner(report.pseudonym)
    finally:
        if close:
            store.close()
    report.view_rows, report.state_rows = erased.views, erased.state
    report.outbox_rows = erased.outbox


def _open_store(settings: Settings) -> StateStore:
    from edupulse.stream.store.postgres import PostgresStore  # noqa: PLC0415 - only scale-out needs psycopg

    pg = settings.postgres
    return PostgresStore(pg.dsn, schema=pg.schema_name, pool_size=1)


def _resolve(settings: Settings, tenant: str, learner: str, vault: IdentityVault | None) -> tuple[str, str | None]:
    """(pseudonym, identifier if known) of a learner named by identifier or pseudonym."""
    if is_pseudonym(learner):
        if vault is not None:
            identity = vault.identity(learner)
            return learner, None if identity is None else identity.identifier
        return learner, _identifier_from_vault(settings, learner)
    identifier = _identifier(learner)
    return open_pseudonymiser(settings).pseudonym(tenant, identifier), identifier


def _identifier_from_vault(settings: Settings, pseudonym: str) -> str | None:
    from edupulse.privacy.setup import open_vault  # noqa: PLC0415 - the master key is needed only here

    vault = open_vault(settings)
    try:
        identity = vault.identity(pseudonym)
    finally:
        vault.close()
    return None if identity is None else identity.identifier


def _forget_in_lrs(settings: Settings, tenant: str, identifier: str) -> int:
    path = settings.data_dir / LRS_FILE
    if not path.exists():
        return 0
    store = SqliteLrsStore(path)
    try:
        store.index()  # statements stored but not indexed yet are found by their agent too
        return store.forget_agent(tenant, lrs_agent_keys(identifier), [])
    finally:
        store.close()


def _forget_in_log(settings: Settings, tenant: str, pseudonym: str) -> int:
    path = settings.data_dir / LOG_FILE
    if not path.exists():
        return 0
    log = SqliteLog(path)
    try:
        key = f"{tenant}\x1f{pseudonym}".encode()  # pseudonyms have one length: the prefix is the whole key
        deleted = 0
        for topic in (EVENTS_TOPIC, *LOG_TOPICS):  # events, and the outputs relayed onto the log
            try:
                deleted += log.delete_keys(topic, key, before_us=2**62)
            except NotFoundError:  # an output topic this deployment never created
                continue
    finally:
        log.close()
    if deleted:
        conn = sqlite3.connect(path, isolation_level=None, timeout=30)
        try:  # deleted rows stay in free pages and WAL frames until the file is rewritten
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            conn.execute("VACUUM")
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            conn.close()
    return deleted
