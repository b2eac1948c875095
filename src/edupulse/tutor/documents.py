"""Course documents as sections: a heading trail and the text under it.

Markdown (``#`` headings, YAML front matter's ``title``), HTML (``h1``-``h6``), plain
text (one section) and PDF (one section per page) are read from a file, a folder, or
an LMS export (a ``.zip``/``.imscc`` package of such files).
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from edupulse.errors import TerminalError

__all__ = ["SUFFIXES", "ContentError", "Document", "Section", "iter_documents", "parse"]

SUFFIXES = frozenset({".md", ".markdown", ".html", ".htm", ".txt", ".pdf"})
_PACKAGES = frozenset({".zip", ".imscc"})
_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_FENCE = re.compile(r"^(```|~~~)")


class ContentError(TerminalError):
    """A content file cannot be read; the message names it."""


@dataclass(frozen=True, slots=True)
class Section:
    """Text under a trail of headings (outermost first)."""

    trail: tuple[str, ...]
    text: str


@dataclass(frozen=True, slots=True)
class Document:
    """One file's sections; ``source`` is its path relative to what was imported."""

    source: str
    sections: list[Section]


def _front_matter(text: str) -> tuple[str | None, str]:
    if not text.startswith("---\n"):
        return None, text
    end = text.find("\n---", 4)
    if end < 0:
        return None, text
    title = None
    for line in text[4:end].splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "title":
            title = value.strip().strip("\"'") or None
    return title, text[end + 4 :].lstrip("\n")


def parse_markdown(text: str) -> list[Section]:
    """Sections of a Markdown text; ``#`` lines inside code fences are not headings."""
    title, body = _front_matter(text)
    trail: list[tuple[int, str]] = [(0, title)] if title else []
    sections: list[Section] = []
    lines: list[str] = []
    fenced = False

    def close() -> None:
        chunk = "\n".join(lines).strip()
        if chunk:
            sections.append(Section(tuple(t for _, t in trail), chunk))
        lines.clear()

    for line in body.splitlines():
        if _FENCE.match(line.lstrip()):
            fenced = not fenced
        match = None if fenced else _HEADING.match(line)
        if match is None:
            lines.append(line)
            continue
        close()
        level = len(match.group(1))
        while trail and trail[-1][0] >= level:
            trail.pop()
        trail.append((level, match.group(2).strip()))
    close()
    return sections


class _Html(HTMLParser):
    _SKIP = frozenset({"script", "style", "nav", "head"})
    _BLOCK = frozenset({"p", "div", "li", "br", "pre", "tr", "section", "article", "blockquote"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.trail: list[tuple[int, str]] = []
        self.sections: list[Section] = []
        self.text: list[str] = []
        self.heading: tuple[int, list[str]] | None = None
        self.skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self.skip += 1
        elif len(tag) == 2 and tag[0] == "h" and tag[1] in "123456":
            self.close()
            self.heading = (int(tag[1]), [])
        elif tag in self._BLOCK:
            self.text.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP:
            self.skip = max(0, self.skip - 1)
        elif self.heading is not None and tag == f"h{self.heading[0]}":
            level, words = self.heading
            self.heading = None
            while self.trail and self.trail[-1][0] >= level:
                self.trail.pop()
            self.trail.append((level, " ".join("".join(words).split())))
        elif tag in self._BLOCK:
            self.text.append("\n")

    def handle_data(self, data: str) -> None:
        if self.skip:
            return
        if self.heading is not None:
            self.heading[1].append(data)
        else:
            self.text.append(data)

    def close(self) -> None:
        paragraphs = ("".join(self.text)).split("\n")
        body = "\n".join(" ".join(p.split()) for p in paragraphs if p.strip())
        if body:
            self.sections.append(Section(tuple(t for _, t in self.trail), body))
        self.text.clear()


def parse_html(text: str) -> list[Section]:
    """Sections of an HTML page, cut at its ``h1``-``h6`` headings."""
    parser = _Html()
    parser.feed(text)
    parser.close()
    return parser.sections


def parse_pdf(data: bytes, name: str) -> list[Section]:
    """One section per PDF page with text, titled ``page N``."""
    from pypdf import PdfReader  # noqa: PLC0415 - only PDF imports need it
    from pypdf.errors import PyPdfError  # noqa: PLC0415

    try:
        reader = PdfReader(io.BytesIO(data))
        pages = [page.extract_text() or "" for page in reader.pages]
    except (PyPdfError, ValueError, KeyError) as exc:
        raise ContentError(f"{name}: not a readable PDF ({exc})") from exc
    return [Section((f"page {i}",), text.strip()) for i, text in enumerate(pages, 1) if text.strip()]


def parse(name: str, data: bytes) -> list[Section]:
    """The sections of one file, by its suffix."""
    suffix = Path(name).suffix.lower()
    if suffix == ".pdf":
        return parse_pdf(data, name)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ContentError(f"{name}: not UTF-8 text (byte {exc.start})") from exc
    if suffix in (".md", ".markdown"):
        return parse_markdown(text)
    if suffix in (".html", ".htm"):
        return parse_html(text)
    if suffix == ".txt":
        return [Section((), text.strip())] if text.strip() else []
    raise ContentError(f"{name}: unsupported file type {suffix!r} (supported: {', '.join(sorted(SUFFIXES))})")


def _package(path: Path) -> Iterator[tuple[str, bytes]]:
    try:
        with zipfile.ZipFile(path) as archive:
            for member in sorted(archive.namelist()):
                if Path(member).suffix.lower() in SUFFIXES:
                    yield f"{path.name}/{member}", archive.read(member)
    except zipfile.BadZipFile as exc:
        raise ContentError(f"{path}: not a readable zip package ({exc})") from exc


def iter_files(root: Path) -> Iterator[Path]:
    """The content files under ``root`` (itself if it is a file), in name order."""
    if root.is_file():
        yield root
        return
    for path in sorted(root.rglob("*")):
        if path.is_file() and path.suffix.lower() in SUFFIXES | _PACKAGES:
            yield path


def iter_documents(path: Path, root: Path) -> Iterator[Document]:
    """The documents of one file (several for an LMS package); raises ContentError if unreadable."""
    rel = path.name if path == root else path.relative_to(root).as_posix()
    if path.suffix.lower() in _PACKAGES:
        for name, data in _package(path):
            yield Document(name, parse(name, data))
        return
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ContentError(f"{rel}: cannot be read ({exc.strerror})") from exc
    yield Document(rel, parse(rel, data))
