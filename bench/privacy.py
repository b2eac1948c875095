"""What privacy costs, per event, in CPU time (process time, so other work on the machine does not count).

- ingest: the protection of a record (decode the mapped event, pseudonym, seal the payload
  with the learner's key, re-encode), for learners already seen (keys cached) and for new
  ones (a vault row each);
- replay: decoding a batch of log values (what replay does per event), the tombstone
  filter the runtime adds when erasures exist, and what event values sealed with their
  learner's key (``privacy.seal_events``, Kafka's default) add: the runtime's decode
  through ``privacy.values.ValueOpener`` (key look-up per batch, one AES-GCM open per
  event) against the plain decode, alternated in the same run;
- masking: precision and recall on the labelled sample of tests/data.

    .venv/bin/python bench/privacy.py [--events 100000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from _common import STATEMENTS, emit, load_statements, machine
from edupulse.events.model import decode_events, encode_event
from edupulse.events.vocabulary import Verb
from edupulse.events.xapi import decode_statements, id_text, to_event, verb_of
from edupulse.log.base import LogRecord, Record
from edupulse.privacy.crypto import Sealer, new_key
from edupulse.privacy.protect import Protector
from edupulse.privacy.pseudonyms import Pseudonymiser
from edupulse.privacy.scrub import Scrubber
from edupulse.privacy.values import ValueOpener
from edupulse.privacy.vault import IdentityVault, SqliteVaultRows
from edupulse.stream.runtime import Runtime

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.test_privacy_scrub import measure


def cpu_us_per(n: int, work: Callable[[], object]) -> float:
    start = time.process_time()
    work()
    return round((time.process_time() - start) / n * 1e6, 3)


def records(lines: list[bytes], n: int) -> list[Record]:
    out = []
    for i in range(n):
        raw = lines[i % len(lines)]
        (item,) = decode_statements(raw)
        stmt = item.statement
        assert not isinstance(stmt, Exception)
        sid = str(uuid.uuid4()) if stmt.id is None else id_text(stmt.id)
        event = to_event(stmt, b"", tenant="t", event_id=sid, stored_us=1, verb=verb_of(stmt.verb) or Verb.OTHER)
        out.append(Record(event.partition_key, encode_event(event), 1, f"t:{sid}:{i}", b"d" * 16, raw))
    return out


def replay_decode(protector: Protector, chunks: list[list[Record]], runs: int) -> dict[str, list[float]]:
    """CPU per event of the runtime's decode of replay batches (5,000 records), values plain and values
    sealed (opened by ``ValueOpener`` with the vault's keys, cached after the first batch), alternated."""

    def log_records(records: list[Record]) -> list[LogRecord]:
        return [LogRecord(0, i, r.key, r.value, r.timestamp_us) for i, r in enumerate(records)]

    plain = log_records([r for c in chunks for r in protector.protect(c)])
    protector.seal_values = True
    sealed = log_records([r for c in chunks for r in protector.protect(c)])
    protector.seal_values = False
    opener = ValueOpener(protector.vault)
    plain_batches = [plain[i : i + 5000] for i in range(0, len(plain), 5000)]
    sealed_batches = [sealed[i : i + 5000] for i in range(0, len(sealed), 5000)]
    out: dict[str, list[float]] = {"decode_plain_values": [], "decode_sealed_values": []}
    for _ in range(runs):
        out["decode_plain_values"].append(
            cpu_us_per(len(plain), lambda: [decode_events([r.value for r in b]) for b in plain_batches])
        )
        out["decode_sealed_values"].append(
            cpu_us_per(len(sealed), lambda: [decode_events([r.value for r in opener(b)]) for b in sealed_batches])
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=STATEMENTS, help="NDJSON(.gz) of xAPI statements")
    parser.add_argument("--events", type=int, default=100_000, help="records per measurement")
    parser.add_argument("--runs", type=int, default=5, help="alternated runs of the sealed/plain replay decode")
    args = parser.parse_args()
    lines = load_statements("privacy", args.data)
    batch = records(lines, args.events)
    with tempfile.TemporaryDirectory() as tmp:
        vault = IdentityVault(SqliteVaultRows(Path(tmp) / "vault.db"), new_key())
        protector = Protector(Pseudonymiser(new_key()), vault, Scrubber())
        chunks = [batch[i : i + 1000] for i in range(0, len(batch), 1000)]
        cold = cpu_us_per(len(batch), lambda: [protector.protect(c) for c in chunks])
        warm = cpu_us_per(len(batch), lambda: [protector.protect(c) for c in chunks])
        learners = len(vault.rows.all_keys())
        protected = [r for c in chunks for r in protector.protect(c)]
        sealed_decode = replay_decode(protector, chunks, args.runs)
        vault.close()
    values = [r.value for r in protected]
    sealer = Sealer(new_key())
    sealed = [sealer.seal(v, b"p") for v in values]
    events = decode_events(values)
    runtime = Runtime.__new__(Runtime)  # only its filter is timed
    runtime.erased = {f"p-{i:026d}": 2**62 for i in range(1000)}
    decode = cpu_us_per(len(values), lambda: decode_events(values))
    emit(
        {
            "benchmark": "privacy",
            "machine": machine(),
            "events": len(batch),
            "distinct_learners": learners,
            "ingest_cpu_us_per_event": {"protect_new_learners": cold, "protect_known_learners": warm},
            "replay_cpu_us_per_event": {
                "decode_values": decode,
                "tombstone_filter_1000_erased": cpu_us_per(len(events), lambda: runtime._unerased(events)),
                "open_sealed_values": cpu_us_per(len(sealed), lambda: [sealer.open(s, b"p") for s in sealed]),
                **sealed_decode,
            },
            "value_bytes": {
                "plain": sum(map(len, values)) // len(values),
                "sealed": sum(map(len, sealed)) // len(sealed),
            },
            "masking": measure(),
        }
    )


if __name__ == "__main__":
    main()
