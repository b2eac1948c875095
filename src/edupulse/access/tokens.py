"""People's bearer tokens: JWTs from an OpenID Connect provider (RS256/ES256 via JWKS) or HS256 for development.

Checked: the signature with an accepted algorithm (never ``none``), ``exp`` (required)
and ``nbf`` with a small leeway, and ``iss`` and ``aud`` when configured. The subject
names a roster user; turning it into a scope is the roster's job (``roster.base``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jwt
import msgspec

from edupulse.config import AuthSettings
from edupulse.errors import AuthError, ConfigError

__all__ = ["TokenClaims", "TokenVerifier", "looks_like_jwt"]


class TokenClaims(msgspec.Struct, frozen=True):
    """What edupulse uses of a verified token."""

    subject: str
    tenant: str


def looks_like_jwt(token: str) -> bool:
    return token.count(".") == 2 and ":" not in token


class TokenVerifier:
    """Verifies tokens with the configured keys; holds only keys, never who is signed in."""

    def __init__(self, cfg: AuthSettings, *, default_tenant: str) -> None:
        self.cfg = cfg
        self.default_tenant = default_tenant
        self.algorithms = [a.strip() for a in cfg.jwt_algorithms.split(",")]
        self._secret = cfg.jwt_hs256_secret.get_secret_value() if cfg.jwt_hs256_secret is not None else None
        self._client: jwt.PyJWKClient | None = None
        self._keys: jwt.PyJWKSet | None = None
        source = cfg.jwt_jwks
        if source is not None and source.startswith(("https://", "http://")):
            self._client = jwt.PyJWKClient(source, cache_jwk_set=True, lifespan=int(cfg.jwks_cache_s), timeout=10)
        elif source is not None:
            self._keys = _read_jwks(Path(source))

    @property
    def enabled(self) -> bool:
        return self._secret is not None or self._client is not None or self._keys is not None

    def verify(self, token: str) -> TokenClaims:
        """The claims of a valid token, or AuthError saying what is wrong with it."""
        if not self.enabled:
            raise AuthError("bearer tokens are not enabled; set EDUPULSE_AUTH__JWT_JWKS (or use an API key)")
        try:
            header = jwt.get_unverified_header(token)
            alg = str(header.get("alg", ""))
            key = self._key(token, alg, header)
            claims = jwt.decode(
                token,
                key,
                algorithms=[alg],
                audience=self.cfg.jwt_audience,
                issuer=self.cfg.jwt_issuer,
                leeway=self.cfg.jwt_leeway_s,
                options={"require": self._required(), "verify_aud": self.cfg.jwt_audience is not None},
            )
        except jwt.ExpiredSignatureError:
            raise AuthError("the token has expired (exp); sign in again") from None
        except jwt.ImmatureSignatureError:
            raise AuthError("the token is not valid yet (nbf)") from None
        except jwt.InvalidAudienceError:
            raise AuthError(f"the token's aud is not {self.cfg.jwt_audience!r}") from None
        except jwt.InvalidIssuerError:
            raise AuthError(f"the token's iss is not {self.cfg.jwt_issuer!r}") from None
        except jwt.PyJWKClientError as exc:
            raise AuthError(f"no key of the JWKS verifies the token: {exc}") from None
        except jwt.InvalidTokenError as exc:
            raise AuthError(f"invalid bearer token: {exc}") from None
        return self._claims(claims)

    def _required(self) -> list[str]:
        required = ["exp", self.cfg.jwt_subject_claim]
        required += ["iss"] if self.cfg.jwt_issuer is not None else []
        return required + (["aud"] if self.cfg.jwt_audience is not None else [])

    def _key(self, token: str, alg: str, header: dict[str, Any]) -> Any:
        if alg == "HS256":
            if self._secret is None:
                raise AuthError("HS256 tokens are not accepted; this server verifies tokens with a JWKS")
            return self._secret
        if alg not in self.algorithms:
            raise AuthError(f"token algorithm {alg!r} is not accepted; accepted: {', '.join(self.algorithms)}")
        if self._client is not None:
            return self._client.get_signing_key_from_jwt(token).key
        if self._keys is None:
            raise AuthError(f"{alg} tokens need a JWKS; set EDUPULSE_AUTH__JWT_JWKS")
        kid = header.get("kid")
        keys = [k for k in self._keys.keys if kid is None or k.key_id == kid]
        if not keys:
            raise AuthError(f"no key with kid {kid!r} in the JWKS")
        return keys[0].key

    def _claims(self, claims: dict[str, Any]) -> TokenClaims:
        subject = claims.get(self.cfg.jwt_subject_claim)
        if not isinstance(subject, str) or not subject:
            raise AuthError(f"the token's {self.cfg.jwt_subject_claim!r} claim must be a non-empty string")
        tenant = claims.get(self.cfg.jwt_tenant_claim, self.default_tenant)
        if not isinstance(tenant, str) or not tenant:
            raise AuthError(f"the token's {self.cfg.jwt_tenant_claim!r} claim must be a non-empty string")
        return TokenClaims(subject, tenant)


def _read_jwks(path: Path) -> jwt.PyJWKSet:
    try:
        return jwt.PyJWKSet.from_dict(json.loads(path.read_text()))
    except (OSError, ValueError, jwt.PyJWKSetError, jwt.InvalidKeyError) as exc:
        raise ConfigError(f"EDUPULSE_AUTH__JWT_JWKS: cannot read a JWKS from {path}: {exc}") from exc
