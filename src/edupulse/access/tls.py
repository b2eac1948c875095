"""HTTPS for the API from certificate files (``tls_certfile``, ``tls_keyfile``).

The files are checked when the server starts, so a wrong path or a key that does not
match its certificate is a one-line error naming the setting, not a failed handshake
later.
"""

from __future__ import annotations

import ssl

from edupulse.config import Settings
from edupulse.errors import ConfigError

__all__ = ["uvicorn_tls"]


def uvicorn_tls(settings: Settings) -> tuple[str | None, str | None]:
    """uvicorn's ``ssl_certfile`` and ``ssl_keyfile``; both None for plain HTTP."""
    cert, key = settings.tls_certfile, settings.tls_keyfile
    if cert is None and key is None:
        return None, None
    if cert is None or key is None:
        raise ConfigError("set both EDUPULSE_TLS_CERTFILE and EDUPULSE_TLS_KEYFILE (or neither, for plain HTTP)")
    try:
        ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"EDUPULSE_TLS_CERTFILE/KEYFILE: cannot load {cert} with {key}: {exc}") from exc
    return str(cert), str(key)
