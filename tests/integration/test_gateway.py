"""The gateway in process, with fake upstream services behind an in-process transport."""

import logging
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date
from pathlib import Path

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError

from common.identifiers import make_iin
from common.internal_auth import internal_rules
from common.jwks import StaticKeys, thumbprint, verify_token
from gateway.app import create_app
from gateway.settings import GatewaySettings
from tests.callers import KEY_FILE, MINTER

DATA_DIR = Path(tempfile.mkdtemp(prefix="emaket-gw-test-"))

CITIZEN_IIN = make_iin(date(1990, 1, 1), "M", 11)
ISSUER, AUDIENCE = "test-issuer", "test-audience"


# --- fake upstreams ---------------------------------------------------------


async def echo(request: Request) -> JSONResponse:
    """What the service received, so tests can see exactly what the gateway forwarded."""
    body = await request.body()
    payload = {
        "method": request.method,
        "path": request.url.path,
        "query": request.url.query,
        "headers": dict(request.headers),
        "body": body.decode(),
    }
    status = 202 if request.method == "POST" else 200
    headers = {"Location": "http://intake/api/v1/applications/abc", "X-Internal": "secret", "Retry-After": "7"}
    return JSONResponse(payload, status_code=status, headers=headers)


class Item(BaseModel):
    """Same name in two services with different content: the merged document must keep both."""

    a: int


class Application(BaseModel):
    item: Item


class Hidden(BaseModel):
    """Used only by a path the gateway does not expose."""

    secret: str


def fake_intake() -> FastAPI:
    app = FastAPI(title="intake")

    @app.post("/api/v1/applications", status_code=202)
    async def file_application(body: Application, request: Request) -> JSONResponse:
        return await echo(request)

    @app.get("/api/v1/applications")
    async def list_applications(request: Request) -> JSONResponse:
        return await echo(request)

    @app.get("/api/v1/applications/{application_id}")
    async def read_application(application_id: str, request: Request) -> JSONResponse:
        return await echo(request)

    @app.get("/api/v1/ops/dead-letters")
    async def dead_letters(request: Request) -> JSONResponse:
        return await echo(request)

    @app.post("/api/v1/internal/things")
    async def internal(body: Hidden) -> dict:
        return {}

    @app.get("/healthz")
    async def healthz() -> dict:
        return {"status": "ok"}

    return app


def fake_decision() -> FastAPI:
    app = FastAPI(title="decision")

    class Item(BaseModel):  # same schema name as intake's, different content
        b: str

    class SignRequest(BaseModel):
        outcome: str
        item: Item

    @app.get("/api/v1/decisions")
    async def list_decisions(request: Request) -> JSONResponse:
        return await echo(request)

    @app.post("/api/v1/decisions/{decision_id}/sign")
    async def sign(decision_id: str, body: SignRequest, request: Request) -> JSONResponse:
        return await echo(request)

    @app.get("/api/v1/ops/dead-letters")
    async def dead_letters(request: Request) -> JSONResponse:
        return await echo(request)

    return app


class Upstreams(httpx.AsyncBaseTransport):
    """Routes by host to in-process apps; unknown hosts are down, `slow` always times out."""

    def __init__(self, apps: dict[str, FastAPI]) -> None:
        self._transports = {host: httpx.ASGITransport(app=app) for host, app in apps.items()}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.host == "slow":
            raise httpx.ReadTimeout("timed out", request=request)
        transport = self._transports.get(request.url.host)
        if transport is None:
            raise httpx.ConnectError("connection refused", request=request)
        return await transport.handle_async_request(request)


# --- gateway under test -----------------------------------------------------


def make_settings(**overrides: object) -> GatewaySettings:
    values: dict[str, object] = {
        "dev_mode": True,
        "intake_url": "http://intake",
        "decision_url": "http://decision",
        "eligibility_url": "http://slow",  # times out
        "payment_queue_url": "http://payment-queue",  # down
        "notifier_url": "http://notifier",  # down
        "jwt_issuer": ISSUER,
        "jwt_audience": AUDIENCE,
        "openapi_cache_s": 0,
        "data_dir": DATA_DIR,
    }
    values.update(overrides)
    return GatewaySettings(**values)


