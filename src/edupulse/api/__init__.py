"""The HTTP API: ingest, serving views and live updates."""

from edupulse.api.app import create_app

__all__ = ["create_app"]
