"""Readiness and the event contract, through the gateway (issue 8 points 4 and 5).

`make run` says "ready" only after the gateway's /readyz answers 200 (tools/run.py, Stack.wait_ready). The
first test starts a stack of its own on a fresh broker and database, waits exactly as `make run` does, and
files a case at once: it must be served without any further waiting on the stack's side.
"""

from __future__ import annotations

import json

import asyncpg
import httpx
import jsonschema
import pytest

from tests.e2e.conftest import FAST_RECOVERY, Api, burial_body, new_iin, new_phone, seed_deceased
from tools.mock_kafka import start_mock_kafka, stop_mock_kafka
from tools.pg import to_asyncpg_dsn
from tools.stack import PROCESSES, Stack, free_ports

pytestmark = pytest.mark.e2e
SERVICES = ("intake", "eligibility", "decision", "payment_queue", "notifier")


@pytest.fixture
def own_stack(fresh_database, tmp_path):
    kafka, bootstrap = start_mock_kafka()
    names = [name for name, _ in PROCESSES]
    database = fresh_database()
    stack = Stack(database, bootstrap, ports=dict(zip(names, free_ports(len(names)))), data_dir=tmp_path / "stack",
                  extra_env={"LOG_LEVEL": "INFO", **FAST_RECOVERY})
    try:
        stack.start()
        yield stack, database
    finally:
        stack.stop()
        stop_mock_kafka(kafka)


async def test_ready_means_a_case_filed_at_once_is_served(own_stack):
    stack, database = own_stack
    answer = stack.wait_ready(timeout=60)  # what make run waits for before it prints "ready"
    assert answer["status"] == "ready"
    assert set(answer["services"]) == set(SERVICES)
    api = Api(stack, to_asyncpg_dsn(database))
    try:
        deceased, fixtures = seed_deceased(died="2026-10-02")
        await api.seed(**fixtures)
        r = await api.submit(burial_body(channel="proactive", applicant_iin=new_iin(), deceased_iin=deceased, phone=new_phone()), role="mobile")
        assert r.status_code == 202, r.text
        # A quiet case takes about a second; 20 s leaves room on a loaded machine, while a consumer still
        # joining its group on a fresh broker (what "ready" rules out) would not make it within the wait.
        app = await api.wait_status(r.json()["id"], {"payment_queued"}, timeout=20)
        assert [h["status"] for h in app["history"]] == ["received", "registered", "assigned", "payment_queued"]
    finally:
        await api.aclose()


async def test_each_service_reports_what_readiness_checked(stack):
    async with httpx.AsyncClient(timeout=10) as http:
        for name in SERVICES:
            r = await http.get(stack.url(name) + "/readyz")
            assert r.status_code == 200, (name, r.text)
            checks = r.json()["checks"]
            assert checks["database"] == "ok" and checks["broker"] == "ok"
            consumers = [key for key in checks if key.startswith("consumer:")]
            assert consumers, (name, checks)  # every service consumes at least one topic
            assert all(checks[key] == "ok" for key in checks), checks


async def test_the_gateway_is_not_ready_while_a_service_is_down(stack):
    async with httpx.AsyncClient(base_url=stack.url("gateway"), timeout=15) as http:
        assert (await http.get("/readyz")).status_code == 200
        stack.stop("notifier")
        try:
            r = await http.get("/readyz")
            assert r.status_code == 503
            assert r.headers["content-type"].startswith("application/problem+json")
            body = r.json()
            assert "notifier" in body["detail"]
            assert body["services"]["notifier"]["status"] == "not-ready"
            assert body["services"]["intake"]["status"] == "ready"
            # Liveness is the gateway's own: it stays up, and so does the rest of the API.
            assert (await http.get("/healthz")).status_code == 200
        finally:
            stack.start_process("notifier")
        stack.wait_ready(timeout=60)


async def test_the_gateway_serves_the_event_contract(stack):
    async with httpx.AsyncClient(base_url=stack.url("gateway"), timeout=15) as http:
        r = await http.get("/asyncapi.json")
    assert r.status_code == 200
    document = r.json()
    assert document["asyncapi"] == "3.0.0"
    assert {c["address"] for c in document["channels"].values()} >= {"applications", "eligibility", "decisions", "payments"}


async def test_every_event_the_stack_wrote_matches_the_contract(api):
    """Every envelope in every service's outbox so far (this package's earlier tests filed cases of all three
    benefits on every channel) validates against its message in /asyncapi.json."""
    deceased, fixtures = seed_deceased(died="2026-10-02")
    await api.seed(**fixtures)
    r = await api.submit(burial_body(channel="proactive", applicant_iin=new_iin(), deceased_iin=deceased, phone=new_phone()), role="mobile")
    await api.wait_status(r.json()["id"], {"payment_queued"})
    async with httpx.AsyncClient(base_url=api.stack.url("gateway"), timeout=15) as http:
        document = (await http.get("/asyncapi.json")).json()
    validators = {}
    for message in document["components"]["messages"].values():
        root = dict(document) | {"$ref": "#/__payload", "__payload": message["payload"]}
        validators[message["title"]] = jsonschema.Draft7Validator(root, format_checker=jsonschema.FormatChecker())
    conn = await asyncpg.connect(api.db_dsn)
    seen: dict[str, int] = {}
    try:
        for schema in SERVICES:
            rows = await conn.fetch(f"SELECT envelope::text AS e FROM {schema}.outbox ORDER BY id DESC LIMIT 3000")
            for row in rows:
                envelope = json.loads(row["e"])
                validator = validators.get(envelope["type"])
                assert validator is not None, f"{schema} wrote {envelope['type']}, which the contract does not name"
                errors = [e.message[:200] for e in validator.iter_errors(envelope)][:3]
                assert not errors, (schema, envelope["type"], errors)
                seen[envelope["type"]] = seen.get(envelope["type"], 0) + 1
    finally:
        await conn.close()
    # At least the whole burial path was checked against real envelopes.
    for name in ("application.received", "application.registered", "eligibility.checked", "decision.signed", "payment.queued"):
        assert any(t.startswith(f"kz.emaket.{name}.") for t in seen), (name, seen)