@asynccontextmanager
async def running(settings: GatewaySettings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, transport=Upstreams({"intake": fake_intake(), "decision": fake_decision()}))
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw") as client:
            yield client


@pytest.fixture
async def gw() -> AsyncIterator[httpx.AsyncClient]:
    async with running(make_settings()) as client:
        yield client


@pytest.fixture
def signing_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture
def public_key_file(tmp_path: Path, signing_key: Ed25519PrivateKey) -> Path:
    path = tmp_path / "jwt.pub.pem"
    path.write_bytes(
        signing_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return path


@pytest.fixture
async def prod_gw(public_key_file: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = make_settings(dev_mode=False, jwt_public_key_file=public_key_file, internal_signing_key_file=KEY_FILE)
    async with running(settings) as client:
        yield client


def mint(
    key: Ed25519PrivateKey, role: str = "ops", sub: str = "ops-1", *, typ: str = "at+jwt", kid: str | None = None, **claims: object
) -> str:
    now = int(time.time())
    payload = {"iss": ISSUER, "aud": AUDIENCE, "sub": sub, "role": role, "iat": now, "exp": now + 600}
    payload.update(claims)
    headers = {"typ": typ, "kid": kid or thumbprint(key.public_key())}
    return jwt.encode(payload, key, algorithm="EdDSA", headers=headers)


async def internal_caller(headers: dict[str, str], service: str) -> tuple[str, str]:
    """The role and subject of the internal credential the gateway forwarded to ``service``."""
    scheme, _, token = headers["authorization"].partition(" ")
    assert scheme == "Bearer"
    claims = await verify_token(token, StaticKeys({MINTER.kid: MINTER_PUBLIC}), internal_rules(service))
    return claims["role"], claims["sub"]


MINTER_PUBLIC = serialization.load_pem_private_key(KEY_FILE.read_bytes(), password=None).public_key()  # type: ignore[union-attr]


async def dev_token(client: httpx.AsyncClient, role: str, sub: str | None = None) -> dict[str, str]:
    body = {"role": role} if sub is None else {"role": role, "sub": sub}
    response = await client.post("/api/v1/dev/token", json=body)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def assert_problem(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["x-request-id"]
    problem = response.json()
    assert problem["status"] == status
    return problem


# --- tests --------------------------------------------------------------------


async def test_healthz(gw: httpx.AsyncClient) -> None:
    response = await gw.get("/healthz")
    assert response.status_code == 200
    assert response.headers["x-request-id"]


async def test_missing_token_is_401_with_challenge(gw: httpx.AsyncClient) -> None:
    problem = assert_problem(await gw.get("/api/v1/applications"), 401)
    assert problem["type"].endswith("not-authenticated")


async def test_missing_token_header_says_bearer(gw: httpx.AsyncClient) -> None:
    response = await gw.get("/api/v1/decisions", headers={"Authorization": "Basic dXNlcjpwdw=="})
    assert_problem(response, 401)
    assert response.headers["www-authenticate"] == "Bearer"


async def test_bad_signature_is_401(prod_gw: httpx.AsyncClient) -> None:
    forged = mint(Ed25519PrivateKey.generate())
    response = await prod_gw.get("/api/v1/applications", headers={"Authorization": f"Bearer {forged}"})
    assert_problem(response, 401)
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert "invalid_token" in response.headers["www-authenticate"]


async def test_expired_token_is_401(prod_gw: httpx.AsyncClient, signing_key: Ed25519PrivateKey) -> None:
    old = int(time.time()) - 7200
    expired = mint(signing_key, iat=old, exp=old + 600)
    response = await prod_gw.get("/api/v1/applications", headers={"Authorization": f"Bearer {expired}"})
    problem = assert_problem(response, 401)
    assert "expired" in problem["detail"]
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_unknown_role_and_wrong_audience_are_401(
    prod_gw: httpx.AsyncClient, signing_key: Ed25519PrivateKey
) -> None:
    for token in (mint(signing_key, role="admin"), mint(signing_key, aud="someone-else")):
        response = await prod_gw.get("/api/v1/applications", headers={"Authorization": f"Bearer {token}"})
        assert_problem(response, 401)


async def test_symmetric_token_is_refused(prod_gw: httpx.AsyncClient, public_key_file: Path) -> None:
    # Classic algorithm confusion: HS256 "signed" with the public key as the secret.
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": "x", "role": "ops", "iat": now, "exp": now + 60}
    token = jwt.encode(claims, "not-the-key-but-a-secret-of-32-bytes!", algorithm="HS256")
    response = await prod_gw.get("/api/v1/applications", headers={"Authorization": f"Bearer {token}"})
    assert_problem(response, 401)


async def test_production_token_is_accepted(prod_gw: httpx.AsyncClient, signing_key: Ed25519PrivateKey) -> None:
    token = mint(signing_key, role="operator", sub="op-7")
    response = await prod_gw.get("/api/v1/applications", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    forwarded = response.json()["headers"]
    assert await internal_caller(forwarded, "intake") == ("operator", "op-7")
    assert token not in forwarded["authorization"]  # the access token itself stays at the gateway


async def test_wrong_role_is_403(gw: httpx.AsyncClient) -> None:
    citizen = await dev_token(gw, "citizen", CITIZEN_IIN)
    problem = assert_problem(await gw.post("/api/v1/decisions/d1/sign", json={}, headers=citizen), 403)
    assert "citizen" in problem["detail"]
    assert_problem(await gw.get("/api/v1/decisions", headers=citizen), 403)
    ops = await dev_token(gw, "ops")
    assert_problem(await gw.post("/api/v1/applications", json={}, headers=ops), 403)
    assert_problem(await gw.post("/api/v1/decisions/d1/sign", json={}, headers=ops), 403)
    assert (await gw.get("/api/v1/decisions", headers=ops)).status_code == 200


async def test_specialist_signs_through_decision(gw: httpx.AsyncClient) -> None:
    specialist = await dev_token(gw, "specialist", "spec-1")
    response = await gw.post(
        "/api/v1/decisions/d1/sign", json={"outcome": "assign", "item": {"b": "x"}}, headers=specialist
    )
    assert response.status_code == 202
    assert response.json()["path"] == "/api/v1/decisions/d1/sign"


async def test_ops_routes_reach_the_named_service(gw: httpx.AsyncClient) -> None:
    ops = await dev_token(gw, "ops")
    response = await gw.get("/api/v1/ops/intake/dead-letters?include_replayed=true", headers=ops)
    assert response.status_code == 200
    seen = response.json()
    assert seen["path"] == "/api/v1/ops/dead-letters"
    assert seen["query"] == "include_replayed=true"
    specialist = await dev_token(gw, "specialist")
    assert_problem(await gw.get("/api/v1/ops/intake/dead-letters", headers=specialist), 403)
    assert_problem(await gw.get("/api/v1/ops/sandbox/dead-letters", headers=ops), 404)


async def test_unknown_api_paths_are_404(gw: httpx.AsyncClient) -> None:
    ops = await dev_token(gw, "ops")
    assert_problem(await gw.get("/api/v1/eligibility/checks", headers=ops), 404)
    # Encoded dot segments reach the gateway decoded; they must not be forwarded (httpx would collapse them).
    assert_problem(await gw.get("/api/v1/applications/%2E%2E/ops/intake/dead-letters", headers=ops), 404)
    assert_problem(await gw.get("/nowhere"), 404)


async def test_dev_token_endpoint_is_absent_outside_dev_mode(prod_gw: httpx.AsyncClient) -> None:
    response = await prod_gw.post("/api/v1/dev/token", json={"role": "ops", "sub": "x"})
    assert_problem(response, 404)
    document = (await prod_gw.get("/openapi.json")).json()
    assert "/api/v1/dev/token" not in document["paths"]


async def test_dev_token_validates_role_and_citizen_iin(gw: httpx.AsyncClient) -> None:
    problem = assert_problem(await gw.post("/api/v1/dev/token", json={"role": "admin", "sub": "x"}), 422)
    assert [e["field"] for e in problem["errors"]] == ["role"]
    for sub in ("12345", "123456789012", None):
        body = {"role": "citizen"} if sub is None else {"role": "citizen", "sub": sub}
        problem = assert_problem(await gw.post("/api/v1/dev/token", json=body), 422)
        assert [e["field"] for e in problem["errors"]] == ["sub"]
    response = await gw.post("/api/v1/dev/token", json={"role": "citizen", "sub": CITIZEN_IIN})
    token = response.json()
    assert token["token_type"] == "bearer" and token["expires_in"] > 0
    claims = jwt.decode(token["access_token"], options={"verify_signature": False})
    assert claims["sub"] == CITIZEN_IIN and claims["role"] == "citizen"


async def test_caller_headers_are_forwarded_and_spoofs_dropped(gw: httpx.AsyncClient) -> None:
    citizen = await dev_token(gw, "citizen", CITIZEN_IIN)
    response = await gw.post(
        "/api/v1/applications?x=1",
        content=b'{"item": {"a": 1}}',
        headers={
            **citizen,
            "Content-Type": "application/json",
            "Idempotency-Key": "key-1",
            "Accept": "application/json",
            "X-Caller-Role": "ops",
            "X-Caller-Sub": "someone-else",
            "X-Caller-Extra": "1",
            "Cookie": "session=1",
        },
    )
    assert response.status_code == 202
    seen = response.json()
    assert seen["method"] == "POST"
    assert seen["path"] == "/api/v1/applications"
    assert seen["query"] == "x=1"
    assert seen["body"] == '{"item": {"a": 1}}'
    headers = seen["headers"]
    assert not any(name.startswith("x-caller") for name in headers)
    assert "cookie" not in headers
    assert headers["idempotency-key"] == "key-1"
    assert headers["content-type"] == "application/json"
    assert headers["accept"] == "application/json"
    # The citizen's token is replaced by the gateway's own credential, for intake only, naming the citizen.
    forwarded = jwt.decode(headers["authorization"].removeprefix("Bearer "), options={"verify_signature": False})
    assert (forwarded["role"], forwarded["sub"], forwarded["aud"]) == ("citizen", CITIZEN_IIN, "intake")
    assert jwt.get_unverified_header(headers["authorization"].removeprefix("Bearer "))["typ"] == "emaket-internal+jwt"
    assert citizen["Authorization"] != headers["authorization"]
    # Response: only the whitelisted headers, Location made public.
    assert response.headers["location"] == "/api/v1/applications/abc"
    assert response.headers["retry-after"] == "7"
    assert "x-internal" not in response.headers


async def test_request_id_is_generated_forwarded_and_echoed(gw: httpx.AsyncClient) -> None:
    ops = await dev_token(gw, "ops")
    response = await gw.get("/api/v1/applications", headers=ops)
    generated = response.headers["x-request-id"]
    assert uuid.UUID(generated)
    assert response.json()["headers"]["x-request-id"] == generated

    response = await gw.get("/api/v1/applications", headers={**ops, "X-Request-Id": "trace-42"})
    assert response.headers["x-request-id"] == "trace-42"
    assert response.json()["headers"]["x-request-id"] == "trace-42"

    for insane in ("a" * 129, "bad id;<script>"):
        response = await gw.get("/api/v1/applications", headers={**ops, "X-Request-Id": insane})
        assert response.headers["x-request-id"] != insane
        assert uuid.UUID(response.headers["x-request-id"])

    problem = assert_problem(await gw.get("/api/v1/nothing", headers={"X-Request-Id": "trace-43"}), 404)
    assert problem["request_id"] == "trace-43"


async def test_body_too_large_is_422_naming_body() -> None:
    async with running(make_settings(max_body_bytes=100)) as gw:
        ops = await dev_token(gw, "operator")
        problem = assert_problem(await gw.post("/api/v1/applications", content=b"x" * 101, headers=ops), 422)
        assert problem["errors"][0]["field"] == "body"

        async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: caught while reading
            for _ in range(5):
                yield b"y" * 30

        problem = assert_problem(await gw.post("/api/v1/applications", content=chunks(), headers=ops), 422)
        assert problem["errors"][0]["field"] == "body"
        response = await gw.post("/api/v1/applications", json={"item": {"a": 1}}, headers=ops)
        assert response.status_code == 202


async def test_rate_limit_is_429_with_retry_after() -> None:
    async with running(make_settings(rate_limit_per_minute=3)) as gw:
        # The dev token calls count against the client address, not against the subjects.
        ops = await dev_token(gw, "ops", "ops-a")
        other = await dev_token(gw, "ops", "ops-b")
        for _ in range(3):
            assert (await gw.get("/api/v1/applications", headers=ops)).status_code == 200
        response = await gw.get("/api/v1/applications", headers=ops)
        assert_problem(response, 429)
        assert int(response.headers["retry-after"]) >= 1
        assert (await gw.get("/api/v1/applications", headers=other)).status_code == 200
        # Without a token, the client address is limited (it spent 2 of 3 on tokens).
        assert_problem(await gw.get("/api/v1/applications"), 401)
        assert_problem(await gw.get("/api/v1/applications"), 429)


async def test_merged_openapi(gw: httpx.AsyncClient) -> None:
    response = await gw.get("/openapi.json")
    assert response.status_code == 200
    document = response.json()
    paths = document["paths"]
    for path in (
        "/api/v1/applications",
        "/api/v1/applications/{application_id}",
        "/api/v1/decisions/{decision_id}/sign",
        "/api/v1/ops/intake/dead-letters",
        "/api/v1/ops/decision/dead-letters",
        "/api/v1/dev/token",
    ):
        assert path in paths, path
    assert "/healthz" not in paths and "/api/v1/internal/things" not in paths
    assert "/api/v1/ops/dead-letters" not in paths

    assert document["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
    }
    assert paths["/api/v1/applications"]["post"]["security"] == [{"bearerAuth": []}]
    assert paths["/api/v1/dev/token"]["post"]["security"] == []
    assert paths["/api/v1/decisions/{decision_id}/sign"]["post"]["x-roles"] == ["specialist"]

    # Clashing `Item`: intake's keeps the name, decision's gets a prefix and its refs follow.
    schemas = document["components"]["schemas"]
    assert schemas["Item"]["properties"].keys() == {"a"}
    assert schemas["decision_Item"]["properties"].keys() == {"b"}
    assert schemas["SignRequest"]["properties"]["item"]["$ref"] == "#/components/schemas/decision_Item"
    assert schemas["Application"]["properties"]["item"]["$ref"] == "#/components/schemas/Item"
    assert "Hidden" not in schemas
    operation_ids = [
        op["operationId"] for item in paths.values() for op in item.values() if isinstance(op, dict)
    ]
    assert len(operation_ids) == len(set(operation_ids))

    # Down (payment_queue, notifier) and timing-out (eligibility) services are named, not fatal.
    description = document["info"]["description"]
    for service in ("eligibility", "payment_queue", "notifier"):
        assert service in description
    assert "intake" not in description.split("Not included")[-1]


async def test_docs_page(gw: httpx.AsyncClient) -> None:
    response = await gw.get("/docs")
    assert response.status_code == 200
    assert "swagger-ui" in response.text and "/openapi.json" in response.text


async def test_upstream_down_is_503_and_timeout_504(gw: httpx.AsyncClient) -> None:
    ops = await dev_token(gw, "ops")
    problem = assert_problem(await gw.get("/api/v1/ops/notifier/dead-letters", headers=ops), 503)
    assert "notifier" in problem["detail"]
    problem = assert_problem(await gw.get("/api/v1/ops/eligibility/dead-letters", headers=ops), 504)
    assert "eligibility" in problem["detail"]


async def test_settings_refuse_production_without_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GATEWAY_JWT_PUBLIC_KEY_FILE", raising=False)
    with pytest.raises(ValidationError, match="GATEWAY_JWKS"):
        GatewaySettings(dev_mode=False)
    with pytest.raises(ValidationError, match="GATEWAY_INTERNAL_SIGNING_KEY_FILE"):
        GatewaySettings(dev_mode=False, jwks="keys.json")
    with pytest.raises(RuntimeError, match="cannot be read"):
        create_app(make_settings(dev_mode=False, jwt_public_key_file=Path("/nonexistent/key.pem"), internal_signing_key_file=KEY_FILE))


async def test_logs_mask_the_subject_and_never_show_the_token(gw: httpx.AsyncClient) -> None:
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        citizen = await dev_token(gw, "citizen", CITIZEN_IIN)
        await gw.get(f"/api/v1/applications/{CITIZEN_IIN}", headers=citizen)
    finally:
        root.removeHandler(handler)
    lines = [record.getMessage() for record in records]
    token = citizen["Authorization"].split()[1]
    assert any(f"citizen:********{CITIZEN_IIN[-4:]}" in line for line in lines), lines
    assert not any(CITIZEN_IIN in line or token in line for line in lines), lines


async def test_merged_openapi_is_not_cached_while_a_service_is_missing() -> None:
    """A service still starting must appear on the next /openapi.json, not 30 s later."""
    from gateway.openapi import MergedOpenAPI

    up = {"ready": False}

    def handler(request: httpx.Request) -> httpx.Response:
        if not up["ready"]:
            raise httpx.ConnectError("starting", request=request)
        paths = {"/api/v1/applications": {"get": {"responses": {"200": {"description": "ok"}}}}}
        return httpx.Response(200, json={"openapi": "3.1.0", "info": {"title": "x", "version": "1"}, "paths": paths})

    merged = MergedOpenAPI(
        lambda: {"openapi": "3.1.0", "info": {"title": "gw", "version": "1"}, "paths": {}},
        {"intake": "http://intake"},
        fetch_timeout_s=1,
        ttl_s=30,
    )
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        assert "/api/v1/applications" not in (await merged.document(client))["paths"]
        up["ready"] = True
        assert "/api/v1/applications" in (await merged.document(client))["paths"]


async def test_a_client_address_has_a_ceiling_whoever_the_tokens_name() -> None:
    """Issue 6 point 10: many subjects from one address (token farming) meet the per-address limit."""
    async with running(make_settings(rate_limit_per_minute=100, address_rate_limit_per_minute=3)) as gw:
        tokens = [await dev_token(gw, "operator", f"op-{n}") for n in range(4)]
        for headers in tokens[:3]:
            assert (await gw.get("/api/v1/applications", headers=headers)).status_code == 200
        response = await gw.get("/api/v1/applications", headers=tokens[3])
        assert_problem(response, 429)
        assert int(response.headers["retry-after"]) >= 1
        # The mobile backend is one address speaking for every phone: its own (system) limit applies instead.
        mobile = await dev_token(gw, "mobile")
        assert (await gw.get("/api/v1/applications", headers=mobile)).status_code == 200


async def test_metrics_count_what_the_outer_middlewares_refuse(gw: httpx.AsyncClient) -> None:
    """A body over the limit is refused before routing; /metrics still counts it, by route template."""
    r = await gw.post("/api/v1/applications", content=b"x" * (70 * 1024), headers={"content-type": "application/json"})
    assert r.status_code == 422
    text = (await gw.get("/metrics")).text
    assert 'emaket_gateway_requests_total{method="POST",route="/api/v1/applications",status_class="4xx"} 1.0' in text
