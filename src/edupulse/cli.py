"""The ``edupulse`` command: thin commands that load settings, act, and print.

Every option can also be set by an environment variable named after it:
``--data-dir`` is ``EDUPULSE_DATA_DIR``, ``--port`` is ``EDUPULSE_PORT``.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO, TypeVar

import click
import msgspec

from edupulse import __version__
from edupulse.config import Settings
from edupulse.errors import EdupulseError
from edupulse.privacy.credentials import CredentialStore

__all__ = ["main"]

F = TypeVar("F", bound=Callable[..., Any])
logger = logging.getLogger("edupulse")


def _settings(**overrides: Any) -> Settings:
    """Settings from the environment, with the options given on the command line on top."""
    given = {k: v for k, v in overrides.items() if v is not None}
    try:
        return Settings(**given)
    except ValueError as exc:
        raise click.UsageError(f"invalid setting: {exc}") from exc


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


class _Group(click.Group):
    """Turns edupulse errors into a one-line message and exit code 2, never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (EdupulseError, OSError) as exc:  # a bad input or path, never a traceback
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)


@click.group(cls=_Group)
@click.version_option(__version__, prog_name="edupulse")
@option("-v", "--verbose", count=True, help="More logging (-v info, -vv debug).", env="EDUPULSE_VERBOSE")
def main(verbose: int) -> None:
    """Real-time learning analytics on one Kappa stream.

    \b
    Example:
      edupulse demo                # a live simulated course at http://127.0.0.1:8000
    """
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
    Example:
      edupulse serve --data-dir ./edupulse-data --host 0.0.0.0 --port 8000
      edupulse serve --workers 2      # two API processes and a processor process
    """
    from edupulse.server import run_server

    log = {"partitions": partitions} if partitions else None
    settings = _settings(data_dir=data_dir, host=host, port=port, log=log, workers=workers, processing=processing)
    if settings.processing == "thread" and settings.api_workers > 1:
        raise click.UsageError("--processing thread runs in the one API process: use it with --workers 1")
    run_server(settings)


@main.command()
@data_dir_option
def worker(data_dir: Path | None) -> None:
    """Run only the stream runtime (no API), until interrupted.

    \b
    Example:
      edupulse worker --data-dir ./edupulse-data
    """
    from edupulse.processor import run_processor

    run_processor(_settings(data_dir=data_dir))


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
    Example:
      edupulse replay --data-dir ./edupulse-data
    """
    from tqdm import tqdm

    from edupulse.replay import replay as run_replay

    settings = _settings(data_dir=data_dir)
    with tqdm(unit="ev", unit_scale=True, desc="replay", file=sys.stderr, disable=None) as bar:

        def set_total(n: int) -> None:
            bar.total = n
            bar.refresh()

        def advance(n: int) -> None:
            bar.update(n)

        report = run_replay(settings, workers=workers, progress=advance, total=set_total)
    _emit(report)


