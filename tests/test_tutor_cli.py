"""`edupulse content import` and `edupulse tutor retrieve`: bad files reported, never fatal."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from edupulse.cli import main


def test_import_reports_bad_files_and_keeps_the_good_ones(tmp_path: Path) -> None:
    content = tmp_path / "course"
    content.mkdir()
    (content / "loops.md").write_text(
        "# Loops\n\nA for loop runs commands once per file.\n\n## Nested\n\nLoops in loops."
    )
    (content / "pipes.html").write_text("<h1>Pipes</h1><p>A pipe sends output to the next command.</p>")
    (content / "broken.pdf").write_bytes(b"%PDF-1.4 not really")
    (content / "latin.txt").write_bytes("caf\xe9".encode("latin-1"))
    data = str(tmp_path / "data")
    result = CliRunner().invoke(
        main, ["content", "import", str(content), "--course", "c1", "--data-dir", data, "--json"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert (report["files"], report["documents"], report["passages"]) == (4, 2, 3)
    assert {p["file"].rsplit("/", 1)[-1] for p in report["problems"]} == {"broken.pdf", "latin.txt"}
    assert "not UTF-8 text (byte 3)" in " ".join(p["message"] for p in report["problems"])

    args = ["tutor", "retrieve", "--learner", "ada", "--course", "c1", "--question", "How do pipes work?"]
    result = CliRunner().invoke(main, [*args, "--data-dir", data, "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["passages"][0]["citation"] == {
        "source": "pipes.html",
        "section": "Pipes",
        "passage": 0,
        "id": out["passages"][0]["citation"]["id"],
    }
    assert out["passages"][0]["skills"] == ["pipes"]


def test_import_of_nothing_readable_fails(tmp_path: Path) -> None:
    bad = tmp_path / "bad.md"
    bad.write_bytes(b"\xff\xfe")
    result = CliRunner().invoke(main, ["content", "import", str(bad), "--course", "c", "--data-dir", str(tmp_path)])
    assert result.exit_code == 1
    assert "bad.md: not UTF-8 text" in result.output


def test_retrieve_from_an_unknown_course_names_it(tmp_path: Path) -> None:
    args = ["tutor", "retrieve", "--learner", "a", "--course", "nope", "--data-dir", str(tmp_path / "d")]
    result = CliRunner().invoke(main, args)
    assert result.exit_code != 0
    assert "no content for course 'nope'" in result.output
