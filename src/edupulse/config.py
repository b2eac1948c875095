"""All settings in one object, read from ``EDUPULSE_*`` variables and passed explicitly.

Nested settings use ``__``: ``EDUPULSE_RUNTIME__LIVE_BATCH_SIZE=64``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = [
    "AuthSettings",
    "IngestSettings",
    "KafkaSettings",
    "LakeSettings",
    "LogSettings",
    "LrsSettings",
    "ModelsSettings",
    "PostgresSettings",
    "PrivacySettings",
    "RetentionSettings",
    "RuntimeSettings",
    "Settings",
    "TutorSettings",
    "settings_env",
]


class LogSettings(BaseModel):
    """The event log."""

    partitions: int = Field(8, ge=1, le=1024, description="Partitions of the events topic.")
    retention_hours: float | None = Field(
        None, gt=0, description="Drop log records older than this; None keeps everything."
    )
    retention_records: int | None = Field(
        None, gt=0, description="Keep at most this many records per partition; None: no limit."
    )


class RuntimeSettings(BaseModel):
    """The stream processing runtime."""

    live_batch_size: int = Field(256, ge=1, description="Records per micro-batch when live.")
    live_max_batch_size: int = Field(
        8192,
        ge=1,
        description="Largest live micro-batch: a partition with a backlog doubles its batch after each full one, "
        "up to this; a caught-up partition goes back to live_batch_size.",
    )
    replay_batch_size: int = Field(50_000, ge=1, description="Records per batch in replay.")
    idle_wait_ms: float = Field(50.0, gt=0, description="Longest sleep between polls of an idle log, in milliseconds.")
    allowed_lateness_hours: float = Field(
        48.0, ge=0, description="How far behind the watermark an event may arrive and still count in daily windows."
    )
    processor_niceness: int = Field(
        5,
        ge=0,
        le=19,
        description="Nice increment of the processor process `serve` starts beside the API: on a saturated "
        "machine the API's ingest answers go first and processing catches up in larger batches.",
    )
    changes_kept: int = Field(
        100_000, ge=1000, description="View change records kept for server-sent-event resumption."
    )
    outbox_kept_hours: float = Field(
        24.0,
        ge=0,
        description="How long the outbox keeps a message after its delivery (or dead-lettering) before the relay "
        "deletes it; within this time a message committed again with the same idempotency key is dropped at once.",
    )

    @property
    def allowed_lateness_us(self) -> int:
        """``allowed_lateness_hours`` in microseconds, the unit of event times."""
        return int(self.allowed_lateness_hours * 3_600_000_000)


class IngestSettings(BaseModel):
    """The ingest API."""

    max_body_bytes: int = Field(16 * 1024 * 1024, ge=1024, description="Largest request body accepted, in bytes.")
    max_batch: int = Field(10_000, ge=1, description="Most statements in one POST, or items in one Caliper envelope.")
    unknown_verbs: Literal["reject", "other"] = Field(
        "other",
        description="A verb outside the vocabulary: 'other' stores the statement and maps the verb to 'other' "
        "in its canonical event (what an xAPI LRS must do: any verb IRI is valid); 'reject' answers 400.",
    )
    batch_policy: Literal["atomic", "partial"] = Field(
        "atomic",
        description="A batch with bad items: 'atomic' rejects it whole (xAPI rule); "
        "'partial' stores the good items and reports the bad ones.",
    )


class LrsSettings(BaseModel):
    """The xAPI LRS (statements and documents under /xapi)."""

    default_version: Literal["1.0.3", "2.0.0"] = Field(
        "2.0.0",
        description="The X-Experience-API-Version stated on the 400 answering a request that names no version "
        "(the conformance suite of each version expects its own).",
    )
    max_page: int = Field(500, ge=1, le=10_000, description="Most statements in one page of GET /xapi/statements.")


class KafkaSettings(BaseModel):
    """The Kafka log of the scale-out deployment."""

    bootstrap_servers: str = Field("127.0.0.1:9092", description="Kafka brokers, host:port[,host:port...].")
    group_id: str = Field("edupulse-workers", min_length=1, description="Consumer group the workers share.")
    replication_factor: int = Field(1, ge=1, description="Replicas of each partition of topics edupulse creates.")
    topic_prefix: str = Field(
        "",
        pattern=r"^[A-Za-z0-9._-]*$",
        description="Put before the name of every topic edupulse uses, so deployments can share a cluster.",
    )
    session_timeout_ms: int = Field(
        10_000,
        ge=1_000,
        le=300_000,
        description="How long a silent worker stays in the group before Kafka gives its partitions to the others.",
    )
    instance_id: str | None = Field(
        None,
        min_length=1,
        max_length=249,
        pattern=r"^[A-Za-z0-9._-]+$",
        description="A static group member name for this worker (its slot, e.g. worker-1; unique in the group): a "
        "worker restarted under the same name takes its partitions back at once, without a rebalance.",
    )


class PostgresSettings(BaseModel):
    """The PostgreSQL state store of the scale-out deployment."""

    dsn: str = Field(
        "postgresql://edupulse@127.0.0.1:5432/edupulse", description="libpq connection string of the database."
    )
    pool_size: int = Field(4, ge=1, le=256, description="Most connections one process keeps open.")
    schema_name: str = Field(
        "edupulse",
        pattern=r"^[a-z_][a-z0-9_]{0,62}$",
        description="Schema that holds edupulse's tables (state, views, outbox, offsets, credentials).",
    )
    synchronous_commit: bool = Field(
        False,
        description="Make each state commit wait for PostgreSQL's WAL flush. Off: a server crash may lose the "
        "newest whole commits, which are recomputed from the log (as the embedded store's synchronous=NORMAL).",
    )


class LakeSettings(BaseModel):
    """The lakehouse: Delta Lake tables that keep every event after the log has dropped it."""

    enabled: bool = Field(
        False, description="Run the lake sink beside the stream runtime, appending every event to Delta tables."
    )
    path: Path | None = Field(None, description="Directory of the Delta tables; unset: <data_dir>/lake.")
    flush_records: int = Field(
        50_000, ge=1, description="The sink commits to the lake once this many records are waiting."
    )
    flush_interval_s: float = Field(
        10.0, gt=0, description="The sink also commits once the oldest waiting record has waited this long, in seconds."
    )
    vacuum_retention_hours: float = Field(
        168.0,
        ge=0,
        description="`lake vacuum` removes files no longer part of the table once they are older than this.",
    )
    sql_max_rows: int = Field(10_000, ge=1, description="Most rows the SQL API endpoint returns for one query.")
    sql_timeout_s: float = Field(30.0, gt=0, description="The SQL API endpoint stops a query running longer than this.")
    sql_memory_mib: int = Field(
        1024, ge=64, description="Memory one query of the SQL API endpoint may use (DuckDB spills or fails above it)."
    )


class RetentionSettings(BaseModel):
    """How long each tenant's events are kept, in the log, the lake and the views."""

    tenant_days: dict[str, float] = Field(
        default_factory=dict,
        description='Days of history kept per tenant, as JSON ({"acme": 365}); tenants not named keep everything.',
    )


