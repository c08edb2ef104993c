"""Hostile input to every operation of every service and of the gateway (issue 6 point 6).

The five services run in process on a real PostgreSQL database; each operation their own
OpenAPI document lists is sent each hostile input and must answer a 422 problem naming the
field, with the request id, before any handler runs. An unexpected exception is a 500 problem
with the request id and nothing of the exception. Every operation documents those answers.
"""

from __future__ import annotations

import importlib
import json
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.responses import PlainTextResponse

from common.problems import BODY_TOO_LARGE_STATUS, DEFAULT_MAX_BODY_BYTES, MAX_HEADER_VALUE_BYTES
from gateway.app import create_app as create_gateway
from tests.callers import caller_headers
from tests.integration.test_gateway import Upstreams, dev_token, fake_decision, fake_intake, make_settings
from tools.pg import create_database, drop_database, with_database

PROBLEM = "application/problem+json"
SERVICES = {
    "intake": "IntakeSettings",
    "eligibility": "EligibilitySettings",
    "decision": "DecisionSettings",
    "payment_queue": "PaymentQueueSettings",
    "notifier": "NotifierSettings",
}
# A role each operation lets through, so that a refusal can only come from the input itself.
ROLE_FOR = {("post", "/api/v1/applications"): "mobile", ("post", "/api/v1/applications/{application_id}/documents"): "operator"}

# Each hostile body, and the field the 422 must name.
HOSTILE_BODIES = [
    pytest.param(b'{"note": NaN}', "note", id="nan"),
    pytest.param(b'{"a": {"b": [1, -Infinity]}}', "a.b[1]", id="infinity"),
    pytest.param(b'{"amount": 1e400}', "amount", id="1e400"),
    pytest.param(b'{"amount": 12345678901234567890123}', "amount", id="huge-integer"),
    pytest.param(b'{"note": "a\\u0000b"}', "note", id="nul"),
    pytest.param(b'{"note": "\\ud800"}', "note", id="lone-surrogate"),
    pytest.param(b'{"deep": ' + b"[" * 40 + b"]" * 40 + b"}", "deep" + "[0]" * 32, id="deep-nesting"),
    pytest.param(b'{"note": "\xff"}', "body", id="not-utf8"),
    pytest.param(b"x" * (DEFAULT_MAX_BODY_BYTES + 1), "body", id="too-large"),
]
HOSTILE_HEADERS = [
    pytest.param([(b"idempotency-key", "ключ".encode())], "header.idempotency-key", id="non-ascii"),
    pytest.param([(b"accept", b"a" * (MAX_HEADER_VALUE_BYTES + 1))], "header.accept", id="oversized"),
]


class Service:
    def __init__(self, name: str, app: FastAPI, http: httpx.AsyncClient) -> None:
        self.name, self.app, self.http = name, app, http

    def operations(self) -> list[tuple[str, str]]:
        document = self.app.openapi()
        return [
            (method, path)
            for path, item in document["paths"].items()
            if path.startswith("/api/")
            for method in item
            if method in ("get", "post", "put", "patch", "delete")
        ]

    def headers(self, method: str, path: str) -> dict[str, str]:
        return caller_headers(ROLE_FOR.get((method, path), "ops"), service=self.name)


@pytest.fixture(scope="module")
async def services(pg_admin_url, kafka_bootstrap, tmp_path_factory) -> AsyncIterator[dict[str, Service]]:
    name = f"emaket_hostile_{uuid.uuid4().hex[:10]}"
    create_database(pg_admin_url, name)
    url = with_database(pg_admin_url, name)
    data_dir = tmp_path_factory.mktemp("hostile")
    try:
        with pytest.MonkeyPatch.context() as patch:
            async with AsyncExitStack() as stack:
                running: dict[str, Service] = {}
                for service, settings_class in SERVICES.items():
                    module = importlib.import_module(f"services.{service}.app")
                    # No consumer loops or workers: only the HTTP surface is under test.
                    patch.setattr(module, "consumers", lambda runtime: [], raising=False)
                    patch.setattr(module, "workers", lambda runtime: {}, raising=False)
                    settings_module = importlib.import_module(f"services.{service}.settings")
                    settings = getattr(settings_module, settings_class)(
                        DATABASE_URL=url, KAFKA_BOOTSTRAP_SERVERS=kafka_bootstrap, DEV_MODE=True, DATA_DIR=data_dir
                    )
                    app = module.create_app(settings)
                    await stack.enter_async_context(app.router.lifespan_context(app))
                    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
                    http = await stack.enter_async_context(httpx.AsyncClient(transport=transport, base_url=f"http://{service}"))
                    running[service] = Service(service, app, http)
                yield running
    finally:
        drop_database(pg_admin_url, name)


