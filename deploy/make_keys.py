"""Generate the key files a first production-like start needs, with the project's own key code.

    python deploy/make_keys.py deploy/compose/secrets

writes, where absent (an existing file is never overwritten):

* ``gateway-internal-key.pem``  the gateway's Ed25519 private key (GATEWAY_INTERNAL_SIGNING_KEY_FILE)
* ``internal-jwks.json``        its public half as a JWKS, for every service (INTERNAL_JWKS)
* ``decision-signing-key.pem``  decision's Ed25519 signing key (DECISION_SIGNING_KEY_FILE)

The identity provider's key set (GATEWAY_JWKS) is not made here: it belongs to the identity provider.
For a real deployment, generate the private keys in the key store (docs/security.md "Keys and rotation");
this tool is for a first cluster, a staging one, or a rehearsal.
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a file from a checkout: make the project importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main(argv: list[str]) -> int:
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    from common.jwks import ensure_dev_key, write_jwks

    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    out = Path(argv[0])
    out.mkdir(parents=True, exist_ok=True)
    internal_key = out / "gateway-internal-key.pem"
    jwks = out / "internal-jwks.json"
    decision_key = out / "decision-signing-key.pem"
    for key in (internal_key, decision_key):
        print(f"{'kept' if key.exists() else 'created'} {key}")
        ensure_dev_key(key)  # an Ed25519 PKCS#8 PEM, mode 0600, created once
    if not jwks.exists():
        private = load_pem_private_key(internal_key.read_bytes(), password=None)
        write_jwks(jwks, [private.public_key()])  # type: ignore[list-item]
        print(f"created {jwks}")
    else:
        print(f"kept {jwks} (add the public key of a new internal key to it by hand, see docs/security.md)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
