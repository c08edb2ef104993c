"""Verification keys by `kid` from a JWKS (file or URL), reloaded without a restart; JWT checks on top.

Used twice: the gateway verifies citizens' and staff's access tokens against the identity
provider's JWKS, and every service verifies the gateway's internal credential against the
gateway's JWKS (docs/security.md). One verifier, so both get the same rules:

* the key is chosen by the token's `kid`, and the algorithm by the key's type (EdDSA for
  Ed25519, RS256 for RSA) — never by the token's own `alg` header (no algorithm confusion);
* RSA keys shorter than 2048 bits, private keys and keys not meant for signatures are refused
  when the key set is read;
* `typ` must be the one expected (an internal credential is not an access token, and the
  reverse);
* `exp`, `iat`, `iss`, `aud`, `sub` are required, and `exp - iat` may not exceed a maximum.

Rotation: publish the new key beside the old one, start signing with it, drop the old key once
the longest-lived token signed with it has expired. A file source is re-read when its
modification time changes; a URL is re-fetched after ``ttl_s``, and at once (at most every
``min_refresh_s``) when a token names a `kid` not yet known.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

log = logging.getLogger(__name__)

MIN_RSA_BITS = 2048
PublicKey = Ed25519PublicKey | RSAPublicKey


class AuthError(Exception):
    """A token is missing or not acceptable; the message is safe to show to the caller."""


class KeySetError(RuntimeError):
    """A key set cannot be read or holds a key we refuse; the message names what is wrong."""


def algorithm_for(key: object) -> str:
    if isinstance(key, Ed25519PublicKey):
        return "EdDSA"
    if isinstance(key, RSAPublicKey):
        return "RS256"
    raise KeySetError(f"unsupported key type {type(key).__name__}: use Ed25519 or RSA")


def check_public_key(key: object, where: str) -> PublicKey:
    if isinstance(key, RSAPublicKey) and key.key_size < MIN_RSA_BITS:
        raise KeySetError(f"{where}: RSA key of {key.key_size} bits; at least {MIN_RSA_BITS} are required")
    algorithm_for(key)
    return key  # type: ignore[return-value]


def thumbprint(key: PublicKey) -> str:
    """A stable key id: the first 16 hex digits of the SHA-256 of the public key's DER."""
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()[:16]