def published(service: str) -> dict[tuple[str, str], dict[str, Any]]:
    """(method, path) -> operation, for every /api/ operation of the service's own OpenAPI document.

    Read from the app itself (built, not started), so an operation added later is tested too.
    """
    module = importlib.import_module(f"services.{service}.app")
    settings_module = importlib.import_module(f"services.{service}.settings")
    settings = getattr(settings_module, SERVICES[service])(
        DATABASE_URL="postgresql+asyncpg://unused/unused", KAFKA_BOOTSTRAP_SERVERS="unused:9092", DEV_MODE=True
    )
    document = module.create_app(settings).openapi()
    return {
        (method, path): operation
        for path, item in document["paths"].items()
        if path.startswith("/api/")
        for method, operation in item.items()
        if method in ("get", "post", "put", "patch", "delete")
    }


OPERATIONS = {service: published(service) for service in SERVICES}


def every_operation() -> list[Any]:
    return [
        pytest.param(service, method, path, id=f"{service}:{method.upper()} {path}")
        for service, operations in OPERATIONS.items()
        for method, path in operations
    ]


def concrete(service: str, method: str, path: str) -> str:
    """The path with a plausible value in each parameter (the guard answers before any lookup)."""
    kinds = {
        p["name"]: p.get("schema", {})
        for p in OPERATIONS[service][(method, path)].get("parameters", [])
        if p.get("in") == "path"
    }

    def value(match: re.Match[str]) -> str:
        schema = kinds.get(match.group(1), {})
        if schema.get("type") == "integer":
            return "1"
        return str(uuid.uuid4()) if schema.get("format") == "uuid" else "x"

    return re.sub(r"\{([^}]*)\}", value, path)


def assert_problem(response: httpx.Response, status: int, field: str, request_id: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM), response.headers
    problem = response.json()
    assert problem["status"] == status and problem["request_id"] == request_id, problem
    assert response.headers["x-request-id"] == request_id
    assert [e["field"] for e in problem["errors"]] == [field], problem
    return problem


def test_every_service_publishes_operations():
    """The operations under test come from the services' own documents; an empty one would test nothing."""
    for service, operations in OPERATIONS.items():
        assert ("get", "/api/v1/ops/dead-letters") in operations, service
    assert ("post", "/api/v1/decisions/{decision_id}/sign") in OPERATIONS["decision"]
    assert ("post", "/api/v1/applications/{application_id}/documents") in OPERATIONS["intake"]


@pytest.mark.parametrize(("service", "method", "path"), every_operation())
@pytest.mark.parametrize(("body", "field"), HOSTILE_BODIES)
async def test_hostile_body_is_422_naming_the_field(services, service, method, path, body, field):
    s = services[service]
    request_id = f"hostile-{uuid.uuid4().hex[:8]}"
    headers = s.headers(method, path) | {"content-type": "application/json", "x-request-id": request_id}
    response = await s.http.request(method.upper(), concrete(service, method, path), content=body, headers=headers)
    status = BODY_TOO_LARGE_STATUS if len(body) > DEFAULT_MAX_BODY_BYTES else 422
    assert_problem(response, status, field, request_id)


@pytest.mark.parametrize(("service", "method", "path"), every_operation())
@pytest.mark.parametrize(("extra", "field"), HOSTILE_HEADERS)
async def test_hostile_header_is_422_naming_it(services, service, method, path, extra, field):
    s = services[service]
    request_id = f"hostile-{uuid.uuid4().hex[:8]}"
    headers = [(k.lower().encode(), v.encode()) for k, v in s.headers(method, path).items()]
    headers += [(b"x-request-id", request_id.encode()), *extra]
    response = await s.http.request(method.upper(), concrete(service, method, path), headers=headers)
    assert_problem(response, 422, field, request_id)


def string_path_parameters() -> list[Any]:
    """Operations with a free string path parameter (a NUL there would reach the database)."""
    found = []
    for service, operations in OPERATIONS.items():
        for (method, path), operation in operations.items():
            for p in operation.get("parameters", []):
                if p.get("in") == "path" and p.get("schema", {}).get("type") == "string" and "format" not in p.get("schema", {}):
                    found.append(pytest.param(service, method, path, p["name"], id=f"{service}:{method.upper()} {path}:{p['name']}"))
    return found


@pytest.mark.parametrize(("service", "method", "path", "name"), string_path_parameters())
async def test_nul_in_the_path_is_422(services, service, method, path, name):
    s = services[service]
    url = concrete(service, method, path).replace("/x/", "/a%00b/", 1) if "/x/" in concrete(service, method, path) else None
    assert url, "the parameter's placeholder is not in the path"
    response = await s.http.request(method.upper(), url, headers=s.headers(method, path) | {"x-request-id": "p-1"})
    assert_problem(response, 422, "path", "p-1")


@pytest.mark.parametrize("service", SERVICES)
async def test_an_unexpected_exception_is_a_500_problem_with_the_request_id_and_no_internals(services, service):
    s = services[service]
    runtime = s.app.state.runtime
    real = runtime.sessions

    def broken() -> Any:
        raise RuntimeError("secret internals: postgresql://user:password@db")

    runtime.sessions = broken
    # raise_app_exceptions=True: an exception that escaped the app would make the server close the
    # connection after the answer (the gateway's next request on it: a 502); it must be answered inside.
    transport = httpx.ASGITransport(app=s.app, raise_app_exceptions=True)
    try:
        async with httpx.AsyncClient(transport=transport, base_url=f"http://{service}") as http:
            response = await http.get("/api/v1/ops/dead-letters", headers=s.headers("get", ""))
    finally:
        runtime.sessions = real
    assert response.status_code == 500, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    problem = response.json()
    # No X-Request-Id was sent: the service made one, named it in the problem and in the header.
    assert problem["request_id"] and problem["request_id"] == response.headers.get("x-request-id"), (problem, response.headers)
    assert "secret" not in response.text and "RuntimeError" not in response.text


