"""HTTPS: the API serves TLS from certificate files; a real HTTPS request verifies against the certificate."""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from edupulse.access.tls import uvicorn_tls
from edupulse.config import Settings
from edupulse.errors import ConfigError
from tests.conftest import free_port


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and localhost, and its key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "edupulse test")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


def test_the_api_answers_https_with_the_configured_certificate(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    port = free_port()
    env = {
        **os.environ,
        "EDUPULSE_TLS_CERTFILE": str(cert),
        "EDUPULSE_TLS_KEYFILE": str(key),
        "EDUPULSE_PROCESSING": "thread",
    }
    args = [
        sys.executable,
        "-c",
        "from edupulse.cli import main; main()",
        "serve",
        "--data-dir",
        str(tmp_path / "d"),
        "--port",
        str(port),
    ]
    server = subprocess.Popen(args, env=env)
    trust = ssl.create_default_context(cafile=str(cert))
    try:
        url = f"https://127.0.0.1:{port}/healthz"
        deadline = time.monotonic() + 30
        while True:
            try:
                response = httpx.get(url, verify=trust, timeout=2)
                break
            except httpx.ConnectError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.2)
        assert response.status_code == 200 and response.json()["status"] == "ok"
        assert response.url.scheme == "https"
        with pytest.raises(httpx.ConnectError):  # an unknown certificate is refused by a verifying client
            httpx.get(url, timeout=2)
        with pytest.raises(httpx.HTTPError):  # plain HTTP gets no answer
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_tls_settings_are_checked_up_front(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    assert uvicorn_tls(Settings(data_dir=tmp_path)) == (None, None)
    assert uvicorn_tls(Settings(tls_certfile=cert, tls_keyfile=key)) == (str(cert), str(key))
    with pytest.raises(ConfigError, match="both"):
        uvicorn_tls(Settings(tls_certfile=cert))
    other_cert, _ = self_signed(tmp_path / "other" if (tmp_path / "other").mkdir() is None else tmp_path)
    with pytest.raises(ConfigError, match="cannot load"):
        uvicorn_tls(Settings(tls_certfile=other_cert, tls_keyfile=key))
