"""The tutor's test course: the Software Carpentry shell lesson excerpt, imported once per session."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from edupulse.config import Settings
from edupulse.tutor.ingest import import_content
from edupulse.tutor.tutor import open_tutor

DATA = Path(__file__).parent / "data" / "tutor"
LESSON = DATA / "shell-novice"
COURSE = "shell"


@pytest.fixture(scope="session")
def shell_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An index file holding the lesson as course ``shell`` of tenant ``default``."""
    path = tmp_path_factory.mktemp("tutor") / "tutor.sqlite"
    tutor = open_tutor(Settings(tutor={"index_path": path}), threads=2)
    try:
        report = import_content(tutor, LESSON, tenant="default", course=COURSE)
    finally:
        tutor.close()
    assert report.problems == []
    assert report.documents == 5
    return path


def copy_index(shell_index: Path, to: Path) -> Path:
    to.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(shell_index, to)
    return to