class ModelsSettings(BaseModel):
    """The model registry, hot swap, drift monitoring and the challenger."""

    poll_interval_s: float = Field(
        2.0, ge=0, description="How often a running processor or worker checks the model aliases between batches."
    )
    drift_psi: float = Field(0.2, gt=0, description="Alert above this PSI of a feature against training.")
    drift_ks: float = Field(
        0.2, gt=0, le=1, description="Alert when a feature's KS statistic against the training reference exceeds this."
    )
    prediction_psi: float = Field(0.2, gt=0, description="Alert when the PSI of the champion's scores exceeds this.")
    min_auc: float = Field(0.65, ge=0, le=1, description="Alert below this AUC of the champion on outcomes.")
    max_ece: float = Field(
        0.1, ge=0, le=1, description="Alert above this calibration error (ECE) of the champion on outcomes."
    )
    window_days: float = Field(
        30.0, gt=0, description="The monitoring window: scores whose event is at most this many days before the newest."
    )
    min_rows: int = Field(100, ge=1, description="Fewest scores (or outcomes) a figure needs before it can alert.")
    promote_margin: float = Field(
        0.005, ge=0, description="AUC by which a challenger must beat the champion on the hold-out to be promoted."
    )
    retrain_interval_hours: float | None = Field(
        None, gt=0, description="`edupulse models watch` retrains this often; unset: only on a drift alert."
    )
    watch_interval_s: float = Field(3600.0, gt=0, description="How often `edupulse models watch` checks for drift.")


