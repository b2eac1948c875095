"""What ingest does to a record before it reaches the log: pseudonymise, mask, seal.

For each record of the events topic, whatever format it came from (xAPI, Caliper,
Open edX, OULAD, any importer):

1. the event's learner identifier becomes its keyed pseudonym, in the event and in the
   record's key (so a learner's events still share a partition);
2. free text in the original payload (xAPI ``result.response``, forum posts, comments:
   string fields named in ``FREE_TEXT_KEYS``) is masked by the scrubber;
3. the payload, which holds the identity as sent (name, e-mail, account), is sealed
   with the learner's data key from the vault; a learner seen for the first time gets a
   key, and their identity is stored in the vault.

The record's id and digest are left alone, so idempotent appends behave as before: a
resent statement is still a duplicate, although each sealing of its payload differs.
Records already protected (a pseudonym as learner, a sealed payload) pass unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import msgspec

from edupulse.events.model import LearningEvent, decode_event, encode_event
from edupulse.log.base import Record
from edupulse.privacy.crypto import is_sealed
from edupulse.privacy.pseudonyms import Pseudonymiser, is_pseudonym
from edupulse.privacy.scrub import Scrubber
from edupulse.privacy.values import value_aad
from edupulse.privacy.vault.service import Identity, IdentityVault

__all__ = ["FREE_TEXT_KEYS", "Protector"]

FREE_TEXT_KEYS = frozenset({"response", "body", "text", "comment", "comments", "message", "content", "post"})
_FREE_TEXT_NAME = re.compile(rb'"(?:' + b"|".join(k.encode() for k in sorted(FREE_TEXT_KEYS)) + rb')"')


class _Who(msgspec.Struct, gc=False):
    """The parts of a payload that say who: xAPI's actor, Caliper's actor, edX's username."""

    actor: Any = None
    username: str | None = None


_decode_who = msgspec.json.Decoder(_Who).decode
_decode_json = msgspec.json.decode
_encode_json = msgspec.json.Encoder().encode


class Protector:
    """Turns records as mapped into records fit for the log."""

    def __init__(
        self, pseudonyms: Pseudonymiser, vault: IdentityVault, scrubber: Scrubber | None, *, seal_values: bool = False
    ) -> None:
        self.pseudonyms = pseudonyms
        self.vault = vault
        self.scrubber = scrubber
        self.seal_values = seal_values  # privacy.values: the event values too, for logs that cannot delete

    def protect(self, records: Sequence[Record]) -> list[Record]:
        """The records with pseudonyms, masked free text and sealed payloads, in the same order."""
        events: list[LearningEvent | None] = []
        identities: dict[str, Identity] = {}
        for rec in records:
            try:
                event = decode_event(rec.value)
            except (msgspec.DecodeError, msgspec.ValidationError):
                events.append(None)  # not an event: it passes as it is, and the runtime dead-letters it
                continue
            if is_pseudonym(event.learner):
                events.append(None)
                continue
            pseudonym = self.pseudonyms.pseudonym(event.tenant, event.learner)
            if pseudonym not in identities:
                identities[pseudonym] = Identity(event.tenant, event.learner)
            events.append(msgspec.structs.replace(event, learner=pseudonym))
        self._learn(records, events, identities)
        sealers = self.vault.sealers(identities) if identities else {}
        out = []
        for rec, mapped in zip(records, events, strict=True):
            if mapped is None:
                out.append(rec)
                continue
            payload = rec.payload
            if payload and not is_sealed(payload):
                payload = sealers[mapped.learner].seal(self.mask(payload), mapped.learner.encode())
            value = encode_event(mapped)
            if self.seal_values:
                value = sealers[mapped.learner].seal(value, value_aad(mapped.learner))
            out.append(msgspec.structs.replace(rec, key=mapped.partition_key, value=value, payload=payload))
        return out

    def _learn(
        self, records: Sequence[Record], events: Sequence[LearningEvent | None], identities: dict[str, Identity]
    ) -> None:
        """Direct identifiers of learners not yet known here: into their vault identity and the roster."""
        unknown = self.vault.unknown(identities)
        if not unknown:
            return
        for rec, event in zip(records, events, strict=True):
            if event is None or event.learner not in unknown or not rec.payload:
                continue
            name, email = _who(rec.payload)
            if name is None and email is None:
                continue
            unknown.discard(event.learner)
            identities[event.learner] = msgspec.structs.replace(identities[event.learner], name=name, email=email)
            ident = identities[event.learner].identifier
            if self.scrubber is not None:
                self.scrubber.roster.add(name, [ident.rsplit("|", 1)[-1]] if ident.startswith("account:") else [])

    def mask(self, payload: bytes) -> bytes:
        """The payload with free text masked; a payload without free text (most) is returned as it is."""
        if self.scrubber is None or _FREE_TEXT_NAME.search(payload) is None:
            return payload
        try:
            data = _decode_json(payload)
        except msgspec.DecodeError:
            return payload  # not JSON (a CSV row): no free-text fields
        return _encode_json(self._mask_value(data, None))

    def _mask_value(self, value: Any, key: str | None) -> Any:
        if isinstance(value, str):
            return self.scrubber.scrub(value) if key in FREE_TEXT_KEYS and self.scrubber is not None else value
        if isinstance(value, dict):
            return {k: self._mask_value(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [self._mask_value(v, key) for v in value]
        return value


def _who(payload: bytes) -> tuple[str | None, str | None]:
    """(name, e-mail) that a payload gives for its actor, if it is JSON that says so."""
    try:
        who = _decode_who(payload)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None, None
    actor = who.actor
    if not isinstance(actor, dict):
        return who.username, None
    name, mbox = actor.get("name"), actor.get("mbox")
    email = mbox[7:] if isinstance(mbox, str) and mbox.lower().startswith("mailto:") else None
    return (name if isinstance(name, str) else None), email
