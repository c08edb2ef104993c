"""Issue 6 points 2-3: keys by kid from a JWKS with rotation and no restart, token rules, fail-closed settings."""

from __future__ import annotations

import json
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import ValidationError

from common.jwks import KeySetError, jwk_of
from gateway.app import create_app
from gateway.settings import GatewaySettings
from services.intake.settings import IntakeSettings
from tests.callers import KEY_FILE
from tests.integration.test_gateway import assert_problem, make_settings, mint, running


def write_jwks(path: Path, *keys: object) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"keys": [jwk_of(k.public_key()) for k in keys]}))  # type: ignore[attr-defined]
    tmp.replace(path)
    # Same-second rewrites of a same-size file: move the mtime on so the reload is observable at once.
    stamp = time.time() + 1
    os.utime(path, (stamp, stamp))


@pytest.fixture
def idp_keys(tmp_path: Path) -> tuple[Path, Ed25519PrivateKey]:
    key = Ed25519PrivateKey.generate()
    path = tmp_path / "idp-jwks.json"
    write_jwks(path, key)
    return path, key


@pytest.fixture
async def jwks_gw(idp_keys) -> AsyncIterator[httpx.AsyncClient]:
    path, _ = idp_keys
    async with running(make_settings(dev_mode=False, jwks=str(path), internal_signing_key_file=KEY_FILE)) as client:
        yield client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_a_new_key_is_trusted_and_a_removed_one_refused_without_a_restart(jwks_gw, idp_keys) -> None:
    path, old = idp_keys
    new = Ed25519PrivateKey.generate()
    assert (await jwks_gw.get("/api/v1/applications", headers=bearer(mint(old)))).status_code == 200
    assert_problem(await jwks_gw.get("/api/v1/applications", headers=bearer(mint(new))), 401)
    write_jwks(path, old, new)  # rotation step 1: publish the next key beside the current one
    assert (await jwks_gw.get("/api/v1/applications", headers=bearer(mint(new)))).status_code == 200
    assert (await jwks_gw.get("/api/v1/applications", headers=bearer(mint(old)))).status_code == 200
    write_jwks(path, new)  # step 3: the old key retired
    assert_problem(await jwks_gw.get("/api/v1/applications", headers=bearer(mint(old))), 401)
    assert (await jwks_gw.get("/api/v1/applications", headers=bearer(mint(new)))).status_code == 200


async def test_a_half_written_key_set_keeps_the_keys_in_force(jwks_gw, idp_keys) -> None:
    path, key = idp_keys
    path.write_text('{"keys": [')
    assert (await jwks_gw.get("/api/v1/applications", headers=bearer(mint(key)))).status_code == 200


@pytest.mark.parametrize(
    ("why", "token_args"),
    [
        ("typ of an internal credential", {"typ": "emaket-internal+jwt"}),
        ("typ of an id token", {"typ": "JWT"}),
        ("kid not in the key set", {"kid": "not-a-known-kid"}),
        ("lives longer than the maximum", {"exp": int(time.time()) + 86400}),
        ("issued in the future", {"iat": int(time.time()) + 600, "exp": int(time.time()) + 900}),
        ("empty subject", {"sub": ""}),
    ],
)
async def test_token_rules_are_401(jwks_gw, idp_keys, why, token_args) -> None:
    _, key = idp_keys
    response = await jwks_gw.get("/api/v1/applications", headers=bearer(mint(key, **token_args)))
    assert_problem(response, 401)


def test_rsa_keys_shorter_than_2048_bits_stop_the_start(tmp_path: Path) -> None:
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    path = tmp_path / "weak.json"
    path.write_text(json.dumps({"keys": [jwk_of(weak.public_key(), "weak")]}))
    with pytest.raises(KeySetError, match="1024 bits"):
        create_app(make_settings(dev_mode=False, jwks=str(path), internal_signing_key_file=KEY_FILE))


def test_a_private_key_in_the_key_set_stops_the_start(tmp_path: Path) -> None:
    key = Ed25519PrivateKey.generate()
    jwk = jwk_of(key.public_key()) | {"d": "AAAA"}
    path = tmp_path / "leaky.json"
    path.write_text(json.dumps({"keys": [jwk]}))
    with pytest.raises(KeySetError, match="private key"):
        create_app(make_settings(dev_mode=False, jwks=str(path), internal_signing_key_file=KEY_FILE))