class RulesSettings(BaseModel):
    """Intervention rules over live state, and the delivery of their alerts."""

    path: Path | None = Field(
        None, description="YAML file of intervention rules (docs/interventions.md); unset: no rules, no alerts."
    )
    webhook_url: str | None = Field(
        None, pattern=r"^https?://[^\s]+$", description="Where alerts with a `webhook` action are POSTed (http/https)."
    )
    webhook_secret: SecretStr | None = Field(
        None, description="Key of the HMAC-SHA256 signature sent with every webhook (`X-Edupulse-Signature`)."
    )
    max_attempts: int = Field(6, ge=1, description="Delivery attempts of one webhook before it is dead-lettered.")
    backoff_s: float = Field(1.0, gt=0, description="Wait before the first retry; it doubles after each failure.")
    timeout_s: float = Field(10.0, gt=0, description="Longest wait for a webhook receiver to answer.")
    aggregate_interval_s: float = Field(
        60.0, gt=0, description="How often the processor checks the aggregate rules (wall clock), in seconds."
    )
    alert_link: str = Field(
        "http://127.0.0.1:8000/api/v1/alerts/{id}",
        description="Link to an alert in emails; `{id}` is replaced by the alert id.",
    )
    smtp_host: str | None = Field(None, description="SMTP server of `email` actions; unset: emails stay in the outbox.")
    smtp_port: int = Field(587, ge=1, le=65535, description="Port of the SMTP server.")
    smtp_security: Literal["starttls", "tls", "none"] = Field(
        "starttls", description="'starttls' (upgrade a plain connection), 'tls' (SMTPS), or 'none' (plain text)."
    )
    smtp_user: str | None = Field(None, description="SMTP login name; unset: no login.")
    smtp_password: SecretStr | None = Field(None, description="SMTP password of `smtp_user`.")
    email_from: str = Field("edupulse@localhost", min_length=3, description="Sender address of alert emails.")
    xapi_url: str | None = Field(
        None,
        pattern=r"^https?://[^\s]+$",
        description="xAPI endpoint (ending before /statements) that `xapi` actions store statements in.",
    )
    xapi_username: str | None = Field(None, description="Basic-auth user (key) for the xAPI endpoint.")
    xapi_password: SecretStr | None = Field(None, description="Basic-auth password (secret) for the xAPI endpoint.")
    xapi_agent_name: str = Field("edupulse", min_length=1, description="Account name of the system agent (the actor).")
    xapi_agent_home: str = Field(
        "https://edupulse.dev", min_length=1, description="Account home page of the system agent; alerts are under it."
    )
    xapi_pseudonym_home: str = Field(
        "https://edupulse.dev/pseudonym",
        min_length=1,
        description="Account home page under which a pseudonymous learner id is sent.",
    )


