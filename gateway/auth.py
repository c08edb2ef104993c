"""Access-token verification, the dev-mode token issuer, and the internal credential minter.

Access tokens are verified against the identity provider's keys by `kid` (common/jwks.py:
JWKS file or URL, rotation without a restart, RSA >= 2048 or Ed25519, `typ` checked, a
maximum lifetime). The algorithm follows the key type, never the token's own header.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from common.caller import ROLES
from common.internal_auth import SAFE_SUB, InternalMinter, ensure_dev_internal_keys
from common.jwks import AuthError, KeyRing, StaticKeys, TokenRules, pem_key_set, thumbprint, verify_token
from gateway.settings import GatewaySettings

__all__ = ["AuthError", "Caller", "DevTokenIssuer", "TokenVerifier", "bearer_token", "build_auth"]

ACCESS_TOKEN_TYP = "at+jwt"


@dataclass(frozen=True)
class Caller:
    role: str
    sub: str


def bearer_token(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


class TokenVerifier:
    def __init__(self, keys: KeyRing | StaticKeys, rules: TokenRules) -> None:
        self.keys = keys
        self.rules = rules

    async def verify(self, token: str) -> Caller:
        claims = await verify_token(token, self.keys, self.rules)
        role, sub = claims.get("role"), claims.get("sub")
        if role not in ROLES:
            raise AuthError("The access token carries no known role.")
        if not isinstance(sub, str) or not SAFE_SUB.fullmatch(sub):
            raise AuthError("The access token's subject is not acceptable.")
        return Caller(role=role, sub=sub)


class DevTokenIssuer:
    """Mints access tokens with a key pair that lives only in this process (dev mode)."""

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
        self.kid = thumbprint(key.public_key())
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
        return jwt.encode(claims, self._key, algorithm="EdDSA", headers={"typ": ACCESS_TOKEN_TYP, "kid": self.kid})


def build_auth(settings: GatewaySettings) -> tuple[TokenVerifier, DevTokenIssuer | None, InternalMinter]:
    """Dev mode: a fresh access-token key pair per process (dev tokens verify nowhere else) and the
    internal key under DATA_DIR/keys; otherwise the configured keys (GatewaySettings refuses less)."""
    rules = TokenRules(
        typ=settings.accepted_token_types,
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        max_lifetime_s=settings.max_token_lifetime_s,
        leeway_s=settings.jwt_leeway_s,
    )
    issuer: DevTokenIssuer | None = None
    keys: KeyRing | StaticKeys
    if settings.dev_mode:
        private = Ed25519PrivateKey.generate()
        issuer = DevTokenIssuer(
            private, issuer=settings.jwt_issuer, audience=settings.jwt_audience,
            lifetime_s=min(settings.token_lifetime_s, settings.max_token_lifetime_s),
        )
        keys = StaticKeys({issuer.kid: private.public_key()})
        rules = TokenRules(rules.typ | {ACCESS_TOKEN_TYP}, rules.issuer, rules.audience, rules.max_lifetime_s, rules.leeway_s)
        minter = InternalMinter(ensure_dev_internal_keys(settings.data_dir), lifetime_s=settings.internal_token_lifetime_s)
    else:
        if settings.jwks:
            ring = KeyRing(settings.jwks)
            ring.load_now()  # a file that cannot be read or holds a refused key stops the start
            keys = ring
        else:
            assert settings.jwt_public_key_file is not None  # GatewaySettings refuses otherwise
            keys = StaticKeys(pem_key_set(settings.jwt_public_key_file))
        assert settings.internal_signing_key_file is not None
        minter = InternalMinter(settings.internal_signing_key_file, lifetime_s=settings.internal_token_lifetime_s)
    return TokenVerifier(keys, rules), issuer, minter

