"""The gateway's internal credential: how a service knows a request came through the gateway.

The gateway verifies the caller's access token, then mints a credential for this one request:
a JWT signed with the gateway's own Ed25519 key, `typ` ``emaket-internal+jwt``, audience = the
one service it is sent to, the caller's role and subject, and an expiry of seconds. Each service
verifies it against the gateway's JWKS and refuses anything else with 401 — forged
``X-Caller-*`` headers mean nothing, and a credential minted for intake does not open decision.

Keys (docs/security.md "Keys and rotation"):
* gateway: ``GATEWAY_INTERNAL_SIGNING_KEY_FILE`` — PEM Ed25519 private key, re-read when the
  file changes; its kid is the public key's thumbprint;
* services: ``INTERNAL_JWKS`` — a JWKS file path or URL with the gateway's public keys.
In dev mode both default to ``DATA_DIR/keys`` and the gateway creates them on first start.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from common.jwks import KeySetError, TokenRules, ensure_dev_key, thumbprint, write_jwks

INTERNAL_TYP = "emaket-internal+jwt"
INTERNAL_ISSUER = "emaket-gateway"
INTERNAL_LIFETIME_S = 30
INTERNAL_MAX_LIFETIME_S = 60
DEV_KEY_NAME = "gateway-internal-ed25519.pem"
DEV_JWKS_NAME = "internal-jwks.json"

# A subject travels in a credential and into audit rows: printable ASCII only, bounded.
SAFE_SUB = re.compile(r"[A-Za-z0-9._:@+/=-]{1,128}")


def internal_rules(service: str, *, leeway_s: int = 5) -> TokenRules:
    return TokenRules(
        typ=frozenset({INTERNAL_TYP}),
        issuer=INTERNAL_ISSUER,
        audience=service,
        max_lifetime_s=INTERNAL_MAX_LIFETIME_S,
        leeway_s=leeway_s,
    )


def dev_paths(data_dir: Path) -> tuple[Path, Path]:
    """The dev-mode signing key and public key set, shared by the gateway and the services."""
    return data_dir / "keys" / DEV_KEY_NAME, data_dir / "keys" / DEV_JWKS_NAME


def ensure_dev_internal_keys(data_dir: Path) -> Path:
    """Dev mode: create the gateway's internal key once and publish its JWKS; the key file's path."""
    key_file, jwks_file = dev_paths(data_dir)
    key = ensure_dev_key(key_file)
    write_jwks(jwks_file, [key.public_key()])
    return key_file


class InternalMinter:
    """Mints the per-request credential; re-reads the key file when it changes (rotation, no restart)."""

    def __init__(self, key_file: Path, *, lifetime_s: int = INTERNAL_LIFETIME_S, clock: Callable[[], float] = time.time) -> None:
        if not 0 < lifetime_s <= INTERNAL_MAX_LIFETIME_S:
            raise KeySetError(f"internal credential lifetime must be 1..{INTERNAL_MAX_LIFETIME_S} s")
        self._file = key_file
        self._lifetime_s = lifetime_s
        self._clock = clock
        self._stamp: tuple[float, int] | None = None
        self._key: Ed25519PrivateKey | None = None
        self.kid = ""
        self._reload()

    def _reload(self) -> None:
        from cryptography.hazmat.primitives import serialization

        try:
            stat = self._file.stat()
        except OSError as exc:
            if self._key is None:
                raise KeySetError(f"GATEWAY_INTERNAL_SIGNING_KEY_FILE={self._file} cannot be read: {exc.strerror}") from exc
            return
        stamp = (stat.st_mtime, stat.st_size)
        if stamp == self._stamp:
            return
        try:
            key = serialization.load_pem_private_key(self._file.read_bytes(), password=None)
        except (OSError, ValueError) as exc:
            if self._key is None:
                raise KeySetError(f"GATEWAY_INTERNAL_SIGNING_KEY_FILE={self._file} is not a PEM private key") from exc
            return  # half-written during a rotation: keep signing with the old key
        if not isinstance(key, Ed25519PrivateKey):
            raise KeySetError(f"GATEWAY_INTERNAL_SIGNING_KEY_FILE={self._file} must be an Ed25519 private key")
        self._key, self._stamp, self.kid = key, stamp, thumbprint(key.public_key())

    def mint(self, *, role: str, sub: str, audience: str) -> str:
        self._reload()
        assert self._key is not None
        now = int(self._clock())
        claims = {
            "iss": INTERNAL_ISSUER,
            "aud": audience,
            "sub": sub,
            "role": role,
            "iat": now,
            "exp": now + self._lifetime_s,
            "jti": uuid.uuid4().hex,
        }
        return jwt.encode(claims, self._key, algorithm="EdDSA", headers={"typ": INTERNAL_TYP, "kid": self.kid})
