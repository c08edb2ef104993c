"""Traces (issue 8 point 3): the W3C context in and out of HTTP, the envelope's extension attributes,
the outside-call CLIENT span, and the settings that turn the exporter on. No personal data in spans."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from opentelemetry.trace import SpanKind

from common import tracing
from common.consumer import ConsumerSpec, EventConsumer
from common.envelope import Envelope, make_event
from common.http import ResilientClient

CALLER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER = f"00-{CALLER_TRACE}-00f067aa0ba902b7-01"
IIN = "790303402568"


def _app() -> FastAPI:
    app = FastAPI()
    tracing.install_tracing(app, "intake")

    @app.get("/api/v1/applications/{application_id}")
    async def read(application_id: str) -> dict:
        return {"traceparent": tracing.current_traceparent()}

    return app


async def test_a_request_continues_the_callers_trace_in_a_server_span_named_by_the_route_template(spans):
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=_app()), base_url="http://t") as client:
        r = await client.get(f"/api/v1/applications/case-1?applicant_iin={IIN}", headers={"traceparent": CALLER})
    assert r.status_code == 200
    (server,) = spans.get_finished_spans()
    assert server.kind == SpanKind.SERVER
    assert server.name == "GET /api/v1/applications/{application_id}"  # the template, never the raw path
    assert server.resource.attributes["service.name"] == "intake"
    assert format(server.context.trace_id, "032x") == CALLER_TRACE
    assert server.parent is not None and format(server.parent.span_id, "016x") == "00f067aa0ba902b7"
    assert server.attributes["emaket.application_id"] == "case-1"
    assert server.attributes["http.response.status_code"] == 200
    assert IIN not in repr(dict(server.attributes)) and IIN not in server.name
    # What the handler sees (and would write to its outbox) is the SERVER span's context.
    assert r.json()["traceparent"] == f"00-{CALLER_TRACE}-{server.context.span_id:016x}-01"


async def test_a_request_without_traceparent_starts_a_trace(spans):
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=_app()), base_url="http://t") as client:
        r = await client.get("/api/v1/applications/case-2", headers={"traceparent": "00-zz-broken-01"})
    (server,) = spans.get_finished_spans()
    assert server.parent is None and r.json()["traceparent"].split("-")[1] == f"{server.context.trace_id:032x}"


async def test_an_outside_call_is_a_client_span_and_sends_its_traceparent(spans):
    seen: list[str | None] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("traceparent"))
        return httpx.Response(200, json={})

    client = ResilientClient(system="egov", base_url="http://egov", transport=httpx.MockTransport(answer))
    with tracing.span("job registry check", parent=tracing.context_from(CALLER)):
        await client.request("GET", f"/egov/persons/{IIN}", headers={"accept": "application/json"})
    await client.aclose()
    call = next(s for s in spans.get_finished_spans() if s.kind == SpanKind.CLIENT)
    assert call.name == "GET egov" and call.attributes["emaket.external.endpoint"] == "egov"
    assert seen == [f"00-{CALLER_TRACE}-{call.context.span_id:016x}-01"]
    assert IIN not in repr(dict(call.attributes))


def test_the_envelope_carries_trace_attributes_only_when_set_and_never_refuses_a_bad_one():
    event = make_event("thing.happened", source="s", subject="case-1", data={"n": 1})
    assert "traceparent" not in event.model_dump(mode="json")  # outside a trace: the envelope as before
    dumped = event.model_dump(mode="json") | {"traceparent": 12, "tracestate": "x" * 600}
    read = Envelope.model_validate(dumped)  # malformed extension attributes are dropped, not poison
    assert read.traceparent is None and read.tracestate is None
    consumer = EventConsumer(
        spec=ConsumerSpec(group="g", topics=["t"], handlers={"thing.happened": _noop}),
        bootstrap="unused", sessions=None, tables=None, service="s",  # type: ignore[arg-type]
    )
    admitted = consumer.admit(Envelope.model_validate(dumped | {"traceparent": CALLER}).to_bytes())
    assert admitted.traceparent == CALLER


async def _noop(session, event) -> None:
    return None


def test_the_exporter_is_on_only_when_the_otel_settings_ask(monkeypatch):
    for name in ("OTEL_TRACES_EXPORTER", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    assert not tracing.exporting()
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318")
    assert tracing.exporting()
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "none")
    assert not tracing.exporting()
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "otlp")
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT")
    assert tracing.exporting()


def test_without_an_exporter_the_context_still_travels_but_nothing_is_recorded(monkeypatch):
    for name in ("OTEL_TRACES_EXPORTER", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_SDK_DISABLED"):
        monkeypatch.delenv(name, raising=False)
    tracing.reset()
    try:
        tracing.install_tracing(FastAPI(), "decision")
        with tracing.span("process x", parent=tracing.context_from(CALLER)) as current:
            assert not current.is_recording()
            traceparent = tracing.current_traceparent()
        assert traceparent is not None and traceparent.split("-")[1] == CALLER_TRACE and traceparent.endswith("-00")
    finally:
        tracing.reset()


def test_otel_sdk_disabled_turns_it_off(monkeypatch):
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    tracing.reset()
    try:
        app = FastAPI()
        tracing.install_tracing(app, "decision")
        assert not any(m.cls is tracing.TracingMiddleware for m in app.user_middleware)
        with tracing.span("root"):
            assert tracing.current_traceparent() is None
    finally:
        tracing.reset()


def test_quiet_work_records_nothing_but_keeps_the_trace(spans):
    """A repeated poll (payment_queue's paid check) stays out of the case's trace, yet its calls carry it."""
    parent = tracing.context_from(CALLER)
    with tracing.quiet(), tracing.span("job payment poll", parent=parent):
        inside = tracing.current_traceparent()
    with tracing.span("job payment paid", parent=parent):
        pass
    assert [s.name for s in spans.get_finished_spans()] == ["job payment paid"]
    assert inside is not None and inside.split("-")[1] == CALLER_TRACE
