"""One case is one trace (issue 8 point 3): the W3C context travels from the gateway through the
outbox, Kafka headers and every consumer into the durable jobs and the outside calls.

The whole-case test runs the gateway, the five services and the sandbox in this one process, each
served by its own uvicorn server on a loopback port, all sharing one in-memory exporter. Each app
keeps its own service.name (common/tracing.py gives every service its own tracer provider), and
nothing passes between them but HTTP, PostgreSQL and a Kafka mock cluster of its own: the context
only arrives where headers and envelopes carry it. (The e2e stack runs separate processes, whose
in-memory spans a test cannot read.)
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

import httpx
import uvicorn
from aiokafka import AIOKafkaConsumer
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind
from sqlalchemy import Column, MetaData, Table, Text, insert, select, text
from starlette.types import ASGIApp, Receive, Scope, Send

from common import tracing
from common.consumer import ConsumerSpec, EventConsumer
from common.db import make_engine, make_session_factory
from common.envelope import make_event
from common.internal_auth import dev_paths
from common.outbox import add_event, messaging_tables
from common.relay import OutboxRelay, make_producer
from tools.mock_kafka import start_mock_kafka, stop_mock_kafka
from tools.stack import free_ports

SCHEMA = "tracetest"
SERVICES = ("intake", "eligibility", "decision", "payment_queue", "notifier")


def _hex(span: ReadableSpan) -> tuple[str, str]:
    return format(span.context.trace_id, "032x"), format(span.context.span_id, "016x")


# --- the messaging hops on their own --------------------------------------------------------


async def test_the_envelope_and_the_kafka_header_carry_the_trace_and_each_consumer_span_is_its_child(
    spans, fresh_database, kafka_bootstrap
):
    url = fresh_database()
    metadata = MetaData(schema=SCHEMA)
    tables = messaging_tables(metadata)
    effects = Table("effects", metadata, Column("event_id", Text), Column("traceparent", Text))
    engine = make_engine(url, schema=SCHEMA)
    async with engine.begin() as conn:
        await conn.execute(text(f"CREATE SCHEMA {SCHEMA}"))
        await conn.run_sync(metadata.create_all)  # a test-only schema: services migrate with Alembic
    sessions = make_session_factory(engine)
    producer = make_producer(kafka_bootstrap, client_id="tracetest")
    await producer.start()
    topic, answers = f"t-{uuid.uuid4().hex[:8]}", f"a-{uuid.uuid4().hex[:8]}"
    try:
        # A request writes two events in one transaction, inside its SERVER span.
        with tracing.span("POST /things", kind=SpanKind.SERVER) as root:
            async with sessions() as s, s.begin():
                for n in range(2):
                    await add_event(s, tables, topic, make_event("thing.happened", source=SCHEMA, subject="case-1", data={"n": n}))
        trace_id, root_span_id = format(root.get_span_context().trace_id, "032x"), format(root.get_span_context().span_id, "016x")
        async with sessions() as s:
            envelopes = (await s.execute(select(tables.outbox.c.envelope).order_by(tables.outbox.c.id))).scalars().all()
        assert [e["traceparent"] for e in envelopes] == [f"00-{trace_id}-{root_span_id}-01"] * 2

        relay = OutboxRelay(sessions=sessions, tables=tables, producer=producer, service=SCHEMA, interval_s=0.01)
        assert await relay.publish_batch() == 2
        records = await _read(kafka_bootstrap, topic, 2)
        assert [dict(r.headers)["traceparent"].decode() for r in records] == [f"00-{trace_id}-{root_span_id}-01"] * 2

        async def handler(session, event) -> None:
            # Whatever the handler writes carries the consumer span's context.
            await session.execute(insert(effects).values(event_id=str(event.id), traceparent=tracing.current_traceparent()))
            await add_event(session, tables, answers, make_event("thing.answered", source=SCHEMA, subject="case-1", data={}))

        consumer = EventConsumer(
            spec=ConsumerSpec(group=f"g-{uuid.uuid4().hex[:8]}", topics=[topic], handlers={"thing.happened": handler}),
            bootstrap=kafka_bootstrap, sessions=sessions, tables=tables, service=SCHEMA,
        )
        await consumer.process_many(records)  # both in one transaction (handle_many), each in its own span
        assert consumer.handled == 2 and consumer.batch_fallbacks == 0
    finally:
        await producer.stop()

    handled = [s for s in spans.get_finished_spans() if s.kind == SpanKind.CONSUMER]
    assert [s.name for s in handled] == ["process thing.happened"] * 2
    assert {_hex(s)[0] for s in handled} == {trace_id}
    assert all(s.parent is not None and format(s.parent.span_id, "016x") == root_span_id for s in handled)
    assert len({_hex(s)[1] for s in handled}) == 2  # one span per event, though one transaction
    async with sessions() as s:
        written = set((await s.execute(select(effects.c.traceparent))).scalars().all())
        answered = (await s.execute(select(tables.outbox.c.envelope).where(tables.outbox.c.topic == answers))).scalars().all()
    await engine.dispose()
    assert written == {f"00-{trace_id}-{_hex(s)[1]}-01" for s in handled}
    assert {e["traceparent"] for e in answered} == written


async def test_a_kafka_header_alone_is_enough_for_the_consumer_to_continue_the_trace(spans, fresh_database, kafka_bootstrap):
    """A producer that sets only the header (not the envelope attribute) is continued as well."""
    url = fresh_database()
    metadata = MetaData(schema=SCHEMA)
    tables = messaging_tables(metadata)
    engine = make_engine(url, schema=SCHEMA)
    async with engine.begin() as conn:
        await conn.execute(text(f"CREATE SCHEMA {SCHEMA}"))
        await conn.run_sync(metadata.create_all)
    producer = make_producer(kafka_bootstrap, client_id="tracetest")
    await producer.start()
    topic, caller = f"t-{uuid.uuid4().hex[:8]}", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    try:
        event = make_event("thing.happened", source=SCHEMA, subject="case-2", data={})
        await producer.send_and_wait(topic, event.to_bytes(), key=b"case-2", headers=[("traceparent", caller.encode())])
        records = await _read(kafka_bootstrap, topic, 1)

        async def handler(session, event) -> None:
            return None

        consumer = EventConsumer(
            spec=ConsumerSpec(group=f"g-{uuid.uuid4().hex[:8]}", topics=[topic], handlers={"thing.happened": handler}),
            bootstrap=kafka_bootstrap, sessions=make_session_factory(engine), tables=tables, service=SCHEMA,
        )
        await consumer.process_many(records)
    finally:
        await producer.stop()
        await engine.dispose()
    (handled,) = [s for s in spans.get_finished_spans() if s.kind == SpanKind.CONSUMER]
    assert _hex(handled)[0] == "0af7651916cd43dd8448eb211c80319c"
    assert handled.parent is not None and format(handled.parent.span_id, "016x") == "b7ad6b7169203331"


async def _read(bootstrap: str, topic: str, n: int, timeout: float = 20.0) -> list:
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", group_id=None)
    await consumer.start()
    got: list = []
    try:
        deadline = time.monotonic() + timeout
        while len(got) < n and time.monotonic() < deadline:
            for messages in (await consumer.getmany(timeout_ms=300)).values():
                got += messages
    finally:
        await consumer.stop()
    assert len(got) == n
    return got


# --- one case through the whole system ------------------------------------------------------


class Recorder:
    """Wraps the sandbox: which trace each outside call arrived with (method, path, traceparent)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.calls: list[tuple[str, str, str | None]] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            traceparent = dict(scope["headers"]).get(b"traceparent")
            self.calls.append((scope["method"], scope["path"], traceparent.decode() if traceparent else None))
        await self.app(scope, receive, send)