class TutorSettings(BaseModel):
    """The AI tutor: course content, retrieval, and optional answers."""

    index_path: Path | None = Field(
        None, description="SQLite file of the embedded vector index of course passages; unset: <data_dir>/tutor.sqlite."
    )
    skill_map: Path | None = Field(
        None,
        description='JSON file {"skill": ["keyword", ...]} that tags passages with skills at import; unset: each '
        "passage carries the skill named by its document's top heading.",
    )
    chunk_chars: int = Field(1200, ge=200, le=20_000, description="Longest passage, in characters, at import.")
    passages: int = Field(5, ge=1, le=50, description="Passages a retrieval returns unless the request asks for k.")
    weak_skills: int = Field(3, ge=0, le=50, description="The learner's least-mastered skills retrieval focuses on.")
    recent_failures: int = Field(
        3, ge=0, le=50, description="Skills of the learner's most recent failed attempts retrieval also focuses on."
    )
    mastered: float = Field(
        0.95, gt=0, le=1, description="A skill with a mastery probability at or above this is not weak."
    )
    focus_boost: float = Field(
        0.1, ge=0, le=1, description="Added to the cosine of a passage on a focus skill when a question is asked."
    )
    llm_url: str | None = Field(
        None,
        description="Base URL of an OpenAI-compatible API (…/v1) that writes answers from the passages; unset: "
        "retrieval only.",
    )
    llm_model: str = Field("gpt-4o-mini", min_length=1, description="Model name sent to the answer endpoint.")
    llm_api_key: SecretStr | None = Field(None, description="Bearer token for the answer endpoint, if it needs one.")
    llm_timeout_s: float = Field(30.0, gt=0, description="Longest wait for the answer endpoint.")


class AuthSettings(BaseModel):
    """How people sign in: JWT bearer tokens from an OpenID Connect provider (sources use API keys)."""

    jwt_jwks: str | None = Field(
        None,
        description="JSON Web Key Set verifying people's tokens (RS256/ES256): a file path or an https:// URL "
        "(an OIDC provider's jwks_uri). Unset, with no HS256 secret: people's tokens are refused.",
    )
    jwt_hs256_secret: SecretStr | None = Field(
        None, description="Shared secret for HS256 tokens; for development only (the provider would need it too)."
    )
    jwt_algorithms: str = Field(
        "RS256,ES256",
        pattern=r"^(RS256|RS384|RS512|ES256|ES384|ES512|PS256)(,(RS256|RS384|RS512|ES256|ES384|ES512|PS256))*$",
        description="Asymmetric algorithms accepted with the JWKS, comma-separated (HS256 only with the secret).",
    )
    jwt_issuer: str | None = Field(None, description="Required `iss` claim of people's tokens; unset: not checked.")
    jwt_audience: str | None = Field(None, description="Required `aud` claim of people's tokens; unset: not checked.")
    jwt_subject_claim: str = Field(
        "sub", min_length=1, description="Claim naming the roster user (matched to a sourcedId, else a username)."
    )
    jwt_tenant_claim: str = Field(
        "tenant", min_length=1, description="Claim naming the person's tenant; absent from a token: `tenant`."
    )
    jwt_leeway_s: float = Field(30.0, ge=0, description="Clock skew allowed when checking `exp` and `nbf`.")
    jwks_cache_s: float = Field(300.0, gt=0, description="How long keys fetched from a JWKS URL are kept.")


class PrivacySettings(BaseModel):
    """Pseudonyms, the identity vault, free-text masking."""

    pseudonymise: bool = Field(
        True,
        description="Replace learner identifiers by keyed pseudonyms, mask free text and seal payloads "
        "with the learner's data key before anything reaches the log.",
    )
    pseudonym_secret: SecretStr | None = Field(
        None,
        description="Base64 of 32 random bytes from which each tenant's pseudonym secret is derived; "
        "unset: the file pseudonym_secret_file names, else <data_dir>/privacy/pseudonym.key, created on first use.",
    )
    pseudonym_secret_file: Path | None = Field(None, description="File holding the pseudonym secret in base64.")
    tenant_secrets: dict[str, SecretStr] = Field(
        default_factory=dict,
        description="Explicit pseudonym secrets (base64 of 32 bytes) per tenant, instead of derived ones.",
    )
    master_key: SecretStr | None = Field(
        None,
        description="Base64 of the 32-byte master key that wraps every learner's data key; unset: the file "
        "master_key_file names, else <data_dir>/privacy/master.key, created on first use.",
    )
    master_key_file: Path | None = Field(None, description="File holding the master key in base64.")
    mask_free_text: bool = Field(
        True, description="Mask e-mails, phones, ids, person links and roster names in free-text fields."
    )
    cache_size: int = Field(100_000, ge=1000, description="Pseudonyms and data keys each API process keeps in memory.")