def jwk_of(key: PublicKey, kid: str | None = None) -> dict[str, Any]:
    """The public JWK of ``key`` (RFC 7517/8037) with ``use: sig``."""
    kid = kid or thumbprint(key)
    if isinstance(key, Ed25519PublicKey):
        raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return {"kty": "OKP", "crv": "Ed25519", "x": _b64(raw), "kid": kid, "use": "sig", "alg": "EdDSA"}
    numbers = key.public_numbers()
    return {
        "kty": "RSA",
        "n": _b64(numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big")),
        "e": _b64(numbers.e.to_bytes((numbers.e.bit_length() + 7) // 8, "big")),
        "kid": kid,
        "use": "sig",
        "alg": "RS256",
    }


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def parse_jwks(document: object, where: str) -> dict[str, PublicKey]:
    """kid -> public key; refuses the whole set on a key we would not trust (fail closed)."""
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise KeySetError(f"{where}: not a JWKS (an object with a 'keys' list)")
    keys: dict[str, PublicKey] = {}
    for index, jwk_data in enumerate(document["keys"]):
        if not isinstance(jwk_data, dict):
            raise KeySetError(f"{where}: keys[{index}] is not an object")
        kid = jwk_data.get("kid")
        if not isinstance(kid, str) or not kid:
            raise KeySetError(f"{where}: keys[{index}] has no kid")
        if kid in keys:
            raise KeySetError(f"{where}: kid {kid!r} appears twice")
        if any(member in jwk_data for member in ("d", "p", "q")):
            raise KeySetError(f"{where}: kid {kid!r} is a private key; publish public keys only")
        if jwk_data.get("use", "sig") != "sig":
            raise KeySetError(f"{where}: kid {kid!r} is not a signature key (use={jwk_data.get('use')!r})")
        try:
            key = jwt.PyJWK(jwk_data).key
        except jwt.PyJWKError as exc:
            raise KeySetError(f"{where}: kid {kid!r} cannot be read: {exc}") from exc
        keys[kid] = check_public_key(key, f"{where}: kid {kid!r}")
    if not keys:
        raise KeySetError(f"{where}: the key set is empty")
    return keys


def pem_key_set(path: Path) -> dict[str, PublicKey]:
    """A single PEM public key as a key set of one, its kid the thumbprint (older deployments)."""
    try:
        key = serialization.load_pem_public_key(path.read_bytes())
    except OSError as exc:
        raise KeySetError(f"{path} cannot be read: {exc.strerror}") from exc
    except ValueError as exc:
        raise KeySetError(f"{path} is not a PEM public key") from exc
    checked = check_public_key(key, str(path))
    return {thumbprint(checked): checked}


class KeyRing:
    """The keys of one issuer, from a JWKS file or an http(s) URL, refreshed without a restart."""

    def __init__(
        self,
        source: str | Path,
        *,
        ttl_s: float = 300.0,
        min_refresh_s: float = 5.0,
        timeout_s: float = 3.0,
        clock: Callable[[], float] = time.monotonic,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.source = str(source)
        self._is_url = self.source.startswith(("http://", "https://"))
        self._ttl_s, self._min_refresh_s, self._timeout_s = ttl_s, min_refresh_s, timeout_s
        self._clock = clock
        self._transport = transport
        self._keys: dict[str, PublicKey] = {}
        self._loaded_at: float | None = None
        self._file_stamp: tuple[float, int] | None = None
        self._lock = asyncio.Lock()

    @property
    def kids(self) -> tuple[str, ...]:
        return tuple(self._keys)

    async def key(self, kid: str) -> PublicKey | None:
        await self._refresh(unknown_kid=kid not in self._keys)
        return self._keys.get(kid)

    async def _refresh(self, *, unknown_kid: bool) -> None:
        if not self._is_url:
            self._refresh_file()
            return
        now = self._clock()
        stale = self._loaded_at is None or now - self._loaded_at >= self._ttl_s
        may_retry = self._loaded_at is None or now - self._loaded_at >= self._min_refresh_s
        if not (stale or (unknown_kid and may_retry)):
            return
        async with self._lock:
            if self._loaded_at is not None and self._clock() - self._loaded_at < self._min_refresh_s:
                return  # another request refreshed while we waited
            try:
                async with httpx.AsyncClient(transport=self._transport, timeout=self._timeout_s, trust_env=False) as client:
                    response = await client.get(self.source)
                    response.raise_for_status()
                    self._keys = parse_jwks(response.json(), self.source)
            except (httpx.HTTPError, ValueError, KeySetError) as exc:
                # Keep the keys we had: an identity provider's hiccup must not log everyone out.
                log.warning("key set %s not refreshed: %s", self.source, exc)
            self._loaded_at = self._clock()

    def _refresh_file(self) -> None:
        path = Path(self.source)
        try:
            stat = path.stat()
        except OSError as exc:
            if not self._keys:
                raise AuthError("The service's verification keys are not available.") from exc
            return
        stamp = (stat.st_mtime, stat.st_size)
        if stamp == self._file_stamp:
            return
        try:
            self._keys = parse_jwks(json.loads(path.read_text()), self.source)
        except (OSError, ValueError, KeySetError) as exc:
            # A half-written file during a rotation: keep the old keys and look again next time.
            log.warning("key set %s not reloaded: %s", self.source, exc)
            if not self._keys:
                raise AuthError("The service's verification keys are not available.") from exc
            return
        self._file_stamp = stamp

    def load_now(self) -> None:
        """Read a file source at start-up, so a wrong path or a refused key stops the process."""
        if not self._is_url:
            path = Path(self.source)
            try:
                self._keys = parse_jwks(json.loads(path.read_text()), self.source)
            except OSError as exc:
                raise KeySetError(f"{path} cannot be read: {exc.strerror}") from exc
            except ValueError as exc:
                raise KeySetError(f"{path} is not JSON") from exc
            stat = path.stat()
            self._file_stamp = (stat.st_mtime, stat.st_size)


class StaticKeys:
    """A fixed key set (a single PEM key, or keys built in a test)."""

    def __init__(self, keys: dict[str, PublicKey]) -> None:
        self._keys = dict(keys)

    @property
    def kids(self) -> tuple[str, ...]:
        return tuple(self._keys)

    async def key(self, kid: str) -> PublicKey | None:
        return self._keys.get(kid)


@dataclass(frozen=True)
class TokenRules:
    """What a token of one kind must look like."""

    typ: frozenset[str]  # accepted `typ` header values, compared case-insensitively (RFC 8725 3.11)
    issuer: str
    audience: str
    max_lifetime_s: int
    leeway_s: int = 30


async def verify_token(token: str, keys: KeyRing | StaticKeys, rules: TokenRules, *, now: float | None = None) -> dict[str, Any]:
    """The token's claims if it is acceptable by ``rules``, else AuthError with a safe message."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.InvalidTokenError as exc:
        raise AuthError("The token is not a JWT.") from exc
    typ = header.get("typ")
    if not isinstance(typ, str) or typ.lower() not in rules.typ:
        raise AuthError("The token is not of the expected type.")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise AuthError("The token names no key (kid).")
    key = await keys.key(kid)
    if key is None:
        raise AuthError("The token is signed with an unknown key.")
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=[algorithm_for(key)],
            issuer=rules.issuer,
            audience=rules.audience,
            leeway=rules.leeway_s,
            options={"require": ["exp", "iat", "iss", "aud", "sub"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise AuthError("The token has expired.") from exc
    except jwt.InvalidTokenError as exc:
        raise AuthError("The token is not valid.") from exc
    exp, iat = claims["exp"], claims["iat"]
    if not isinstance(exp, int | float) or not isinstance(iat, int | float):
        raise AuthError("The token's times are not numbers.")
    if exp - iat > rules.max_lifetime_s:
        raise AuthError(f"The token lives longer than the {rules.max_lifetime_s} s allowed.")
    if iat > (now if now is not None else time.time()) + rules.leeway_s:
        raise AuthError("The token was issued in the future.")
    return claims


def write_jwks(path: Path, keys: list[PublicKey]) -> None:
    """Write a public key set atomically (readers never see half a file)."""
    document = {"keys": [jwk_of(key) for key in keys]}
    tmp = path.with_suffix(path.suffix + f".tmp{time.monotonic_ns()}")
    tmp.write_text(json.dumps(document, indent=2))
    tmp.replace(path)


def ensure_dev_key(path: Path) -> Ed25519PrivateKey:
    """A dev-mode Ed25519 private key at ``path``, created once; safe when several processes race."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        tmp = path.with_suffix(path.suffix + f".tmp{time.monotonic_ns()}")
        tmp.write_bytes(pem)
        tmp.chmod(0o600)
        try:
            path.hardlink_to(tmp)  # atomic: fails if the key exists
        except FileExistsError:
            pass  # another process won the race: use its key
        finally:
            tmp.unlink(missing_ok=True)
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise KeySetError(f"{path} is not an Ed25519 private key")
    return key