async def test_rsa_2048_tokens_are_accepted(tmp_path: Path) -> None:
    import jwt

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = tmp_path / "rsa.json"
    path.write_text(json.dumps({"keys": [jwk_of(key.public_key(), "rsa-1")]}))
    now = int(time.time())
    claims = {"iss": "test-issuer", "aud": "test-audience", "sub": "op-1", "role": "operator", "iat": now, "exp": now + 60}
    token = jwt.encode(claims, key, algorithm="RS256", headers={"typ": "at+jwt", "kid": "rsa-1"})
    async with running(make_settings(dev_mode=False, jwks=str(path), internal_signing_key_file=KEY_FILE)) as gw:
        assert (await gw.get("/api/v1/applications", headers=bearer(token))).status_code == 200


@pytest.mark.parametrize("spelling", ["1", "yes", "True", "on", " true", "TRUE", ""])
def test_dev_mode_parses_strictly(spelling: str) -> None:
    for settings in (GatewaySettings, IntakeSettings):
        with pytest.raises(ValidationError, match="exactly 'true' or 'false'"):
            settings(_env_file=None, DEV_MODE=spelling, DATABASE_URL="x", KAFKA_BOOTSTRAP_SERVERS="x")


def test_dev_mode_beside_production_keys_refuses_to_start(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="together with production keys"):
        GatewaySettings(DEV_MODE="true", GATEWAY_JWKS=str(tmp_path / "jwks.json"))
    with pytest.raises(ValidationError, match="together with production keys"):
        GatewaySettings(DEV_MODE="true", GATEWAY_JWT_PUBLIC_KEY_FILE=str(tmp_path / "k.pem"))


@pytest.mark.parametrize("host", ["0.0.0.0", "10.1.2.3", "::", "example.org"])
def test_dev_mode_on_a_non_loopback_bind_refuses_to_start(host: str) -> None:
    with pytest.raises(ValidationError, match="loopback"):
        GatewaySettings(DEV_MODE="true", BIND_HOST=host)
    with pytest.raises(ValidationError, match="loopback"):
        IntakeSettings(DEV_MODE="true", BIND_HOST=host, DATABASE_URL="x", KAFKA_BOOTSTRAP_SERVERS="x")


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "localhost"])
def test_dev_mode_on_loopback_starts(host: str) -> None:
    GatewaySettings(DEV_MODE="true", BIND_HOST=host)


def test_services_outside_dev_mode_need_the_gateways_keys_and_refuse_crash_points(monkeypatch) -> None:
    monkeypatch.delenv("INTERNAL_JWKS", raising=False)
    with pytest.raises(ValidationError, match="INTERNAL_JWKS"):
        IntakeSettings(DEV_MODE="false", DATABASE_URL="x", KAFKA_BOOTSTRAP_SERVERS="x")
    with pytest.raises(ValidationError, match="CRASH_POINT"):
        IntakeSettings(DEV_MODE="false", INTERNAL_JWKS="k.json", CRASH_POINT="relay.before_publish",
                       DATABASE_URL="x", KAFKA_BOOTSTRAP_SERVERS="x")
    IntakeSettings(DEV_MODE="false", INTERNAL_JWKS="k.json", DATABASE_URL="x", KAFKA_BOOTSTRAP_SERVERS="x")


async def test_dev_mode_answers_loopback_clients_only() -> None:
    """uvicorn started by hand with --host 0.0.0.0: the settings cannot see it, the guard can."""
    app = create_app(make_settings())
    async with app.router.lifespan_context(app):
        for client, expected in ((("10.0.0.7", 5000), 403), (("127.0.0.1", 5000), 200)):
            transport = httpx.ASGITransport(app=app, client=client)
            async with httpx.AsyncClient(transport=transport, base_url="http://gw") as http:
                response = await http.post("/api/v1/dev/token", json={"role": "ops"})
                assert response.status_code == expected, (client, response.text)


def test_outside_dev_mode_every_outside_system_url_must_be_set(monkeypatch) -> None:
    """Nothing falls back to the sandbox in production (issue 6 point 2)."""
    from services.decision.settings import DecisionSettings
    from services.eligibility.settings import EligibilitySettings
    from services.notifier.settings import NotifierSettings
    from services.payment_queue.settings import PaymentQueueSettings

    base = {"DEV_MODE": "false", "INTERNAL_JWKS": "k.json", "DATABASE_URL": "x", "KAFKA_BOOTSTRAP_SERVERS": "x"}
    for settings, needed in (
        (EligibilitySettings, {"EGOV_URL"}),
        (DecisionSettings, {"DECISION_SIGNING_KEY_FILE"}),
        (PaymentQueueSettings, {"PAYMENTS_DB_URL", "DECISION_JWKS"}),
        (NotifierSettings, {"SMS_GATEWAY_URL", "CABINET_URL"}),
    ):
        for name in needed:
            monkeypatch.delenv(name, raising=False)
        with pytest.raises(ValidationError) as refused:
            settings(**base)
        assert all(name in str(refused.value) for name in needed), refused.value
        settings(**base, **{name: "https://registry.example" for name in needed})