class Settings(BaseSettings):
    """Everything edupulse can be told, with its default."""

    model_config = SettingsConfigDict(env_prefix="EDUPULSE_", env_nested_delimiter="__", extra="forbid")

    deployment: Literal["embedded", "scaleout"] = Field(
        "embedded",
        description="'embedded': SQLite files under data_dir, no servers. "
        "'scaleout': Apache Kafka for the log, PostgreSQL for state, views, offsets and credentials.",
    )
    data_dir: Path = Field(Path("./edupulse-data"), description="Where the embedded stores live.")
    host: str = Field("127.0.0.1", description="Interface the API listens on.")
    port: int = Field(8000, ge=0, le=65535, description="Port the API listens on.")
    workers: int | None = Field(
        None,
        ge=1,
        le=64,
        description="API processes serving the port; unset: one per usable core (with processing=thread: one).",
    )
    tls_certfile: Path | None = Field(
        None, description="PEM certificate (chain) the API serves HTTPS with; unset: plain HTTP."
    )
    tls_keyfile: Path | None = Field(None, description="PEM private key of `tls_certfile`.")
    processing: Literal["process", "thread"] = Field(
        "process",
        description="Where `serve` runs the stream runtime: a supervised process of its own beside "
        "the API (each gets a core), or a thread of the API process (one process in all; one worker only).",
    )
    tenant: str = Field("default", min_length=1, description="Tenant of credentials created without one.")
    log: LogSettings = Field(default_factory=LogSettings)
    runtime: RuntimeSettings = Field(default_factory=RuntimeSettings)
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    lrs: LrsSettings = Field(default_factory=LrsSettings)
    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    postgres: PostgresSettings = Field(default_factory=PostgresSettings)
    lake: LakeSettings = Field(default_factory=LakeSettings)
    retention: RetentionSettings = Field(default_factory=RetentionSettings)
    rules: RulesSettings = Field(default_factory=RulesSettings)
    models: ModelsSettings = Field(default_factory=ModelsSettings)
    privacy: PrivacySettings = Field(default_factory=PrivacySettings)
    tutor: TutorSettings = Field(default_factory=TutorSettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)

    @property
    def api_workers(self) -> int:
        """How many API processes serve the port: ``workers``, or one per usable core."""
        if self.workers is not None:
            return self.workers
        return 1 if self.processing == "thread" else len(os.sched_getaffinity(0))

    @property
    def lake_path(self) -> Path:
        """Where the Delta tables are: ``lake.path``, or ``<data_dir>/lake``."""
        return self.lake.path if self.lake.path is not None else self.data_dir / "lake"

    @property
    def tutor_index_path(self) -> Path:
        """Where the embedded vector index is: ``tutor.index_path``, or ``<data_dir>/tutor.sqlite``."""
        return self.tutor.index_path if self.tutor.index_path is not None else self.data_dir / "tutor.sqlite"


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment variables that recreate ``settings`` in another process."""
    env: dict[str, str] = {}

    def walk(model: BaseModel, prefix: str) -> None:
        for name in type(model).model_fields:
            value = getattr(model, name)
            if isinstance(value, BaseModel):
                walk(value, f"{prefix}{name.upper()}__")
            elif isinstance(value, SecretStr):
                env[f"{prefix}{name.upper()}"] = value.get_secret_value()
            elif isinstance(value, dict):  # complex values travel as JSON, secrets revealed
                plain = {k: v.get_secret_value() if isinstance(v, SecretStr) else v for k, v in value.items()}
                env[f"{prefix}{name.upper()}"] = json.dumps(plain)
            elif value is not None:
                env[f"{prefix}{name.upper()}"] = str(value)

    walk(settings, "EDUPULSE_")
    return env
