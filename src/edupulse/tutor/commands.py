"""The tutor's commands: ``content import`` and ``tutor retrieve``.

Registered on the ``edupulse`` group by ``cli.py``; thin like the others: load settings,
act, print.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from edupulse.cli import _emit, _settings, data_dir_option, option
from edupulse.progress import bar

__all__ = ["COMMANDS", "content", "tutor"]

course_option = option("--course", required=True, help="Course the content belongs to.", env="EDUPULSE_COURSE")


@click.group()
def content() -> None:
    """Course content for the tutor (docs/tutor.md).

    \b
    Examples:
      edupulse content import lessons/ --course shell
    """


@content.command("import")
@data_dir_option
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@course_option
@option("--json", "as_json", is_flag=True, help="Print the report as JSON.", env="EDUPULSE_JSON")
def content_import(data_dir: Path | None, path: Path, course: str, as_json: bool) -> None:
    """Import Markdown, HTML, PDF and text files (a file, a folder, or a .zip/.imscc
    LMS export) into a course's passages; re-importing a file replaces its passages.

    Files that cannot be read are listed and skipped; the others are imported.

    \b
    Examples:
      edupulse content import lessons/ --course shell
      edupulse content import export.imscc --course bio101
    """
    from edupulse.tutor.ingest import import_content
    from edupulse.tutor.tutor import open_tutor

    settings = _settings(data_dir=data_dir)
    tutor = open_tutor(settings, threads=2)
    try:
        with bar("content", unit="file", show=not as_json) as shown:
            report = import_content(
                tutor, path, tenant=settings.tenant, course=course, progress=shown.advance, total=shown.set_total
            )
    finally:
        tutor.close()
    if as_json:
        _emit(report)
    else:
        click.echo(f"{report.files} files, {report.documents} documents, {report.passages} passages")
        for problem in report.problems:
            click.echo(f"{problem.file}: {problem.message}", err=True)
    if report.problems and not report.documents:
        sys.exit(1)


@click.group()
def tutor() -> None:
    """Passages for a learner's weak skills (docs/tutor.md).

    \b
    Examples:
      edupulse tutor retrieve --learner ada --course shell
    """


@tutor.command("retrieve")
@data_dir_option
@option("--learner", required=True, help="The learner.", env="EDUPULSE_LEARNER")
@course_option
@option("--question", help="The learner's question, if any.", env="EDUPULSE_QUESTION")
@option("--k", type=click.IntRange(1, 50), help="Passages to return (default: tutor.passages).", env="EDUPULSE_K")
@option("--json", "as_json", is_flag=True, help="Print the result as JSON.", env="EDUPULSE_JSON")
def tutor_retrieve(
    data_dir: Path | None, learner: str, course: str, question: str | None, k: int | None, as_json: bool
) -> None:
    """Passages for a learner's weakest skills and recent failures in a course, with citations.

    \b
    Examples:
      edupulse tutor retrieve --learner ada --course shell --question "What does a pipe do?" --json
    """
    from edupulse.deployment import Deployment
    from edupulse.tutor.retrieve import retrieve
    from edupulse.tutor.tutor import open_tutor

    settings = _settings(data_dir=data_dir)
    helper = open_tutor(settings)
    try:
        with Deployment(settings) as dep:
            who = dep.learner_key(settings.tenant, learner)  # an identifier or a pseudonym
            tenant = settings.tenant
            out = retrieve(helper, dep.store, tenant=tenant, learner=who, course=course, question=question, k=k)
    finally:
        helper.close()
    if as_json:
        _emit(out)
        return
    weak = ", ".join(f"{w['skill']} ({w['p_mastery']:.2f})" for w in out["weak_skills"]) or "none"
    click.echo(f"weak skills: {weak}")
    for i, p in enumerate(out["passages"], 1):
        cite = p["citation"]
        click.echo(f"[{i}] {cite['source']} — {cite['section']} (score {p['score']:.3f})")
        click.echo("    " + p["text"][:200].replace("\n", " "))


COMMANDS: list[click.Command] = [content, tutor]
