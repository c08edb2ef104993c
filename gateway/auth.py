"""JWT bearer verification, and the dev-mode token issuer.

Only asymmetric algorithms: the gateway holds a public key, so a leaked gateway
config cannot mint tokens. The algorithm follows the key type, never the
token's own header (no algorithm confusion).
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

from common.caller import ROLES
from gateway.settings import GatewaySettings

PublicKey = Ed25519PublicKey | RSAPublicKey

# `sub` travels on to the services as a header value: printable ASCII only, bounded.
_SAFE_SUB = re.compile(r"[A-Za-z0-9._:@+/=-]{1,128}")


@dataclass(frozen=True)
class Caller:
    role: str
    sub: str


class AuthError(Exception):
    """The bearer token is missing or not acceptable; the message is safe to show."""


def bearer_token(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def _algorithm_for(key: PublicKey) -> str:
    if isinstance(key, Ed25519PublicKey):
        return "EdDSA"
    if isinstance(key, RSAPublicKey):
        return "RS256"
    raise RuntimeError(f"unsupported public key type {type(key).__name__}: use Ed25519 or RSA")


def load_public_key(path: Path) -> PublicKey:
    """Read the production verification key; fail start-up with a message that says what is wrong."""
    try:
        pem = path.read_bytes()
    except OSError as exc:
        raise RuntimeError(f"GATEWAY_JWT_PUBLIC_KEY_FILE={path} cannot be read: {exc.strerror}") from exc
    try:
        key = serialization.load_pem_public_key(pem)
    except ValueError as exc:
        raise RuntimeError(f"GATEWAY_JWT_PUBLIC_KEY_FILE={path} is not a PEM public key") from exc
    _algorithm_for(key)  # type: ignore[arg-type]
    return key  # type: ignore[return-value]


class TokenVerifier:
    def __init__(self, key: PublicKey, *, issuer: str, audience: str, leeway_s: int) -> None:
        self._key = key
        self._algorithm = _algorithm_for(key)
        self._issuer = issuer
        self._audience = audience
        self._leeway_s = leeway_s

    def verify(self, token: str) -> Caller:
        try:
            claims = jwt.decode(
                token,
                self._key,
                algorithms=[self._algorithm],
                issuer=self._issuer,
                audience=self._audience,
                leeway=self._leeway_s,
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise AuthError("The access token has expired.") from exc
        except jwt.InvalidTokenError as exc:
            raise AuthError("The access token is not valid.") from exc
        role, sub = claims.get("role"), claims.get("sub")
        if role not in ROLES:
            raise AuthError("The access token carries no known role.")
        if not isinstance(sub, str) or not _SAFE_SUB.fullmatch(sub):
            raise AuthError("The access token's subject is not acceptable.")
        return Caller(role=role, sub=sub)


class DevTokenIssuer:
    """Mints tokens with a key pair that lives only in this process (dev mode)."""

    def __init__(
        self,
        key: Ed25519PrivateKey,
        *,
        issuer: str,
        audience: str,
        lifetime_s: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._key = key
        self._issuer = issuer
        self._audience = audience
        self.lifetime_s = lifetime_s
        self._clock = clock

    def issue(self, role: str, sub: str) -> str:
        now = int(self._clock())
        claims = {
            "iss": self._issuer,
            "aud": self._audience,
            "sub": sub,
            "role": role,
            "iat": now,
            "exp": now + self.lifetime_s,
            "jti": uuid.uuid4().hex,
        }
        return jwt.encode(claims, self._key, algorithm="EdDSA")


def build_auth(settings: GatewaySettings) -> tuple[TokenVerifier, DevTokenIssuer | None]:
    """Dev mode: a fresh key pair per process, so dev tokens never verify anywhere else."""
    if settings.dev_mode:
        private = Ed25519PrivateKey.generate()
        public: PublicKey = private.public_key()
        issuer: DevTokenIssuer | None = DevTokenIssuer(
            private, issuer=settings.jwt_issuer, audience=settings.jwt_audience, lifetime_s=settings.token_lifetime_s
        )
    else:
        assert settings.jwt_public_key_file is not None  # GatewaySettings refuses otherwise
        public, issuer = load_public_key(settings.jwt_public_key_file), None
    verifier = TokenVerifier(
        public, issuer=settings.jwt_issuer, audience=settings.jwt_audience, leeway_s=settings.jwt_leeway_s
    )
    return verifier, issuer
