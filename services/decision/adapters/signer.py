"""Ed25519 signature standing in for the authorised official's EDS (ЭЦҚ), verifiable later.

Production loads the key from a file mounted from the key store
(DECISION_SIGNING_KEY_FILE); dev mode generates one into the data folder once
and keeps it, so signatures made yesterday still verify today.
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

ALGORITHM = "Ed25519"


def canonical(document: dict) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


class Signer:
    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._key = private_key
        self.public_key: Ed25519PublicKey = private_key.public_key()
        raw = self.public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        self.key_id = hashlib.sha256(raw).hexdigest()[:16]
        self.public_pem = self.public_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode()

    def sign(self, document: dict) -> str:
        return base64.b64encode(self._key.sign(canonical(document))).decode()

    def verify(self, document: dict, signature: str) -> bool:
        try:
            self.public_key.verify(base64.b64decode(signature), canonical(document))
            return True
        except (InvalidSignature, ValueError):
            return False


def load_signer(key_file: Path | None, *, dev_mode: bool, data_dir: Path) -> Signer:
    if key_file is None:
        if not dev_mode:
            raise RuntimeError("DECISION_SIGNING_KEY_FILE is required outside dev mode")
        key_file = data_dir / "keys" / "decision-signing-ed25519.pem"
        if not key_file.exists():
            key_file.parent.mkdir(parents=True, exist_ok=True)
            pem = Ed25519PrivateKey.generate().private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
            key_file.write_bytes(pem)
            key_file.chmod(0o600)
    key = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise RuntimeError("the decision signing key must be an Ed25519 private key")
    return Signer(key)