@pytest.mark.parametrize("service", SERVICES)
async def test_the_service_documents_its_problem_answers(services, service):
    s = services[service]
    response = await s.http.get("/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert "HTTPValidationError" not in document["components"]["schemas"]
    assert document["components"]["schemas"]["ProblemDetails"]["required"] == ["type", "title", "status", "detail"]
    operations = [(p, m, op) for p, item in document["paths"].items() if p.startswith("/api/") for m, op in item.items()]
    assert operations
    for path, method, operation in operations:
        responses = operation["responses"]
        assert {"401", "403", "422", "500"} <= responses.keys(), (method, path, sorted(responses))
        for code, answer in responses.items():
            if code[0] in "45":
                assert answer["content"] == {PROBLEM: {"schema": {"$ref": "#/components/schemas/ProblemDetails"}}}, (method, path, code)


# --- the gateway -----------------------------------------------------------------------------------


def fake_bare_errors() -> FastAPI:
    """An upstream whose errors are not problem details (e.g. its HTTP server's own bare 400)."""
    app = FastAPI()

    @app.get("/api/v1/ops/dead-letters")
    async def bare() -> PlainTextResponse:
        return PlainTextResponse("Invalid HTTP request received.", status_code=400)

    return app


@pytest.fixture
async def gateway() -> AsyncIterator[httpx.AsyncClient]:
    upstreams = Upstreams({"intake": fake_intake(), "decision": fake_decision(), "notifier": fake_bare_errors()})
    app = create_gateway(make_settings(notifier_url="http://notifier"), transport=upstreams)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw") as client:
            yield client


@pytest.mark.parametrize(("body", "field"), HOSTILE_BODIES)
async def test_the_gateway_refuses_hostile_bodies_before_forwarding(gateway, body, field):
    headers = await dev_token(gateway, "mobile") | {"content-type": "application/json", "x-request-id": "gw-1"}
    response = await gateway.post("/api/v1/applications", content=body, headers=headers)
    status = BODY_TOO_LARGE_STATUS if len(body) > DEFAULT_MAX_BODY_BYTES else 422
    problem = assert_problem(response, status, field, "gw-1")
    assert "headers" not in problem  # the fake intake echoes what it got: nothing reached it


@pytest.mark.parametrize(("extra", "field"), HOSTILE_HEADERS)
async def test_the_gateway_refuses_hostile_headers(gateway, extra, field):
    token = await dev_token(gateway, "mobile")
    headers = [(b"authorization", token["Authorization"].encode()), (b"x-request-id", b"gw-2"), *extra]
    response = await gateway.post("/api/v1/applications", json={"item": {"a": 1}}, headers=headers)
    assert_problem(response, 422, field, "gw-2")


async def test_the_gateway_refuses_a_nul_in_the_query(gateway):
    # The fake intake behind it takes any query: only the guard can refuse this one.
    headers = await dev_token(gateway, "ops") | {"x-request-id": "gw-4"}
    response = await gateway.get("/api/v1/applications?applicant_iin=a%00b", headers=headers)
    assert_problem(response, 422, "query.applicant_iin", "gw-4")


async def test_the_gateway_turns_a_bare_upstream_error_into_a_problem(gateway):
    response = await gateway.get("/api/v1/ops/notifier/dead-letters", headers=await dev_token(gateway, "ops") | {"x-request-id": "gw-3"})
    assert response.status_code == 400
    assert response.headers["content-type"].startswith(PROBLEM)
    assert response.json()["request_id"] == "gw-3" and response.headers["x-request-id"] == "gw-3"
    assert "Invalid HTTP request" not in response.text


async def test_the_merged_document_lists_every_problem_answer(gateway):
    document = (await gateway.get("/openapi.json")).json()
    schemas = document["components"]["schemas"]
    assert "ProblemDetails" in schemas and "HTTPValidationError" not in schemas
    for path, item in document["paths"].items():
        for method, operation in item.items():
            responses = operation["responses"]
            expected = {"422", "429", "500"}
            if operation.get("security") != []:
                expected |= {"401", "403", "502", "503", "504"}
            else:  # the dev token route: no token needed, nothing forwarded
                assert not {"401", "403", "502"} & responses.keys(), (method, path)
            if method == "post":
                expected.add("409")
            assert expected <= responses.keys(), (method, path, sorted(responses))
            for code, answer in responses.items():
                if code[0] in "45":
                    assert answer["content"] == {PROBLEM: {"schema": {"$ref": "#/components/schemas/ProblemDetails"}}}, (method, path, code)
    assert json.dumps(document).count("HTTPValidationError") == 0