@asynccontextmanager
async def served(app: ASGIApp, port: int) -> AsyncIterator[None]:
    """``app`` with its lifespan, on 127.0.0.1:``port``, in this process."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="on", log_level="warning", access_log=False))
    task = asyncio.create_task(server.serve())
    deadline = time.monotonic() + 120
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError(f"the app on port {port} did not start")
        assert time.monotonic() < deadline, f"the app on port {port} did not start in time"
        await asyncio.sleep(0.05)
    try:
        yield
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 60)


def _settings(service: str, *, url: str, bootstrap: str, data_dir: Path, sandbox: str):
    module = __import__(f"services.{service}.settings", fromlist=["x"])
    cls = next(v for k, v in vars(module).items() if k.endswith("Settings") and k != "ServiceSettings")
    return cls(
        DATABASE_URL=url, KAFKA_BOOTSTRAP_SERVERS=bootstrap, DEV_MODE=True, DATA_DIR=data_dir, SANDBOX_URL=sandbox,
        INTERNAL_JWKS=str(dev_paths(data_dir)[1]), LOG_LEVEL="WARNING", KAFKA_SESSION_TIMEOUT_MS=3000,
        KAFKA_HEARTBEAT_INTERVAL_MS=500, HTTP_BREAKER_RESET_S=1, PAYMENTS_PAID_POLL_S=0.5,
    )


# The README's burial case: a pensioner, his son (birth record) and the son's own account: paid by itself.
FIXTURES = {
    "persons": [{"iin": "410314300012", "last_name": "Ахметов", "first_name": "Серік", "birth_date": "1941-03-14"}],
    "deaths": [{"iin": "410314300012", "date": "2026-11-20"}],
    "recipients": [{"iin": "410314300012", "kind": "age_pension", "from": "2001-03-14", "to": None}],
    "births": [{"child_iin": "790303402568", "father_iin": "410314300012", "date": "1979-03-03"}],
    "bank_accounts": [{"iin": "790303402568", "iban": "KZ86125KZT5004100100"}],
}
BODY = {
    "benefit": "burial", "channel": "proactive", "applicant": {"iin": "790303402568"}, "phone": "+77011234567",
    "consents": {"personal_data": True, "proactive": True}, "bank_account": {"iban": "KZ86125KZT5004100100"},
    "deceased_iin": "410314300012",
}
PERSONAL = re.compile(r"\d{12}|\+7\d{10}|KZ\d{2}[0-9A-Z]{13}|Ахметов|Серік")
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")  # its last group may be 12 digits
OUTSIDE = {"/egov/": "egov", "/payments-db/": "payments", "/sms-gateway/": "sms"}


async def test_one_case_is_one_trace_across_the_gateway_all_five_services_and_the_outside_calls(
    spans, fresh_database, tmp_path
):
    from gateway.app import create_app as create_gateway
    from gateway.settings import GatewaySettings
    from sandbox.app import SandboxSettings
    from sandbox.app import create_app as create_sandbox

    url = fresh_database()
    kafka, bootstrap = start_mock_kafka()  # a broker of its own: no other test's events reach these consumers
    ports = dict(zip(("sandbox", "gateway", *SERVICES), free_ports(2 + len(SERVICES)), strict=True))
    base = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    sandbox = Recorder(create_sandbox(settings=SandboxSettings(DEV_MODE=True)))
    gateway = create_gateway(  # first: in dev mode it writes the internal key set the services trust
        GatewaySettings(DEV_MODE=True, DATA_DIR=tmp_path, LOG_LEVEL="WARNING", **{f"GATEWAY_{s.upper()}_URL": base[s] for s in SERVICES})
    )
    try:
        async with AsyncExitStack() as stack:
            await stack.enter_async_context(served(sandbox, ports["sandbox"]))
            for service in SERVICES:
                app = __import__(f"services.{service}.app", fromlist=["x"]).create_app(
                    _settings(service, url=url, bootstrap=bootstrap, data_dir=tmp_path, sandbox=base["sandbox"])
                )
                await stack.enter_async_context(served(app, ports[service]))
            await stack.enter_async_context(served(gateway, ports["gateway"]))
            async with httpx.AsyncClient(base_url=base["gateway"], timeout=30, trust_env=False) as gw, httpx.AsyncClient(
                base_url=base["sandbox"], timeout=30, trust_env=False
            ) as box:
                (await box.post("/sandbox/fixtures", json=FIXTURES)).raise_for_status()
                token = (await gw.post("/api/v1/dev/token", json={"role": "mobile"})).json()["access_token"]
                auth = {"Authorization": f"Bearer {token}"}
                r = await gw.post("/api/v1/applications", json=BODY, headers=auth | {"Idempotency-Key": "trace-1"})
                assert r.status_code == 202, r.text
                app_id = r.json()["id"]
                await _until_done(gw, box, auth, app_id)
    finally:
        stop_mock_kafka(kafka)

    finished = spans.get_finished_spans()
    filing = [
        s for s in finished
        if s.resource.attributes["service.name"] == "gateway" and s.kind == SpanKind.SERVER
        and s.attributes.get("http.request.method") == "POST" and s.attributes.get("http.route") == "/api/v1/{path:path}"
    ]
    assert len(filing) == 1, [s.name for s in finished]
    trace_id = _hex(filing[0])[0]
    case = [s for s in finished if _hex(s)[0] == trace_id]
    by_service: dict[str, set[str]] = {}
    for s in case:
        by_service.setdefault(s.resource.attributes["service.name"], set()).add(s.name)
    assert set(by_service) == {"gateway", *SERVICES}, by_service
    assert "POST /api/v1/applications" in by_service["intake"]
    assert {"process application.received", "job registry check"} <= by_service["eligibility"]
    assert {"process eligibility.checked", "process application.registered"} <= by_service["decision"]
    assert {"process decision.signed", "job payment order", "job payment paid"} <= by_service["payment_queue"]
    # Polls that found the order not yet paid record nothing (they repeat for days in production).
    assert "job payment poll" not in {s.name for s in finished}
    assert sum(1 for s in case if s.name == "job payment paid") == 1
    assert {"job sms message"} <= by_service["notifier"]
    assert {"process payment.queued", "process payment.paid"} <= by_service["intake"]
    calls = {s.attributes["emaket.external.system"] for s in case if s.kind == SpanKind.CLIENT}
    assert calls == {"egov", "payments", "sms"}

    # Every span the case's events and jobs made is in that one trace, none started a trace of its own.
    of_case = [s for s in finished if s.attributes.get("emaket.application_id") == app_id and s.kind != SpanKind.SERVER]
    assert of_case and {_hex(s)[0] for s in of_case} == {trace_id}
    # The outside systems received the case's trace id on every call.
    outside = [(m, p, tp) for m, p, tp in sandbox.calls if any(p.startswith(prefix) for prefix in OUTSIDE)]
    assert {OUTSIDE[next(x for x in OUTSIDE if p.startswith(x))] for _, p, _ in outside} == {"egov", "payments", "sms"}
    assert all(tp is not None and tp.split("-")[1] == trace_id for _, _, tp in outside), outside
    # No personal data in span names or attributes.
    for s in finished:
        shown = UUID.sub("<id>", s.name + json.dumps({k: str(v) for k, v in (s.attributes or {}).items()}, ensure_ascii=False))
        assert not PERSONAL.search(shown), shown


async def _until_done(gw: httpx.AsyncClient, box: httpx.AsyncClient, auth: dict, app_id: str) -> None:
    """Queued for payment with all three SMS sent; then the payments database pays and intake hears of it."""
    await _until(gw, box, auth, app_id, lambda status, sms: status == "payment_queued" and len(sms) >= 3)
    (order,) = [p for p in (await box.get("/sandbox/payments")).json()["items"] if p["application_id"] == app_id]
    (await box.post(f"/sandbox/payments/{order['decision_id']}/paid")).raise_for_status()
    await _until(gw, box, auth, app_id, lambda status, sms: status == "paid")
    await asyncio.sleep(0.5)  # let the last spans end


async def _until(gw: httpx.AsyncClient, box: httpx.AsyncClient, auth: dict, app_id: str, done, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while True:
        status = (await gw.get(f"/api/v1/applications/{app_id}", headers=auth)).json().get("status")
        sms = (await box.get("/sandbox/sms", params={"phone": BODY["phone"]})).json()["items"]
        if done(status, sms):
            return
        assert time.monotonic() < deadline, f"the case stayed {status!r} with {len(sms)} SMS"
        await asyncio.sleep(0.3)
