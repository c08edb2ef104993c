"""Ed25519 signature standing in for the authorised official's EDS (B§19-1: approved with the EDS, verifiable later)."""

from __future__ import annotations

import base64
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1, generate_private_key
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.decision.adapters.signer import DEV_KEY_NAME, Signer, legacy_canonical, load_keyring, load_signer, rotate

DECISION = {
    "decision_id": "2c324707-4c88-5d08-9fef-185848bf8339",
    "application_id": "0f9c8a52-7a55-4d11-9a5e-6f0c2e7d1b33",
    "outcome": "assign",
    "amount_kzt": 151_375,
    "recipient_iin": "790303402568",
    "reasons": [],
}


def new_signer() -> Signer:
    return Signer(Ed25519PrivateKey.generate())


def test_sign_then_verify() -> None:
    """B§19-1: a signed decision verifies with the signer's public key, whatever the key order of the document."""
    signer = new_signer()
    signature = signer.sign(DECISION)
    assert signer.verify(DECISION, signature)
    assert signer.verify(dict(reversed(list(DECISION.items()))), signature)


@pytest.mark.parametrize(
    "tampered",
    [
        {**DECISION, "amount_kzt": 151_376},
        {**DECISION, "outcome": "refuse"},
        {**DECISION, "recipient_iin": "031231500126"},
        {**DECISION, "reasons": [{"code": "deadline_passed"}]},
        {k: v for k, v in DECISION.items() if k != "reasons"},
        {**DECISION, "extra": True},
    ],
)
def test_tampered_decision_fails(tampered: dict) -> None:
    """B§19-1: any change to the signed decision breaks the signature."""
    signer = new_signer()
    assert not signer.verify(tampered, signer.sign(DECISION))


def test_signature_from_another_key_fails() -> None:
    """B§19-1: only the official's key verifies; a signature made with another key does not."""
    official, impostor = new_signer(), new_signer()
    assert official.key_id != impostor.key_id
    assert not official.verify(DECISION, impostor.sign(DECISION))


@pytest.mark.parametrize("garbage", ["", "not base64 !!", "AAAA", "=="])
def test_malformed_signature_is_false_not_an_exception(garbage: str) -> None:
    """B§19-1: a malformed signature is simply not valid."""
    assert new_signer().verify(DECISION, garbage) is False


def test_dev_mode_creates_the_key_once_and_keeps_it(tmp_path: Path) -> None:
    """Dev mode: the key is generated once into the data folder, so yesterday's signatures verify today."""
    first = load_signer(None, dev_mode=True, data_dir=tmp_path)
    key_file = tmp_path / "keys" / "decision-signing-ed25519.pem"
    assert key_file.exists()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    pem = key_file.read_bytes()
    signature = first.sign(DECISION)

    second = load_signer(None, dev_mode=True, data_dir=tmp_path)
    assert key_file.read_bytes() == pem
    assert second.key_id == first.key_id
    assert second.public_pem == first.public_pem
    assert second.verify(DECISION, signature)


def test_dev_mode_keys_differ_between_data_folders(tmp_path: Path) -> None:
    """Dev mode: a fresh data folder gets its own key (no key is baked into the code)."""
    a = load_signer(None, dev_mode=True, data_dir=tmp_path / "a")
    b = load_signer(None, dev_mode=True, data_dir=tmp_path / "b")
    assert a.key_id != b.key_id


def test_without_key_file_outside_dev_mode_refuses(tmp_path: Path) -> None:
    """Production: no key file means no signing; never generate a key silently."""
    with pytest.raises(RuntimeError, match="DECISION_SIGNING_KEY_FILE"):
        load_signer(None, dev_mode=False, data_dir=tmp_path)
    assert not (tmp_path / "keys").exists()


def test_key_file_is_used_outside_dev_mode(tmp_path: Path) -> None:
    """Production: the mounted key file is the signing key."""
    key = Ed25519PrivateKey.generate()
    key_file = tmp_path / "official.pem"
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    signer = load_signer(key_file, dev_mode=False, data_dir=tmp_path)
    assert signer.key_id == Signer(key).key_id
    assert Signer(key).verify(DECISION, signer.sign(DECISION))


def test_a_key_file_of_another_algorithm_is_refused(tmp_path: Path) -> None:
    """Production: the decision signing key must be Ed25519."""
    key_file = tmp_path / "ec.pem"
    key_file.write_bytes(
        generate_private_key(SECP256R1()).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    with pytest.raises(RuntimeError, match="Ed25519"):
        load_signer(key_file, dev_mode=False, data_dir=tmp_path)


# --- key rotation: a keyring of the current key and every retired one (Trust boundaries, point 5) -------------

def test_a_rotated_keyring_signs_with_the_new_kid_and_still_verifies_the_old(tmp_path: Path) -> None:
    """B§19-1 (verifiable later): after a rotation the old kid is retired, not forgotten; the JWKS names both."""
    before = load_keyring(None, None, dev_mode=True, data_dir=tmp_path)
    old_signature = before.current.sign(DECISION)
    rotate(tmp_path / "keys" / DEV_KEY_NAME, tmp_path / "keys" / "retired")
    after = load_keyring(None, None, dev_mode=True, data_dir=tmp_path)
    assert after.current.key_id != before.current.key_id
    assert after.verify(DECISION, old_signature, before.current.key_id)
    assert after.verify(DECISION, after.current.sign(DECISION), after.current.key_id)
    assert not after.verify(DECISION, old_signature, after.current.key_id)  # the kid decides the key
    assert not after.verify(DECISION, old_signature, "0123456789abcdef")  # an unknown kid verifies nothing
    assert {(k["kid"], k["status"]) for k in after.jwks()["keys"]} == {
        (before.current.key_id, "retired"), (after.current.key_id, "current")}
    assert all("d" not in k for k in after.jwks()["keys"])  # public keys only
    assert not any(b"PRIVATE" in p.read_bytes() for p in (tmp_path / "keys" / "retired").glob("*.pem"))


def test_a_document_signed_before_rfc_8785_still_verifies() -> None:
    """Decisions signed with sorted-key JSON (no `type` in the document) keep verifying."""
    key = Ed25519PrivateKey.generate()
    old = base64.b64encode(key.sign(legacy_canonical(DECISION))).decode()
    assert Signer(key).verify(DECISION, old)
    assert not Signer(key).verify(DECISION | {"type": "kz.emaket.decision.signed.v2"}, old)
