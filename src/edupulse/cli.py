"""The ``edupulse`` command: thin commands that load settings, act, and print.

Every option can also be set by an environment variable named after it:
``--data-dir`` is ``EDUPULSE_DATA_DIR``, ``--port`` is ``EDUPULSE_PORT``.
"""

from __future__ import annotations

import errno
import inspect
import logging
import os
import socket
import sys
import traceback
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO, TypeVar

import click
import msgspec

from edupulse import __version__
from edupulse.config import Settings
from edupulse.errors import ConfigError, EdupulseError, TerminalError
from edupulse.privacy.credentials import CredentialStore
from edupulse.progress import QUIET_KEY, Bar, bar, one_phase

__all__ = ["main"]

F = TypeVar("F", bound=Callable[..., Any])
logger = logging.getLogger("edupulse")


def _settings(**overrides: Any) -> Settings:
    """Settings from the environment, with the options given on the command line on top."""
    given = {k: v for k, v in overrides.items() if v is not None}
    try:
        settings = Settings(**given)
    except ValueError as exc:
        raise click.UsageError(f"invalid setting: {exc}") from exc
    _check_data_dir(settings.data_dir)
    return settings


def _check_data_dir(path: Path) -> None:
    """A data directory that is one, or can be created: else a usage error naming the setting."""
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    problem = None
    if not existing.is_dir():
        problem = errno.ENOTDIR
    elif existing != path and not os.access(existing, os.W_OK | os.X_OK):
        problem = errno.EACCES  # (an existing one may be read-only: commands that only read work there)
    if problem is not None:
        unusable = "is unusable" if existing == path else "cannot be created"
        raise click.UsageError(
            f"data directory {path} {unusable} ({existing}: {os.strerror(problem)}); "
            "set --data-dir or EDUPULSE_DATA_DIR"
        )


