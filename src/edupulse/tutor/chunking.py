"""Cut sections into passages along their structure: paragraphs, never mid-paragraph
unless one paragraph alone is longer than the limit."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from edupulse.tutor.documents import Document

__all__ = ["Chunk", "chunk_document"]

_DIV_FENCE = re.compile(r"^\s*:{3,}.*$", re.MULTILINE)  # pandoc/Carpentries fenced divs
_BLANK = re.compile(r"\n\s*\n")


@dataclass(slots=True)
class Chunk:
    """A passage of a course: where it comes from, its text, and the skills it teaches."""

    tenant: str
    course: str
    source: str
    ordinal: int
    trail: tuple[str, ...]
    text: str
    skills: tuple[str, ...] = field(default=())

    @property
    def id(self) -> str:
        """Stable across re-imports of the same text at the same place."""
        digest = hashlib.sha256(f"{self.source}\x1f{self.ordinal}\x1f{self.text}".encode()).hexdigest()
        return digest[:24]

    @property
    def section(self) -> str:
        return " > ".join(self.trail)

    def embedding_text(self) -> str:
        """What the embedder reads: the heading trail, then the passage."""
        return f"{self.section}\n{self.text}" if self.trail else self.text


def _pieces(text: str, max_chars: int) -> Iterator[str]:
    buf: list[str] = []
    size = 0
    for raw in _BLANK.split(_DIV_FENCE.sub("", text)):
        para = raw.strip()
        if not para:
            continue
        while len(para) > max_chars:  # one huge paragraph: cut at the last space before the limit
            cut = para.rfind(" ", 0, max_chars)
            cut = cut if cut > max_chars // 2 else max_chars
            if buf:
                yield "\n\n".join(buf)
                buf, size = [], 0
            yield para[:cut].strip()
            para = para[cut:].strip()
        if buf and size + len(para) + 2 > max_chars:
            yield "\n\n".join(buf)
            buf, size = [], 0
        buf.append(para)
        size += len(para) + 2
    if buf:
        yield "\n\n".join(buf)


def chunk_document(doc: Document, *, tenant: str, course: str, max_chars: int) -> list[Chunk]:
    """The passages of a document, numbered in reading order."""
    chunks: list[Chunk] = []
    for section in doc.sections:
        for piece in _pieces(section.text, max_chars):
            chunks.append(Chunk(tenant, course, doc.source, len(chunks), section.trail, piece))
    return chunks
