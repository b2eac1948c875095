"""Caliper conformance against the specification's fixtures: examples accepted, error fixtures rejected.

The fixtures are the ``fixtures/v1p1`` and ``fixtures/v1p2`` folders of the Caliper
specification repository (branch ``develop``); ``v1p2/commonErrorFixtures`` holds
malformed events and entities that a conformant endpoint rejects. Fetch them once,
outside the repository:

    git clone --depth 1 --branch develop https://github.com/1EdTech/caliper-spec ~/.cache/edupulse/caliper-spec
    .venv/bin/python bench/caliper_conformance.py [--fixtures ~/.cache/edupulse/caliper-spec/fixtures]

Single events and entities are wrapped in an envelope of their folder's version (the
endpoint configuration example is not data and is left out). Prints how many examples
were accepted and error fixtures rejected, and names every miss.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from _common import emit, machine, skip
from edupulse.errors import InvalidEventError
from edupulse.events.caliper import decode_envelope

BENCHMARK = "caliper_conformance"
DEFAULT = Path.home() / ".cache" / "edupulse" / "caliper-spec" / "fixtures"
CONTEXT = "http://purl.imsglobal.org/ctx/caliper/"


def problem_of(raw: bytes, version: str) -> str | None:
    """The first problem edupulse finds in a fixture, or None if it accepts it."""
    try:
        content = json.loads(raw)
    except ValueError as exc:
        return f"not JSON: {exc}"
    if not isinstance(content, dict) or "data" not in content:
        envelope = {"sensor": "https://s.example", "sendTime": "2024-01-01T00:00:00Z", "dataVersion": CONTEXT + version}
        raw = json.dumps(envelope | {"data": [content]}).encode()
    try:
        for entry in decode_envelope(raw, max_items=10_000):
            if isinstance(entry.item, InvalidEventError):
                return str(entry.item)
    except InvalidEventError as exc:
        return str(exc)
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fixtures", type=Path, default=DEFAULT)
    args = parser.parse_args()
    errors_dir = args.fixtures / "v1p2" / "commonErrorFixtures"
    if not errors_dir.is_dir():
        skip(BENCHMARK, f"no fixtures at {args.fixtures} (see this script's docstring)")
    result: dict[str, object] = {"benchmark": BENCHMARK}
    for version in ("v1p1", "v1p2"):
        examples = [p for p in sorted((args.fixtures / version).glob("caliper*.json")) if "Endpoint" not in p.name]
        refused = {p.name: msg for p in examples if (msg := problem_of(p.read_bytes(), version)) is not None}
        result[f"{version}_examples"] = len(examples)
        result[f"{version}_examples_accepted"] = len(examples) - len(refused)
        result[f"{version}_examples_refused"] = refused
    errors = sorted(errors_dir.glob("*.json"))
    accepted = [p.name for p in errors if problem_of(p.read_bytes(), "v1p2") is None]
    result["v1p2_error_fixtures"] = len(errors)
    result["v1p2_error_fixtures_rejected"] = len(errors) - len(accepted)
    result["v1p2_error_fixtures_accepted"] = accepted
    emit(result | {"machine": machine()})


if __name__ == "__main__":
    main()
