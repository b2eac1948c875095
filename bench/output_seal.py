"""What sealing the relayed outputs costs, per message, in CPU time (``privacy.seal_events``).

The relay hands the log pages of outbox messages; with sealing on, the deployment's log
seals each one naming a learner with that learner's data key (``privacy.values.OutputSealer``:
key look-up per page, one AES-GCM seal each) and its readers (the lake sink) open them
(``ValueOpener(purpose=topic)``). Keys are cached, as in a running process; seal and open
are alternated over several rounds and the median is reported.

    .venv/bin/python bench/output_seal.py [--messages 50000] [--learners 500]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import msgspec

from _common import emit, machine
from edupulse.log.base import LogRecord, Record
from edupulse.privacy.crypto import new_key
from edupulse.privacy.values import OutputSealer, ValueOpener
from edupulse.privacy.vault import IdentityVault, SqliteVaultRows
from edupulse.privacy.vault.service import Identity

PAGE = 500  # messages per relay page
TOPIC = "predictions"


def _messages(n: int, learners: int) -> list[Record]:
    out = []
    for i in range(n):
        learner = f"p{i % learners:06d}"
        body = {"learner": learner, "course": "https://example.edu/c1", "risk": i / n, "model": "risk-v3", "at_us": i}
        out.append(Record(f"default\x1f{learner}".encode(), msgspec.json.encode(body), i, id=f"{TOPIC}/{i}"))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=50_000)
    parser.add_argument("--learners", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        vault = IdentityVault(SqliteVaultRows(Path(tmp) / "vault.db"), new_key())
        vault.sealers({f"p{i:06d}": Identity("default", f"l{i}") for i in range(args.learners)})
        plain = _messages(args.messages, args.learners)
        sealer, opener = OutputSealer(vault), ValueOpener(vault, purpose=TOPIC)
        seal_us, open_us = [], []
        for _ in range(args.rounds):
            start = time.process_time()
            sealed = [r for i in range(0, len(plain), PAGE) for r in sealer(TOPIC, plain[i : i + PAGE])]
            seal_us.append((time.process_time() - start) / len(plain) * 1e6)
            read = [LogRecord(0, i, r.key, r.value, 0) for i, r in enumerate(sealed) if r is not None]
            start = time.process_time()
            opened = [v for i in range(0, len(read), PAGE) for v in opener(read[i : i + PAGE])]
            open_us.append((time.process_time() - start) / len(read) * 1e6)
            assert [r.value for r in opened] == [r.value for r in plain]
        vault.close()
    plain_bytes = statistics.mean(len(r.value) for r in plain)
    emit(
        {
            "benchmark": "output_seal",
            "machine": machine(),
            "messages": args.messages,
            "learners": args.learners,
            "value_bytes": round(plain_bytes),
            "sealed_extra_bytes": 1 + 12 + 16,
            "seal_cpu_us_per_message": round(statistics.median(seal_us), 2),
            "open_cpu_us_per_message": round(statistics.median(open_us), 2),
        }
    )


if __name__ == "__main__":
    main()
