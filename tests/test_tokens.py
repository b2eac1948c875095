"""People's tokens: RS256 and ES256 through a JWKS file, HS256 for development, and every claim checked."""

from __future__ import annotations

import functools
import http.server
import json
import threading
import time
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from edupulse.access.tokens import TokenVerifier
from edupulse.config import AuthSettings
from edupulse.errors import AuthError, ConfigError

ISS, AUD = "https://idp.example.edu", "edupulse"


@pytest.fixture(scope="module")
def keys() -> dict[str, Any]:
    return {
        "rsa": rsa.generate_private_key(public_exponent=65537, key_size=2048),
        "ec": ec.generate_private_key(ec.SECP256R1()),
        "other_rsa": rsa.generate_private_key(public_exponent=65537, key_size=2048),
    }


@pytest.fixture
def jwks_file(tmp_path: Path, keys: dict[str, Any]) -> Path:
    rsa_jwk = json.loads(RSAAlgorithm.to_jwk(keys["rsa"].public_key())) | {"kid": "r1", "alg": "RS256", "use": "sig"}
    ec_jwk = json.loads(ECAlgorithm.to_jwk(keys["ec"].public_key())) | {"kid": "e1", "alg": "ES256", "use": "sig"}
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps({"keys": [rsa_jwk, ec_jwk]}))
    return path


def _claims(**extra: Any) -> dict[str, Any]:
    now = int(time.time())
    return {"sub": "t-ada", "iss": ISS, "aud": AUD, "exp": now + 300, "nbf": now - 5, **extra}


def _verifier(jwks: Path | None = None, **cfg: Any) -> TokenVerifier:
    cfg.setdefault("jwt_jwks", str(jwks) if jwks else None)
    settings = AuthSettings(jwt_issuer=ISS, jwt_audience=AUD, **cfg)
    return TokenVerifier(settings, default_tenant="default")


def test_rs256_and_es256_tokens_verify_against_the_jwks(jwks_file: Path, keys: dict[str, Any]) -> None:
    verifier = _verifier(jwks_file)
    rs = jwt.encode(_claims(), keys["rsa"], algorithm="RS256", headers={"kid": "r1"})
    es = jwt.encode(_claims(tenant="school-2"), keys["ec"], algorithm="ES256", headers={"kid": "e1"})

    assert verifier.verify(rs).subject == "t-ada"
    assert verifier.verify(rs).tenant == "default"
    assert verifier.verify(es).tenant == "school-2"


@pytest.mark.parametrize(
    ("claims", "message"),
    [
        # times as offsets from when the test runs (not from collection: the suite takes minutes)
        ({"exp": -120}, "expired"),
        ({"nbf": 600}, "not valid yet"),
        ({"aud": "another-app"}, "aud"),
        ({"iss": "https://evil.example"}, "iss"),
        ({"sub": ""}, "sub"),
    ],
)
def test_bad_claims_are_refused_with_the_reason(
    jwks_file: Path, keys: dict[str, Any], claims: dict[str, Any], message: str
) -> None:
    now = int(time.time())
    claims = {k: now + v if k in ("exp", "nbf") else v for k, v in claims.items()}
    token = jwt.encode(_claims(**claims), keys["rsa"], algorithm="RS256", headers={"kid": "r1"})
    with pytest.raises(AuthError, match=message):
        _verifier(jwks_file).verify(token)


def test_missing_exp_wrong_key_none_and_hs256_are_refused(jwks_file: Path, keys: dict[str, Any]) -> None:
    verifier = _verifier(jwks_file)
    no_exp = {k: v for k, v in _claims().items() if k != "exp"}
    with pytest.raises(AuthError, match="exp"):
        verifier.verify(jwt.encode(no_exp, keys["rsa"], algorithm="RS256", headers={"kid": "r1"}))
    with pytest.raises(AuthError, match="Signature"):
        verifier.verify(jwt.encode(_claims(), keys["other_rsa"], algorithm="RS256", headers={"kid": "r1"}))
    with pytest.raises(AuthError, match="not accepted"):
        verifier.verify(jwt.encode(_claims(), None, algorithm="none"))
    with pytest.raises(AuthError, match="HS256 tokens are not accepted"):
        verifier.verify(jwt.encode(_claims(), "x" * 32, algorithm="HS256"))
    with pytest.raises(AuthError, match="kid"):
        verifier.verify(jwt.encode(_claims(), keys["rsa"], algorithm="RS256", headers={"kid": "gone"}))
    with pytest.raises(AuthError, match="invalid bearer token"):
        verifier.verify("not.a.token")


def test_hs256_for_development_and_nothing_without_configuration(tmp_path: Path) -> None:
    secret = "s" * 32
    dev = _verifier(jwt_hs256_secret=secret)
    assert dev.verify(jwt.encode(_claims(), secret, algorithm="HS256")).subject == "t-ada"
    with pytest.raises(AuthError, match="not enabled"):
        _verifier().verify(jwt.encode(_claims(), secret, algorithm="HS256"))
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(ConfigError, match="JWT_JWKS"):
        _verifier(tmp_path / "bad.json")


def test_keys_come_from_a_jwks_url_too(jwks_file: Path, keys: dict[str, Any]) -> None:
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(jwks_file.parent))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/{jwks_file.name}"
        verifier = _verifier(None, jwt_jwks=url)
        token = jwt.encode(_claims(), keys["ec"], algorithm="ES256", headers={"kid": "e1"})
        assert verifier.verify(token).subject == "t-ada"
        with pytest.raises(AuthError, match="JWKS"):
            verifier.verify(jwt.encode(_claims(), keys["rsa"], algorithm="RS256", headers={"kid": "missing"}))
    finally:
        server.shutdown()
        thread.join(5)
