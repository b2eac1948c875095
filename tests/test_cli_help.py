"""Every command and group of `edupulse` has examples in its --help, and every example parses.

The tree is walked from the root group, so commands other modules register are checked too.
Examples are parsed with click's ``make_context`` (options, arguments, choices, required
options) without running anything.
"""

from __future__ import annotations

import shlex

import click
import pytest
from click.testing import CliRunner

from edupulse.cli import main

EXAMPLES = "\b\nExamples:"
PROGRAM = "edupulse"


def _tree(command: click.Command, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], click.Command]]:
    found = [(path, command)]
    if isinstance(command, click.Group):
        for name, sub in sorted(command.commands.items()):
            found += _tree(sub, (*path, name))
    return found


TREE = _tree(main)


def _examples(command: click.Command) -> list[str]:
    """The example lines of a command: the indented lines after ``Examples:`` in its epilog."""
    epilog = command.epilog or ""
    assert epilog.startswith(EXAMPLES), f"no `Examples:` epilog: {epilog!r}"
    return [line.strip() for line in epilog[len(EXAMPLES) :].splitlines() if line.strip()]


def _invocations(line: str) -> list[list[str]]:
    """The `edupulse ...` argument lists in one shell line (env prefixes, &&, >, $(...) and # comments aside)."""
    found: list[list[str]] = []
    current: list[str] | None = None
    for word in shlex.split(line, comments=True):
        if word.startswith("$(") and word.endswith(")"):
            found += _invocations(word[2:-1])
        elif word == PROGRAM:
            current = []
            found.append(current)
        elif word in ("&&", "||", ";", "|") or word.startswith(">"):
            current = None
        elif current is not None:
            current.append(word)
    return found


def _parse(args: list[str]) -> click.Context:
    """Parse ``args`` as click would run them, without running the command."""
    ctx = click.Context(main, info_name="edupulse")
    command: click.Command = main
    rest = list(args)
    while isinstance(command, click.Group):
        assert rest and rest[0] in command.commands, f"{args}: {rest[:1]} is not a command of {command.name}"
        name = rest.pop(0)
        command = command.commands[name]
        if isinstance(command, click.Group):
            ctx = click.Context(command, info_name=name, parent=ctx)
    return command.make_context(command.name, rest, parent=ctx)


@pytest.mark.parametrize(("path", "command"), TREE, ids=[" ".join(p) or "edupulse" for p, _ in TREE])
def test_help_exits_zero_and_shows_examples_after_the_options(path: tuple[str, ...], command: click.Command) -> None:
    result = CliRunner().invoke(main, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Examples:" in result.output
    assert result.output.index("Options:") < result.output.index("Examples:")
    assert any(("edupulse " + " ".join(path)).strip() in line for line in _examples(command))


@pytest.mark.parametrize(("path", "command"), TREE, ids=[" ".join(p) or "edupulse" for p, _ in TREE])
def test_every_example_parses(path: tuple[str, ...], command: click.Command) -> None:
    invocations = [args for line in _examples(command) for args in _invocations(line)]
    assert invocations, f"{' '.join(path)}: no `edupulse ...` line among the examples"
    for args in invocations:
        try:
            _parse(args)
        except click.BadParameter as exc:
            # example paths (a data set, an export) need not exist where the test runs; anything else must parse
            assert "does not exist" in str(exc), f"`edupulse {shlex.join(args)}`: {exc}"
        except click.ClickException as exc:
            pytest.fail(f"`edupulse {shlex.join(args)}` does not parse: {exc.format_message()}")


def test_a_wrong_example_would_be_caught() -> None:
    with pytest.raises(click.NoSuchOption):
        _parse(["lake", "sync", "--no-such-option"])
    with pytest.raises(click.BadParameter):
        _parse(["import", "excel", "file.xlsx"])
    with pytest.raises(click.MissingParameter):
        _parse(["alerts", "ack", "ALERT_ID"])
    assert _invocations('EDUPULSE_X=1 edupulse lake sync && edupulse sql "SELECT 1" > out # note') == [
        ["lake", "sync"],
        ["sql", "SELECT 1"],
    ]