def _check_port_free(settings: Settings) -> None:
    """Fail at once, plainly, when another process listens on the API's port."""
    if settings.port == 0:
        return
    with socket.socket(socket.AF_INET6 if ":" in settings.host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server binds
        try:
            probe.bind((settings.host, settings.port))
        except OSError as exc:
            raise ConfigError(
                f"cannot listen on {settings.host}:{settings.port}: {exc.strerror}; "
                "stop what uses it or choose another --port (EDUPULSE_PORT)"
            ) from None


def option(*flags: str, env: str, help: str, **kwargs: Any) -> Callable[[F], F]:
    """A click option that can also be set by the environment variable ``env``, and says so."""
    return click.option(*flags, envvar=env, help=f"{help}  [env: {env}]", **kwargs)


data_dir_option = option(
    "--data-dir",
    env="EDUPULSE_DATA_DIR",
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory of the embedded stores (default: ./edupulse-data).",
)
host_option = option("--host", env="EDUPULSE_HOST", help="Interface to listen on (default: 127.0.0.1).")
port_option = option("--port", env="EDUPULSE_PORT", type=int, help="Port to listen on (default: 8000).")


@contextmanager
def _credentials(settings: Settings) -> Iterator[CredentialStore]:
    from edupulse.deployment import open_credentials

    creds = open_credentials(settings)
    try:
        yield creds
    finally:
        creds.close()


def _emit(value: Any) -> None:
    click.echo(msgspec.json.format(msgspec.json.encode(value), indent=2).decode())


VERBOSE_KEY = "edupulse.verbose"
"""Key in the root click context's ``meta``: True with -v, when errors show their traceback."""

USAGE_ERRORS: tuple[type[BaseException], ...] = (
    TerminalError,
    FileNotFoundError,
    FileExistsError,
    IsADirectoryError,
    NotADirectoryError,
    PermissionError,
)
"""Errors only a change to the command, a setting, a path or an input fixes: exit code 2, like bad usage."""


def _one_line(exc: BaseException, *, verbose: bool = False) -> str:
    text = " ".join(str(exc).split())
    if isinstance(exc, OSError) and exc.filename is not None:
        return f"{exc.filename}: {exc.strerror}"
    if isinstance(exc, (EdupulseError, OSError)):
        return text or type(exc).__name__
    return f"unexpected {type(exc).__name__}: {text}" + ("" if verbose else " (run with -v for the traceback)")


class _Group(click.Group):
    """Turns every error into a one-line ``error: ...`` and an exit code, never a traceback (unless -v).

    Exit code 2: retrying the same command cannot help (bad usage, a wrong setting, a path
    that cannot be used, a bad input, nothing found); 1: it may (a service down or busy, an
    unexpected failure).
    """

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        """As click's, but bad usage is one line too: ``error: ...`` and where to find help."""
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.exceptions.NoArgsIsHelpError as exc:  # a group alone: its help, as click shows it
            exc.show()
            sys.exit(exc.exit_code)
        except click.UsageError as exc:
            where = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
            click.echo(f"error: {' '.join(exc.format_message().split())}{where}", err=True)
            sys.exit(exc.exit_code)
        except click.ClickException as exc:
            click.echo(f"error: {' '.join(exc.format_message().split())}", err=True)
            sys.exit(exc.exit_code)
        except click.Abort:
            click.echo("aborted", err=True)
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as exc:  # the one place where every failure becomes one line
            verbose = bool(ctx.meta.get(VERBOSE_KEY))
            if verbose:
                click.echo("".join(traceback.format_exception(exc)).rstrip(), err=True)
            click.echo(f"error: {_one_line(exc, verbose=verbose)}", err=True)
            sys.exit(2 if isinstance(exc, USAGE_ERRORS) else 1)


@click.group(cls=_Group)
@click.version_option(__version__, prog_name="edupulse")
@option("-v", "--verbose", count=True, help="More logging (-v info and tracebacks, -vv debug).", env="EDUPULSE_VERBOSE")
@option(
    "-q",
    "--quiet",
    "--no-progress",
    "quiet",
    is_flag=True,
    help="No progress bars (they only show when stderr is a terminal anyway).",
    env="EDUPULSE_NO_PROGRESS",
)
@click.pass_context
def main(ctx: click.Context, verbose: int, quiet: bool) -> None:
    """Real-time learning analytics on one Kappa stream.

    Errors print one line, `error: ...` (-v adds the traceback), and exit with code 2 when
    the command or its settings, paths or inputs must change, 1 when retrying may help.
    Shell completion: `edupulse completion --help`.

    \b
    Examples:
      edupulse demo                           # a live simulated course at http://127.0.0.1:8000
      edupulse import xapi statements.ndjson  # files of another system onto the log
      edupulse serve --data-dir ./edupulse-data
    """
    ctx.meta[VERBOSE_KEY] = verbose > 0
    ctx.meta[QUIET_KEY] = quiet
    level = [logging.WARNING, logging.INFO, logging.DEBUG][min(verbose, 2)]
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


@main.command()
@data_dir_option
@host_option
@port_option
@option("--partitions", type=int, help="Partitions of a new log.", env="EDUPULSE_LOG__PARTITIONS")
@option(
    "--workers",
    type=click.IntRange(1, 64),
    help="API processes (default: one per usable core; 1 with --processing thread).",
    env="EDUPULSE_WORKERS",
)
@option(
    "--processing",
    type=click.Choice(["process", "thread"]),
    help="Run the stream runtime in a process of its own beside the API, or in a thread of it (default: process).",
    env="EDUPULSE_PROCESSING",
)
def serve(
    data_dir: Path | None,
    host: str | None,
    port: int | None,
    partitions: int | None,
    workers: int | None,
    processing: str | None,
) -> None:
    """Run the API and the stream runtime on the embedded stores.

    \b
    Examples:
      edupulse serve --data-dir ./edupulse-data --host 0.0.0.0 --port 8000
      edupulse serve --workers 2      # two API processes and a processor process
    """
    log = {"partitions": partitions} if partitions else None
    settings = _settings(data_dir=data_dir, host=host, port=port, log=log, workers=workers, processing=processing)
    if settings.processing == "thread" and settings.api_workers > 1:
        raise click.UsageError("--processing thread runs in the one API process: use it with --workers 1")
    _check_port_free(settings)
    from edupulse.server import run_server

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    run_server(settings)


@main.command()
@data_dir_option
def worker(data_dir: Path | None) -> None:
    """Run only the stream runtime (no API), until interrupted.

    \b
    Examples:
      edupulse worker --data-dir ./edupulse-data
    """
    from edupulse.processor import run_processor

    settings = _settings(data_dir=data_dir)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    run_processor(settings)


@main.command()
@data_dir_option
@option(
    "--workers",
    type=click.IntRange(1, 256),
    help="Processes to replay with (default: one per core for large logs, else one).",
    env="EDUPULSE_REPLAY_WORKERS",
)
def replay(data_dir: Path | None, workers: int | None) -> None:
    """Rebuild all state from the log at full speed (stop the server first).

    \b
    Examples:
      edupulse replay --data-dir ./edupulse-data
    """
    from edupulse.replay import replay as run_replay

    settings = _settings(data_dir=data_dir)
    with bar("replay", unit="ev") as shown:
        report = run_replay(settings, workers=workers, progress=shown.advance, total=shown.set_total)
    _emit(report)


@main.command()
@data_dir_option
@option("--json", "as_json", is_flag=True, help="Print JSON.", env="EDUPULSE_JSON")
def status(data_dir: Path | None, as_json: bool) -> None:
    """Events, learners, courses and each partition's log and committed offsets.

    \b
    Examples:
      edupulse status --json
    """
    from edupulse.deployment import Deployment
    from edupulse.status import pipeline_status

    with Deployment(_settings(data_dir=data_dir)) as deployment:
        report = pipeline_status(deployment)
    if as_json:
        _emit(report)
        return
    click.echo(f"events {report['events']}  processed {report['processed']}  lag {report['lag']}")
    click.echo(f"learners {report['learners']}  courses {report['courses']}")
    for p in report["partitions"]:
        click.echo(f"  partition {p['partition']:>3}: end {p['end_offset']:>9}  committed {p['committed_offset']:>9}")


@main.group()
def keys() -> None:
    """Manage source credentials (HTTP Basic: key as user, secret as password).

    \b
    Examples:
      edupulse keys create --name moodle
      edupulse keys list
    """


@keys.command("create")
@data_dir_option
@option("--name", required=True, help="What the key is for, e.g. the LMS that sends with it.", env="EDUPULSE_KEY_NAME")
@option("--tenant", help="Tenant the key writes to and reads from.", env="EDUPULSE_TENANT")
@option(
    "--scope",
    "scopes",
    multiple=True,
    type=click.Choice(["ingest", "read", "admin"]),
    help="Repeatable (in the variable: separated by spaces); default: ingest and read.",
    env="EDUPULSE_KEY_SCOPES",
)
@option("--json", "as_json", is_flag=True, help="Print JSON with fields key and secret.", env="EDUPULSE_JSON")
def keys_create(data_dir: Path | None, name: str, tenant: str | None, scopes: tuple[str, ...], as_json: bool) -> None:
    """Create credentials for a source; the secret is shown only once.

    \b
    Examples:
      edupulse keys create --name moodle --json
    """
    settings = _settings(data_dir=data_dir, tenant=tenant)
    with _credentials(settings) as creds:
        new = creds.create(name, tenant=settings.tenant, scopes=scopes or ("ingest", "read"))
    if as_json:
        _emit(new)
    else:
        click.echo(f"key    {new.key}\nsecret {new.secret}\n(store the secret now: it is not shown again)")


@keys.command("list")
@data_dir_option
def keys_list(data_dir: Path | None) -> None:
    """List credentials (never their secrets).

    \b
    Examples:
      edupulse keys list
    """
    with _credentials(_settings(data_dir=data_dir)) as creds:
        _emit(creds.list())


@keys.command("revoke")
@data_dir_option
@click.argument("key")
def keys_revoke(data_dir: Path | None, key: str) -> None:
    """Revoke a key; servers stop accepting it within 30 seconds.

    \b
    Examples:
      edupulse keys revoke ep_0123456789abcdef
    """
    with _credentials(_settings(data_dir=data_dir)) as creds:
        if not creds.revoke(key):
            raise click.UsageError(f"no active key {key!r}")
    click.echo(f"revoked {key}")


def _sim_options(func: F) -> F:
    options = [
        option("--seed", type=int, help="Seed; the same seed gives the same statements.", env="EDUPULSE_SIM_SEED"),
        option(
            "--courses",
            type=click.IntRange(1, 1000),
            default=3,
            show_default=True,
            help="Simulated courses.",
            env="EDUPULSE_SIM_COURSES",
        ),
        option(
            "--learners",
            type=click.IntRange(1, 1_000_000),
            default=100,
            show_default=True,
            help="Learners per course.",
            env="EDUPULSE_SIM_LEARNERS",
        ),
    ]
    for decorate in reversed(options):
        func = decorate(func)
    return func


@main.command()
@data_dir_option
@host_option
@port_option
@option(
    "--rate",
    type=click.FloatRange(min=1),
    default=200,
    show_default=True,
    help="Statements per second.",
    env="EDUPULSE_SIM_RATE",
)
@option(
    "--duration",
    type=click.FloatRange(min=1),
    help="Stop after this many seconds (default: run until Ctrl-C).",
    env="EDUPULSE_DEMO_DURATION",
)
@_sim_options
def demo(
    data_dir: Path | None,
    host: str | None,
    port: int | None,
    rate: float,
    duration: float | None,
    seed: int | None,
    courses: int,
    learners: int,
) -> None:
    """Start the embedded pipeline, its API and a live simulated course; print the URL.

    \b
    Examples:
      edupulse demo --rate 500 --learners 300
    """
    import secrets

    settings = _settings(data_dir=data_dir, host=host, port=port)
    _check_port_free(settings)
    from edupulse.demo import live_course, run_demo
    from edupulse.privacy.credentials import NewKey

    seed = secrets.randbelow(2**31) if seed is None else seed

    def announce(url: str, key: NewKey, token: str | None) -> None:
        auth = f"{key.key}:{key.secret}"
        sign_in = (
            f"  dashboard: {url}/ui/  (sign in as the demo's administrator with this token, valid 12 h:)\n    {token}\n"
            if token
            else f"  dashboard: {url}/ui/  (sign in with a person's token from your identity provider)\n"
        )
        click.echo(
            f"\nedupulse demo is running at {url}  (API docs: {url}/docs)\n"
            + sign_in
            + f"  simulating {courses} course(s) x {learners} learners at {rate:g} statements/s (seed {seed})\n"
            f"  data directory: {settings.data_dir.resolve()}\n"
            f"  credentials (HTTP Basic): {auth}\n\n"
            f"  curl -u {auth} {url}/api/v1/courses\n"
            f"  curl -N -u {auth} {url}/api/v1/stream\n"
            f"  curl -u {auth} {url}/api/v1/status\n"
            f"  curl -u {auth} '{url}/api/v1/course/at-risk?course=COURSE_ID'\n\n"
            "Press Ctrl-C to stop.\n"
        )

    run_demo(settings, live_course(seed, courses, learners), rate_per_s=rate, duration_s=duration, announce=announce)


@main.command()
@_sim_options
@option(
    "--days",
    type=click.IntRange(7, 730),
    default=56,
    show_default=True,
    help="Length of the simulated term.",
    env="EDUPULSE_SIM_DAYS",
)
@option(
    "--count",
    type=click.IntRange(min=1),
    help="Stop after this many statements (default: the whole term).",
    env="EDUPULSE_SIM_COUNT",
)
@option(
    "--output",
    "-o",
    type=click.File("w"),
    default="-",
    help="NDJSON file to write when no --url is given (default: stdout).",
    env="EDUPULSE_SIM_OUTPUT",
)
@option("--url", help="Post to this server instead, e.g. http://127.0.0.1:8000.", env="EDUPULSE_SIM_URL")
@option("--key", help="Credential key for --url.", env="EDUPULSE_SIM_KEY")
@option("--secret", help="Credential secret for --url.", env="EDUPULSE_SIM_SECRET")
@option(
    "--rate",
    type=click.FloatRange(min=0.1),
    help="Statements per second to --url (default: as fast as it takes them).",
    env="EDUPULSE_SIM_RATE",
)
@option(
    "--batch-size",
    type=click.IntRange(1, 10_000),
    default=500,
    show_default=True,
    help="Statements per request.",
    env="EDUPULSE_SIM_BATCH_SIZE",
)
def simulate(
    seed: int | None,
    courses: int,
    learners: int,
    days: int,
    count: int | None,
    output: TextIO,
    url: str | None,
    key: str | None,
    secret: str | None,
    rate: float | None,
    batch_size: int,
) -> None:
    """Generate a simulated course as xAPI statements: to NDJSON, or posted to a server.

    \b
    Examples:
      edupulse simulate --seed 7 --count 10000 -o statements.ndjson
      edupulse simulate --url http://127.0.0.1:8000 --key K --secret S --rate 2000
    """
    from itertools import islice

    from edupulse.sim import CourseSimulator, SimConfig
    from edupulse.sim.sender import send

    config = SimConfig(seed=seed or 0, courses=courses, learners_per_course=learners, days=days)
    statements = CourseSimulator(config).statements()
    if count is not None:
        statements = islice(statements, count)
    if url is None:
        _write_statements(statements, output, count)
        return
    if not key or not secret:
        raise click.UsageError("--url needs --key and --secret (create them with `edupulse keys create`)")
    with bar("simulate", unit="st", total=count) as shown:
        report = send(
            statements,
            url=url.rstrip("/") + "/xapi/statements",
            auth=(key, secret),
            rate_per_s=rate,
            batch_size=batch_size,
            on_batch=shown.advance,
        )
    _emit(report)
    if report.rejected:
        sys.exit(1)


def _write_statements(statements: Iterable[Any], output: TextIO, count: int | None) -> None:
    encode = msgspec.json.Encoder().encode
    written = 0
    # a bar over a file being written, never over statements going to the terminal itself
    with bar("simulate", unit="st", total=count, show=output is not sys.stdout or not sys.stdout.isatty()) as shown:
        for stmt in statements:
            output.write(encode(stmt).decode() + "\n")
            written += 1
            if written % 1000 == 0:
                shown.advance(1000)
        shown.advance(written % 1000)


assistments_data_option = option(
    "--data",
    required=True,
    type=click.Path(exists=True, path_type=Path),
    help="ASSISTments-style data: a directory with train.csv and test.csv (user_id,skill_name,correct).",
    env="EDUPULSE_ASSISTMENTS_DATA",
)
seed_option = option(
    "--seed", type=int, default=0, show_default=True, help="Seed of the EM restarts.", env="EDUPULSE_SEED"
)


split_option = option(
    "--split",
    type=click.Choice(["sequence", "user_id"]),
    default="sequence",
    show_default=True,
    help="Learners are runs of user_id rows (the DKT files' user_id is a sequence length), or user_id as is.",
    env="EDUPULSE_ASSISTMENTS_SPLIT",
)


IMPORT_FORMATS = ("canvas", "edx", "moodle", "oneroster", "oulad", "xapi")


@main.command("import")
@data_dir_option
@click.argument("format", metavar="FORMAT", type=click.Choice(IMPORT_FORMATS))
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@option("--json", "as_json", is_flag=True, help="Print the report as JSON.", env="EDUPULSE_JSON")
def import_(data_dir: Path | None, format: str, paths: tuple[Path, ...], as_json: bool) -> None:
    """Import files of another system onto the log (streaming, resumable).

    Re-running resumes where the last run stopped; events already stored are not
    stored twice. Bad lines are counted and listed with their line numbers.

    Formats: canvas (Canvas Live Events, one per line, canvas or caliper format), edx
    (Open edX tracking logs, with or without a syslog prefix), moodle (the
    logstore_standard_log table as CSV or tab-separated, with a header row), oulad (the
    OULAD CSV tables), xapi (one xAPI statement per line; .gz files are read as such),
    oneroster (OneRoster 1.1 CSV rosters, into the roster store rather than the log:
    users, classes, enrolments, advisors; they decide what each person may see).

    \b
    Examples:
      edupulse import oulad ../shared/data/oulad
      edupulse import edx /var/log/tracking/tracking.log*
      edupulse import xapi statements.ndjson.gz
      edupulse import moodle logstore_standard_log.csv
      edupulse import canvas live-events/
      edupulse import oneroster ./roster-export
    """
    if format == "oneroster":
        _import_roster(data_dir, paths, as_json)
        return
    from edupulse.deployment import Deployment
    from edupulse.importers.base import Importer, run_import
    from edupulse.importers.lines import CanvasImporter, EdxImporter, XapiImporter
    from edupulse.importers.moodle import MoodleImporter
    from edupulse.importers.oulad import OuladImporter

    settings = _settings(data_dir=data_dir)
    with (
        Deployment(settings) as dep,
        bar("import", unit="B", show=not as_json) as shown,
    ):
        importers: dict[str, type[CanvasImporter | EdxImporter | MoodleImporter | OuladImporter | XapiImporter]] = {
            "canvas": CanvasImporter,
            "edx": EdxImporter,
            "moodle": MoodleImporter,
            "oulad": OuladImporter,
            "xapi": XapiImporter,
        }
        importer: Importer = importers[format](tenant=settings.tenant)
        report = run_import(
            dep.log,
            importer,
            paths,
            checkpoint_dir=settings.data_dir / "imports",
            progress=shown.advance,
            total=shown.set_total,
        )
    if as_json:
        _emit(report)
        return
    click.echo(f"{report.lines} lines, {report.appended} events stored, {report.duplicates} already stored")
    _echo_bad_lines(report)


def _echo_bad_lines(report: Any) -> None:
    for bad in report.problems:
        click.echo(f"{bad.file}:{bad.line}: {bad.message}", err=True)
    if report.bad_lines:
        click.echo(f"{report.bad_lines} bad line(s) skipped", err=True)


def _import_roster(data_dir: Path | None, paths: tuple[Path, ...], as_json: bool) -> None:
    from edupulse.deployment import open_roster
    from edupulse.roster.oneroster import import_roster

    settings = _settings(data_dir=data_dir)
    store = open_roster(settings)
    try:
        report = import_roster(store, paths, tenant=settings.tenant, checkpoint_dir=settings.data_dir / "imports")
        counts = store.counts(settings.tenant)
    finally:
        store.close()
    if as_json:
        _emit(report)
        return
    click.echo(
        f"{report.lines} lines, {report.appended} roster rows stored; now "
        + ", ".join(f"{n} {table}" for table, n in counts.items())
    )
    _echo_bad_lines(report)


oulad_data_option = option(
    "--data",
    "data",
    required=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Directory of the OULAD CSV tables.",
    env="EDUPULSE_OULAD_DATA",
)


OULAD_PHASES = 2
"""Phases the OULAD pipeline names before its cut-off days: import, then replay."""


def _phases(shown: Bar) -> Callable[[str], None]:
    """A ``say`` callback that prints each message and counts it as a finished phase."""

    def say(message: str) -> None:
        shown.note(message)
        shown.advance()

    return say


@main.group()
def evaluate() -> None:
    """Score models offline on public data sets, reproducibly for a seed.

    \b
    Examples:
      edupulse evaluate oulad --data ../shared/data/oulad
      edupulse evaluate assistments --data ../shared/data/assistments2009 --json
    """


@evaluate.command("assistments")
@assistments_data_option
@seed_option
@split_option
@option("--json", "as_json", is_flag=True, help="Print JSON: an object with `auc` for each model.", env="EDUPULSE_JSON")
def evaluate_assistments(data: Path, seed: int, split: str, as_json: bool) -> None:
    """Knowledge tracing: fit BKT, BKT with forgetting and Elo on train.csv, AUC on test.csv.

    \b
    Examples:
      edupulse evaluate assistments --data ../shared/data/assistments2009 --json
    """
    from edupulse.ml.assistments import evaluate as run

    with one_phase("evaluate assistments", "fitting and scoring BKT, BKT with forgetting and Elo", show=not as_json):
        report = run(data, seed=seed, split="user_id" if split == "user_id" else "sequence")
    if as_json:
        _emit(report)
        return
    click.echo(f"train {report.train_attempts} attempts, test {report.test_attempts} (split: {split})")
    for name, score in (("bkt", report.bkt), ("bkt_forgetting", report.bkt_forgetting), ("elo", report.elo)):
        click.echo(f"  {name:<15} AUC {score.auc:.4f}")


@evaluate.command("oulad")
@oulad_data_option
@seed_option
@option(
    "--cohort-partitions",
    type=click.IntRange(min=1),
    help="Test on cohort features from each learner's log partition only, as live scoring sees them.",
    env="EDUPULSE_COHORT_PARTITIONS",
)
@option("--json", "as_json", is_flag=True, help="Print JSON.", env="EDUPULSE_JSON")
def evaluate_oulad(data: Path, seed: int, cohort_partitions: int | None, as_json: bool) -> None:
    """At-risk prediction on OULAD: train on 2013, test on 2014, at days 0-120.

    \b
    Examples:
      edupulse evaluate oulad --data ../shared/data/oulad --json
      edupulse evaluate oulad --data ../shared/data/oulad --cohort-partitions 8
    """
    from edupulse.ml.oulad import CUTOFF_DAYS
    from edupulse.ml.oulad import evaluate as run

    with bar("evaluate oulad", unit="phase", total=OULAD_PHASES + len(CUTOFF_DAYS), show=not as_json) as shown:
        result = run(data, seed=seed, say=_phases(shown), cohort_partitions=cohort_partitions)
    if as_json:
        _emit(result)
        return
    for c in result.cutoffs:
        click.echo(f"day {c.day:>3}: AUC {c.auc:.4f}  ECE {c.ece:.4f}  n {c.n}  (logistic AUC {c.baseline_auc:.4f})")


@main.group()
def train() -> None:
    """Fit models from history and store them where the pipeline finds them.

    \b
    Examples:
      edupulse train risk --data ../shared/data/oulad
      edupulse train mastery --data-dir ./edupulse-data
    """


@train.command("mastery")
@data_dir_option
@option(
    "--data",
    type=click.Path(exists=True, path_type=Path),
    help="A CSV of graded attempts (user_id,skill_name,correct, in attempt order), or a directory with "
    "train.csv (default: the graded attempts in the event log of the data directory).",
    env="EDUPULSE_TRAIN_DATA",
)
@split_option
@seed_option
@option(
    "--restarts",
    type=click.IntRange(1, 32),
    default=4,
    show_default=True,
    help="EM restarts.",
    env="EDUPULSE_TRAIN_RESTARTS",
)
@option(
    "--iterations",
    type=click.IntRange(1, 1000),
    default=60,
    show_default=True,
    help="Most EM iterations.",
    env="EDUPULSE_TRAIN_ITERATIONS",
)
def train_mastery(
    data_dir: Path | None, data: Path | None, split: str, seed: int, restarts: int, iterations: int
) -> None:
    """Fit BKT with forgetting per skill and Elo difficulties; store them for the mastery operator.

    The model goes to DATA_DIR/models/mastery.json; `serve` and `replay` use it from their next start.

    \b
    Examples:
      edupulse train mastery --data ../shared/data/assistments2009 --data-dir ./edupulse-data
      edupulse train mastery --data-dir ./edupulse-data     # from the attempts in the log
    """
    from edupulse.ml.bkt_fit import FitOptions
    from edupulse.ml.mastery_model import save_model
    from edupulse.ml.training import train as fit

    settings = _settings(data_dir=data_dir)
    with bar("train mastery", unit="phase", total=2) as shown:
        shown.phase("reading attempts")
        attempts, source = _training_attempts(settings, data, split)
        if not attempts:
            raise click.UsageError(f"no graded attempts with skills in {source}; pass --data with a CSV of attempts")
        shown.advance()
        shown.phase(f"fitting {len(attempts)} attempts")
        model = fit(attempts, FitOptions(seed=seed, restarts=restarts, iterations=iterations), source=source)
        shown.advance()
    path = save_model(model, settings.data_dir)
    _emit({"model": str(path), "version": model.version, "skills": len(model.bkt), **model.trained_on})


def _training_attempts(settings: Settings, data: Path | None, split: str) -> tuple[list[tuple[str, str, bool]], str]:
    from edupulse.ml.assistments import load_attempts

    if data is not None:
        source = data / "train.csv" if data.is_dir() else data
        return load_attempts(source, split="user_id" if split == "user_id" else "sequence"), str(source)
    from edupulse.deployment import Deployment
    from edupulse.ml.training import attempts_from_log
    from edupulse.stream.runtime import EVENTS_TOPIC

    with Deployment(settings) as deployment:
        return attempts_from_log(deployment.log, EVENTS_TOPIC), f"the event log of {settings.data_dir}"


@train.command("risk")
@data_dir_option
@oulad_data_option
@seed_option
def train_risk(data_dir: Path | None, data: Path, seed: int) -> None:
    """Fit the at-risk models (one per cut-off day) on the OULAD tables and store them.

    \b
    Examples:
      edupulse train risk --data ../shared/data/oulad
    """
    from edupulse.ml.oulad import CUTOFF_DAYS
    from edupulse.ml.oulad import train as run
    from edupulse.ml.registry import ModelCard, save_model

    settings = _settings(data_dir=data_dir)
    with bar("train risk", unit="phase", total=OULAD_PHASES + len(CUTOFF_DAYS)) as shown:
        models = run(data, seed=seed, say=_phases(shown))
    card = ModelCard("risk", models.version, {"seed": seed, "examples": models.examples, "source": str(data)})
    where = save_model(settings.data_dir / "models", card, models)
    _emit({"version": models.version, "path": str(where), "examples": models.examples})


# The lake's commands live with the lake; they use the helpers above.
from edupulse.lake import commands as _lake_commands  # noqa: E402

for _command in _lake_commands.COMMANDS:
    main.add_command(_command)

# The alert commands live with the alerts.
from edupulse.alerts import commands as _alert_commands  # noqa: E402

for _command in _alert_commands.COMMANDS:
    main.add_command(_command)

# The privacy commands (forget, privacy rotate-key|identity|pseudonym) live with privacy.
from edupulse.privacy import commands as _privacy_commands  # noqa: E402

for _command in _privacy_commands.COMMANDS:
    main.add_command(_command)

# The tutor's commands live with the tutor.
from edupulse.tutor import commands as _tutor_commands  # noqa: E402

for _command in _tutor_commands.COMMANDS:
    main.add_command(_command)

# The audit command lives with access control.
from edupulse.access import commands as _access_commands  # noqa: E402

for _command in _access_commands.COMMANDS:
    main.add_command(_command)

# The learner profile and at-risk list live with the risk operator.
from edupulse.insights import risk_commands as _risk_commands  # noqa: E402

for _command in _risk_commands.COMMANDS:
    main.add_command(_command)

# The model registry's commands (models list|show|promote|rollback|retrain|compare|monitor|watch).
from edupulse.ml import commands as _model_commands  # noqa: E402

for _command in _model_commands.COMMANDS:
    main.add_command(_command)


COMPLETION_SHELLS = ("bash", "zsh", "fish")


@main.command()
@click.argument("shell", type=click.Choice(COMPLETION_SHELLS))
def completion(shell: str) -> None:
    """Print the shell completion script of edupulse for SHELL (commands, options and their choices).

    \b
    Examples:
      eval "$(edupulse completion bash)"        # in ~/.bashrc
      eval "$(edupulse completion zsh)"         # in ~/.zshrc
      edupulse completion fish > ~/.config/fish/completions/edupulse.fish
    """
    from click.shell_completion import get_completion_class

    complete = get_completion_class(shell)
    if complete is None:  # pragma: no cover - click knows all three
        raise click.UsageError(f"no completion for {shell}")
    click.echo(complete(main, {}, "edupulse", "_EDUPULSE_COMPLETE").source())


def _examples_in_epilog(command: click.Command) -> None:
    """Move each command's ``Examples:`` block from its help to its epilog, after the options."""
    marker = "\b\nExamples:"
    text = inspect.cleandoc(command.help or "")
    if marker in text and not command.epilog:
        head, _, tail = text.partition(marker)
        command.help = head.rstrip()
        command.epilog = marker + tail
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            _examples_in_epilog(sub)


_examples_in_epilog(main)
