"""Ed25519 signatures standing in for the authorised official's EDS (ЭЦҚ), verifiable later with any past key.

The signing key (current) is a file mounted from the key store (DECISION_SIGNING_KEY_FILE); keys signed with
before are kept, public part only, in a directory of retired keys (DECISION_RETIRED_KEYS_DIR). Every key is
named by its kid, and all of them are published as a JWKS (RFC 7517, OKP keys of RFC 8037), so a decision signed
before a rotation still verifies after it. Dev mode generates the current key into the data folder once and keeps
it, and writes the JWKS beside it for the payment queue (DECISION_JWKS_FILE).

What is signed is the RFC 8785 form of the document (common.events.canonical_json). Documents signed before
that (no ``type`` in them) used sorted-key JSON; they still verify, with their own canonical form.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from common.events import SIGNATURE_ALGORITHM, DecisionDocument, canonical_json
from common.jwks import ensure_dev_key

ALGORITHM = SIGNATURE_ALGORITHM
DEV_KEY_NAME = "decision-signing-ed25519.pem"
JWKS_NAME = "decision-jwks.json"


def legacy_canonical(document: dict[str, Any]) -> bytes:
    """The canonical form of documents signed before RFC 8785 (no ``type``): sorted keys, compact, UTF-8."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def canonical_of(document: dict[str, Any]) -> bytes:
    """The bytes a stored document was signed as: RFC 8785 for the current format, the legacy form before it."""
    return canonical_json(document) if document.get("type") == DecisionDocument.TYPE else legacy_canonical(document)


def _raw(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(public: Ed25519PublicKey) -> str:
    """The kid: the first 16 hex digits of SHA-256 of the raw public key (the form stored since the first key)."""
    return hashlib.sha256(_raw(public)).hexdigest()[:16]


def public_pem(public: Ed25519PublicKey) -> str:
    return public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def jwk(public: Ed25519PublicKey, *, status: str) -> dict[str, str]:
    """An OKP JWK (RFC 8037) with its kid; ``status`` (current, retired) is an extra member verifiers may ignore."""
    x = base64.urlsafe_b64encode(_raw(public)).rstrip(b"=").decode()
    return {"kty": "OKP", "crv": "Ed25519", "x": x, "kid": key_id(public), "alg": "EdDSA", "use": "sig",
            "status": status}


def verify_with(public: Ed25519PublicKey, data: bytes, signature: str) -> bool:
    try:
        public.verify(base64.b64decode(signature, validate=True), data)
        return True
    except (InvalidSignature, ValueError):
        return False


class Signer:
    """The current signing key."""

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._key = private_key
        self.public_key: Ed25519PublicKey = private_key.public_key()
        self.key_id = key_id(self.public_key)
        self.public_pem = public_pem(self.public_key)

    def sign(self, document: dict[str, Any]) -> str:
        """Base64 Ed25519 signature of the document's canonical form."""
        return base64.b64encode(self._key.sign(canonical_of(document))).decode()

    def verify(self, document: dict[str, Any], signature: str) -> bool:
        return verify_with(self.public_key, canonical_of(document), signature)


@dataclass
class Keyring:
    """The current signer and the public keys of every key ever signed with (current and retired), by kid."""

    current: Signer
    retired: dict[str, Ed25519PublicKey] = field(default_factory=dict)

    @property
    def public_keys(self) -> dict[str, Ed25519PublicKey]:
        return {**self.retired, self.current.key_id: self.current.public_key}

    def verify(self, document: dict[str, Any], signature: str, kid: str | None) -> bool:
        """The signature checked against the key the decision names (any past key); False for an unknown kid."""
        public = self.public_keys.get(kid or "")
        return public is not None and verify_with(public, canonical_of(document), signature)

    def jwks(self) -> dict[str, list[dict[str, str]]]:
        keys = [jwk(self.current.public_key, status="current")]
        keys += [jwk(k, status="retired") for kid, k in sorted(self.retired.items()) if kid != self.current.key_id]
        return {"keys": keys}


def _load_private(path: Path) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise RuntimeError("the decision signing key must be an Ed25519 private key")
    return key


def _load_public(path: Path) -> Ed25519PublicKey:
    """A retired key: its public PEM, or its private PEM (only the public part is kept)."""
    data = path.read_bytes()
    if b"PRIVATE KEY" in data:
        return _load_private(path).public_key()
    key = serialization.load_pem_public_key(data)
    if not isinstance(key, Ed25519PublicKey):
        raise RuntimeError(f"retired key {path.name} is not an Ed25519 key")
    return key


def _generate(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    path.write_bytes(pem)
    path.chmod(0o600)


def load_signer(key_file: Path | None, *, dev_mode: bool, data_dir: Path) -> Signer:
    """The current signing key: the mounted file; in dev mode one generated into the data folder once."""
    if key_file is None:
        if not dev_mode:
            raise RuntimeError("DECISION_SIGNING_KEY_FILE is required outside dev mode")
        key_file = data_dir / "keys" / DEV_KEY_NAME
        # Created once, atomically: two replicas starting together must not each make a key.
        ensure_dev_key(key_file)
    return Signer(_load_private(key_file))


def load_keyring(
    key_file: Path | None, retired_dir: Path | None, *, dev_mode: bool, data_dir: Path
) -> Keyring:
    """The current key and the retired ones (``*.pem`` in ``retired_dir``; dev default data folder/keys/retired)."""
    current = load_signer(key_file, dev_mode=dev_mode, data_dir=data_dir)
    if retired_dir is None and dev_mode:
        retired_dir = data_dir / "keys" / "retired"
    retired: dict[str, Ed25519PublicKey] = {}
    if retired_dir is not None and retired_dir.is_dir():
        for path in sorted(retired_dir.glob("*.pem")):
            public = _load_public(path)
            retired[key_id(public)] = public
    return Keyring(current, retired)


def write_jwks(keyring: Keyring, path: Path) -> None:
    """Publish the public keys as a JWKS file, atomically (replicas may start together)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".jwks-", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(keyring.jwks(), out, indent=2)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def rotate(key_file: Path, retired_dir: Path) -> None:
    """Retire the current key (its public PEM goes to ``retired_dir``) and generate a new one in ``key_file``.

    For dev and tests; production rotates in the key store and mounts the new file and the retired keys.
    """
    old = _load_private(key_file).public_key()
    retired_dir.mkdir(parents=True, exist_ok=True)
    (retired_dir / f"{key_id(old)}.pem").write_text(public_pem(old))
    _generate(key_file)