@main.command()
@data_dir_option
@option("--json", "as_json", is_flag=True, help="Print JSON.", env="EDUPULSE_JSON")
def status(data_dir: Path | None, as_json: bool) -> None:
    """Events, learners, courses and each partition's log and committed offsets.

    \b
    Example:
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
    """Manage source credentials (HTTP Basic: key as user, secret as password)."""


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
    Example:
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
    Example:
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
    Example:
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
    Example:
      edupulse demo --rate 500 --learners 300
    """
    import secrets

    from edupulse.demo import live_course, run_demo
    from edupulse.privacy.credentials import NewKey

    settings = _settings(data_dir=data_dir, host=host, port=port)
    seed = secrets.randbelow(2**31) if seed is None else seed

    def announce(url: str, key: NewKey) -> None:
        auth = f"{key.key}:{key.secret}"
        click.echo(
            f"\nedupulse demo is running at {url}  (API docs: {url}/docs)\n"
            f"  dashboard: {url}/ui/  (sign in with a person's token: docs/dashboard.md)\n"
            f"  simulating {courses} course(s) x {learners} learners at {rate:g} statements/s (seed {seed})\n"
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
    Example:
      edupulse simulate --seed 7 --count 10000 -o statements.ndjson
      edupulse simulate --url http://127.0.0.1:8000 --key K --secret S --rate 2000
    """
    from itertools import islice

    from tqdm import tqdm

    from edupulse.sim import CourseSimulator, SimConfig
    from edupulse.sim.sender import send

    config = SimConfig(seed=seed or 0, courses=courses, learners_per_course=learners, days=days)
    statements = CourseSimulator(config).statements()
    if count is not None:
        statements = islice(statements, count)
    if url is None:
        encode = msgspec.json.Encoder().encode
        for stmt in statements:
            output.write(encode(stmt).decode() + "\n")
        return
    if not key or not secret:
        raise click.UsageError("--url needs --key and --secret (create them with `edupulse keys create`)")
    with tqdm(total=count, unit="st", unit_scale=True, desc="simulate", file=sys.stderr, disable=None) as bar:

        def advance(n: int) -> None:
            bar.update(n)

        report = send(
            statements,
            url=url.rstrip("/") + "/xapi/statements",
            auth=(key, secret),
            rate_per_s=rate,
            batch_size=batch_size,
            on_batch=advance,
        )
    _emit(report)
    if report.rejected:
        sys.exit(1)


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
@click.argument("format", type=click.Choice(IMPORT_FORMATS))
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
    Example:
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
    from tqdm import tqdm

    from edupulse.deployment import Deployment
    from edupulse.importers.base import Importer, run_import
    from edupulse.importers.lines import CanvasImporter, EdxImporter, XapiImporter
    from edupulse.importers.moodle import MoodleImporter
    from edupulse.importers.oulad import OuladImporter

    settings = _settings(data_dir=data_dir)
    with (
        Deployment(settings) as dep,
        tqdm(unit="B", unit_scale=True, desc="import", file=sys.stderr, disable=None) as bar,
    ):

        def set_total(n: int) -> None:
            bar.total = n
            bar.refresh()

        def advance(n: int) -> None:
            bar.update(n)

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
            progress=advance,
            total=set_total,
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


@main.group()
def evaluate() -> None:
    """Score models offline on public data sets, reproducibly for a seed."""


@evaluate.command("assistments")
@assistments_data_option
@seed_option
@split_option
@option("--json", "as_json", is_flag=True, help="Print JSON: an object with `auc` for each model.", env="EDUPULSE_JSON")
def evaluate_assistments(data: Path, seed: int, split: str, as_json: bool) -> None:
    """Knowledge tracing: fit BKT, BKT with forgetting and Elo on train.csv, AUC on test.csv.

    \b
    Example:
      edupulse evaluate assistments --data ../shared/data/assistments2009 --json
    """
    from edupulse.ml.assistments import evaluate as run

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
    Example:
      edupulse evaluate oulad --data ../shared/data/oulad --json
      edupulse evaluate oulad --data ../shared/data/oulad --cohort-partitions 8
    """
    from edupulse.ml.oulad import evaluate as run

    result = run(data, seed=seed, say=lambda m: click.echo(m, err=True), cohort_partitions=cohort_partitions)
    if as_json:
        _emit(result)
        return
    for c in result.cutoffs:
        click.echo(f"day {c.day:>3}: AUC {c.auc:.4f}  ECE {c.ece:.4f}  n {c.n}  (logistic AUC {c.baseline_auc:.4f})")


@main.group()
def train() -> None:
    """Fit models from history and store them where the pipeline finds them."""


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
    Example:
      edupulse train mastery --data ../shared/data/assistments2009 --data-dir ./edupulse-data
      edupulse train mastery --data-dir ./edupulse-data     # from the attempts in the log
    """
    from edupulse.ml.bkt_fit import FitOptions
    from edupulse.ml.mastery_model import save_model
    from edupulse.ml.training import train as fit

    settings = _settings(data_dir=data_dir)
    attempts, source = _training_attempts(settings, data, split)
    if not attempts:
        raise click.UsageError(f"no graded attempts with skills in {source}; pass --data with a CSV of attempts")
    model = fit(attempts, FitOptions(seed=seed, restarts=restarts, iterations=iterations), source=source)
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
    Example:
      edupulse train risk --data ../shared/data/oulad
    """
    from edupulse.ml.oulad import train as run
    from edupulse.ml.registry import ModelCard, save_model

    settings = _settings(data_dir=data_dir)
    models = run(data, seed=seed, say=lambda m: click.echo(m, err=True))
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
