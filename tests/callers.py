"""Headers a service accepts from the gateway, for tests that call a service directly.

A service believes only the gateway's internal credential (common/internal_auth.py). Tests mint
it with a key of their own: tests/conftest.py points ``INTERNAL_JWKS`` at this key's public key
set before any settings are read, so the services under test trust exactly this key — and a
test that sends no credential, or a forged ``X-Caller-Role`` header, gets the 401 production gives.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from common.internal_auth import InternalMinter
from common.jwks import write_jwks

_DIR = Path(tempfile.mkdtemp(prefix="emaket-test-keys-"))
KEY_FILE = _DIR / "gateway-internal.pem"
JWKS_FILE = _DIR / "internal-jwks.json"

_key = Ed25519PrivateKey.generate()
KEY_FILE.write_bytes(
    _key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
)
write_jwks(JWKS_FILE, [_key.public_key()])
MINTER = InternalMinter(KEY_FILE)


def credential(role: str, sub: str | None = None, *, service: str = "intake") -> str:
    return MINTER.mint(role=role, sub=sub or f"test-{role}", audience=service)


def caller_headers(role: str, sub: str | None = None, *, service: str = "intake") -> dict[str, str]:
    """What the gateway sends for ``role``/``sub`` to ``service``; staff and systems get a default subject."""
    return {"Authorization": f"Bearer {credential(role, sub, service=service)}"}
