"""Course content: parsing along its structure, chunking, skill tags, bad files."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from edupulse.tutor.chunking import chunk_document
from edupulse.tutor.documents import ContentError, Document, iter_documents, iter_files, parse
from edupulse.tutor.skills import SkillMap, heading_skill, load_skill_map

MARKDOWN = """---
title: Pipes and Filters
---

Intro text.

## Sorting

Use `sort -n`.

```bash
# not a heading, a comment
sort -n lengths.txt
```

### Numeric sort

More.

## Redirection

Use `>`.
"""


def test_markdown_sections_follow_headings_and_skip_code_fences() -> None:
    sections = parse("a.md", MARKDOWN.encode())
    trails = [s.trail for s in sections]
    assert trails == [
        ("Pipes and Filters",),
        ("Pipes and Filters", "Sorting"),
        ("Pipes and Filters", "Sorting", "Numeric sort"),
        ("Pipes and Filters", "Redirection"),
    ]
    assert "# not a heading, a comment" in sections[1].text


def test_html_sections_and_skipped_scripts() -> None:
    html = (
        "<html><head><title>x</title><script>var a = 1;</script></head><body>"
        "<h1>Loops</h1><p>A loop repeats.</p><h2>For &amp; while</h2><p>Two kinds.</p><p>Second.</p></body></html>"
    )
    sections = parse("page.html", html.encode())
    assert [s.trail for s in sections] == [("Loops",), ("Loops", "For & while")]
    assert sections[1].text == "Two kinds.\nSecond."
    assert "var a" not in " ".join(s.text for s in sections)


def test_plain_text_is_one_section() -> None:
    assert [s.text for s in parse("notes.txt", b"\xef\xbb\xbfhello\n")] == ["hello"]
    assert parse("empty.txt", b"  \n") == []


def _pdf(text: str) -> bytes:
    """A one-page PDF with ``text`` in Helvetica, written by hand (offsets computed)."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (i, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def test_pdf_pages_are_sections() -> None:
    sections = parse("slides.pdf", _pdf("Pipes connect commands"))
    assert [(s.trail, s.text) for s in sections] == [(("page 1",), "Pipes connect commands")]


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("bad.pdf", b"%PDF-1.4 garbage", "bad.pdf: not a readable PDF"),
        ("latin.md", "caf\xe9".encode("latin-1"), "latin.md: not UTF-8 text (byte 3)"),
        ("deck.pptx", b"x", "deck.pptx: unsupported file type '.pptx'"),
    ],
)
def test_unreadable_files_say_which_and_why(name: str, data: bytes, message: str) -> None:
    with pytest.raises(ContentError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse(name, data)


def test_folders_and_lms_packages(tmp_path: Path) -> None:
    (tmp_path / "week1").mkdir()
    (tmp_path / "week1" / "a.md").write_text("# A\ntext")
    (tmp_path / "image.png").write_bytes(b"\x89PNG")
    with zipfile.ZipFile(tmp_path / "export.imscc", "w") as z:
        z.writestr("web_resources/b.html", "<h1>B</h1><p>text</p>")
        z.writestr("imsmanifest.xml", "<manifest/>")
    files = list(iter_files(tmp_path))
    assert [f.name for f in files] == ["export.imscc", "a.md"]
    docs = [d for f in files for d in iter_documents(f, tmp_path)]
    assert [d.source for d in docs] == ["export.imscc/web_resources/b.html", "week1/a.md"]


def test_chunks_respect_the_limit_and_paragraphs() -> None:
    para = "word " * 50  # 250 characters
    text = "\n\n".join([para.strip()] * 6) + "\n\n" + "x" * 700
    doc = Document("d.md", parse("d.md", f"# T\n\n{text}".encode()))
    chunks = chunk_document(doc, tenant="t", course="c", max_chars=600)
    assert all(len(c.text) <= 600 for c in chunks)
    assert [c.ordinal for c in chunks] == list(range(len(chunks)))
    assert chunks[0].text == "\n\n".join([para.strip()] * 2)  # whole paragraphs, two fit
    assert "".join(c.text.replace("\n\n", "") for c in chunks).count("x") == 700  # nothing lost
    assert chunks[0].id != chunks[1].id
    assert chunks[0].embedding_text().startswith("T\n")


def test_skill_tags_from_a_map_or_the_top_heading(tmp_path: Path) -> None:
    doc = Document("d.md", parse("d.md", MARKDOWN.encode()))
    chunks = chunk_document(doc, tenant="t", course="c", max_chars=1000)
    assert heading_skill(chunks[0]) == ("pipes-and-filters",)
    skills = SkillMap({"sorting": ["sort"], "redirection": ["redirection", ">"], "loops": ["for"]})
    assert [skills.tag(c) for c in chunks] == [(), ("sorting",), ("sorting",), ("redirection",)]
    path = tmp_path / "skills.json"
    path.write_text('{"sorting": ["sort"]}')
    assert load_skill_map(path).keywords == {"sorting": ["sort"]}
    path.write_text('{"sorting": "sort"}')
    with pytest.raises(ContentError, match=r'must be an object \{"skill": \["keyword", ...\]\}'):
        load_skill_map(path)
