"""Tables of the embedded LRS store (``lrs.db`` under the data directory)."""

from __future__ import annotations

__all__ = ["SCHEMA"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS statements (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant TEXT NOT NULL,
    id TEXT NOT NULL,
    stored_us INTEGER NOT NULL,
    verb TEXT NOT NULL,
    registration TEXT,
    target TEXT,
    body BLOB NOT NULL,
    UNIQUE (tenant, id)
);
CREATE INDEX IF NOT EXISTS statements_verb ON statements (tenant, verb, seq);
CREATE INDEX IF NOT EXISTS statements_registration ON statements (tenant, registration, seq)
    WHERE registration IS NOT NULL;
CREATE INDEX IF NOT EXISTS statements_target ON statements (tenant, target) WHERE target IS NOT NULL;
CREATE TABLE IF NOT EXISTS statement_agents (
    agent TEXT NOT NULL,
    seq INTEGER NOT NULL,
    direct INTEGER NOT NULL,
    PRIMARY KEY (agent, seq, direct)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS statement_activities (
    activity TEXT NOT NULL,
    seq INTEGER NOT NULL,
    direct INTEGER NOT NULL,
    PRIMARY KEY (activity, seq, direct)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS voids (
    tenant TEXT NOT NULL,
    target TEXT NOT NULL,
    PRIMARY KEY (tenant, target)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS attachments (
    sha2 TEXT PRIMARY KEY,
    content_type TEXT NOT NULL,
    content BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS activities (
    tenant TEXT NOT NULL,
    id TEXT NOT NULL,
    definition BLOB NOT NULL,
    PRIMARY KEY (tenant, id)
);
CREATE TABLE IF NOT EXISTS documents (
    tenant TEXT NOT NULL,
    kind TEXT NOT NULL,
    activity TEXT NOT NULL,
    agent TEXT NOT NULL,
    registration TEXT NOT NULL,
    doc_id TEXT NOT NULL,
    content BLOB NOT NULL,
    content_type TEXT NOT NULL,
    etag TEXT NOT NULL,
    updated_us INTEGER NOT NULL,
    PRIMARY KEY (tenant, kind, activity, agent, registration, doc_id)
);
"""
