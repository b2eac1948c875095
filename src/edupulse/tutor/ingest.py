"""Import course content into the index: read, chunk, tag, embed, store — file by file.

A file that cannot be read is reported and skipped; the others are imported. Re-importing
a file replaces its passages.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from edupulse.tutor.chunking import chunk_document
from edupulse.tutor.documents import ContentError, iter_documents, iter_files
from edupulse.tutor.skills import heading_skill
from edupulse.tutor.tutor import Tutor

__all__ = ["ImportReport", "Problem", "import_content"]


@dataclass(frozen=True, slots=True)
class Problem:
    file: str
    message: str


@dataclass(slots=True)
class ImportReport:
    files: int = 0
    documents: int = 0
    passages: int = 0
    problems: list[Problem] = field(default_factory=list)


def import_content(
    tutor: Tutor,
    path: Path,
    *,
    tenant: str,
    course: str,
    progress: Callable[[int], None] | None = None,
    total: Callable[[int], None] | None = None,
) -> ImportReport:
    """Import a file, a folder or an LMS package into ``course``."""
    files = list(iter_files(path))
    if total is not None:
        total(len(files))
    report = ImportReport()
    for file in files:
        report.files += 1
        try:
            for doc in iter_documents(file, path):
                chunks = chunk_document(doc, tenant=tenant, course=course, max_chars=tutor.settings.chunk_chars)
                for chunk in chunks:
                    chunk.skills = tutor.skill_map.tag(chunk) if tutor.skill_map else heading_skill(chunk)
                vectors = tutor.embedder.embed([c.embedding_text() for c in chunks])
                tutor.index.replace_source(tenant, course, doc.source, chunks, vectors)
                report.documents += 1
                report.passages += len(chunks)
        except ContentError as exc:
            report.problems.append(Problem(file.as_posix(), str(exc)))
        if progress is not None:
            progress(1)
    return report
