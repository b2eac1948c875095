"""The model registry: versions on disk, and aliases (champion, challenger) every worker reads.

- ``store``: versions under ``{data_dir}/models/{name}/{version}/`` (model and card);
- ``base``: the ``Registry`` protocol for aliases, with one backend per deployment:
  ``files`` (the data directory) and ``postgres`` (the deployment's schema);
- ``aliases``: promote, roll back, resolve; ``watch``: noticing a change between batches.
"""

from __future__ import annotations

from edupulse.config import Settings
from edupulse.ml.registry.aliases import aliases, clear, promote, resolve, rollback
from edupulse.ml.registry.base import ALIASES, CHALLENGER, CHAMPION, AliasChange, Registry
from edupulse.ml.registry.files import FileRegistry
from edupulse.ml.registry.store import ModelCard, latest_version, load_model, read_card, save_model, versions

__all__ = [
    "ALIASES",
    "CHALLENGER",
    "CHAMPION",
    "AliasChange",
    "FileRegistry",
    "ModelCard",
    "Registry",
    "aliases",
    "clear",
    "latest_version",
    "load_model",
    "open_registry",
    "promote",
    "read_card",
    "resolve",
    "rollback",
    "save_model",
    "versions",
]


def open_registry(settings: Settings) -> Registry:
    """Where this deployment keeps aliases: the data directory, or PostgreSQL (scale-out)."""
    if settings.deployment == "scaleout":
        from edupulse.ml.registry.postgres import PostgresRegistry  # noqa: PLC0415 - psycopg only when scaled out

        pg = settings.postgres
        return PostgresRegistry(pg.dsn, schema=pg.schema_name)
    return FileRegistry(settings.data_dir / "models")
