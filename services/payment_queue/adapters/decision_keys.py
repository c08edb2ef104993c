"""The decision service's public signing keys (its JWKS), by kid, and the Ed25519 check of a signed document.

The key set comes from a file or a URL (DECISION_JWKS; dev mode: the file decision writes into the data folder)
and is re-read when a decision names a kid not known yet, so a key rotation needs no restart here. Retired keys
stay in the set, so decisions signed before a rotation are still paid after it.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from common.consumer import TransientError
from common.events import canonical_json
from common.jwks import AuthError, KeyRing


class DecisionKeys:
    def __init__(self, source: str, *, min_refresh_s: float = 1.0) -> None:
        self.source = source
        self._ring = KeyRing(source, min_refresh_s=min_refresh_s)

    async def key(self, kid: str) -> Ed25519PublicKey | None:
        """The Ed25519 key named ``kid``; None when decision publishes no such key (an RSA key is no such key)."""
        try:
            key = await self._ring.key(kid)
        except AuthError as exc:
            # No key set at all is not the message's fault: retried, never dead-lettered or held.
            raise TransientError(f"decision's public keys are not available from {self.source}") from exc
        return key if isinstance(key, Ed25519PublicKey) else None


def signature_valid(key: Ed25519PublicKey, document: dict[str, Any], signature: str) -> bool:
    """The base64 Ed25519 signature over the RFC 8785 form of the document."""
    try:
        key.verify(base64.b64decode(signature, validate=True), canonical_json(document))
        return True
    except (InvalidSignature, binascii.Error, ValueError, TypeError):
        return False
