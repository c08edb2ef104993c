"""OpenTelemetry traces across the gateway, the outbox, Kafka and outside calls (issue 8 point 3).

One case is one trace. The W3C trace context (``traceparent``, ``tracestate``) travels:

* HTTP in: ``TracingMiddleware`` continues the caller's context in a SERVER span named by the
  route template (never the raw path: it holds application ids and IINs);
* gateway → service: ``gateway/proxy.py`` puts ``traceparent`` on the upstream request;
* outbox: ``common/outbox.add_event`` stores the current context in the envelope as the CloudEvents
  distributed-tracing extension attributes, and the relay also sends it as a Kafka header;
* consumers: every event's handler runs in a CONSUMER span whose parent is that context, so what
  the handler writes to its outbox carries the same trace;
* durable jobs: the row keeps the enqueuing context (a ``traceparent`` column) and the worker runs
  the job in a span under it (``common/jobs.traced``);
* outside calls: ``common/http.ResilientClient`` makes a CLIENT span per call and sends ``traceparent``.

Settings are the standard ``OTEL_*`` variables. Nothing is exported unless ``OTEL_TRACES_EXPORTER=otlp``
or an OTLP endpoint (``OTEL_EXPORTER_OTLP_ENDPOINT``, ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``) is set; the
OTLP/HTTP exporter reads the rest itself (headers, timeout, compression), the sampler comes from
``OTEL_TRACES_SAMPLER`` (default: parent-based, always on). Without an exporter the context is still
made and passed on (span ids, sampled flag off) but no span is recorded: a few microseconds per hop.
``OTEL_SDK_DISABLED=true`` turns all of it off. Spans carry no personal data: names are route
templates, event names, job and system names; the only case attribute is the application id.
"""

from __future__ import annotations

import logging
import os
import random
import re
from collections.abc import Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from typing import Any

from fastapi import FastAPI
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ALWAYS_ON, Sampler
from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind, Status, StatusCode, TraceFlags, TraceState
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)

__all__ = [
    "SpanKind",
    "context_from",
    "current_traceparent",
    "inject_headers",
    "install_tracing",
    "quiet",
    "span",
    "use_exporter",
]

# W3C Trace Context level 1: version 00, 32 hex trace id, 16 hex span id, 2 hex flags; not all zeros.
_TRACEPARENT = re.compile(r"00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})")
_ZERO_TRACE, _ZERO_SPAN = "0" * 32, "0" * 16
MAX_TRACESTATE = 512
_INSTRUMENTATION = "emaket"
# Path parameters that may become span attributes: identifiers of cases, never of people.
_SAFE_PATH_PARAMS = ("application_id", "decision_id")

# The service whose spans the current task makes: set per request by the middleware and for the
# lifespan (so the relay, consumers and workers it starts inherit it). One process runs one service
# in production; the tracing test runs all of them in one process, each with its own service.name.
_service: ContextVar[str | None] = ContextVar("emaket_trace_service", default=None)
# Inside ``quiet()``: spans only carry the context on (same trace, nothing recorded).
_quiet: ContextVar[bool] = ContextVar("emaket_trace_quiet", default=False)


class _State:
    """What ``install_tracing`` set up, once per process (``use_exporter`` replaces it for tests)."""

    def __init__(self) -> None:
        self.configured = False
        self.disabled = False
        self.processors: list[SpanProcessor] = []
        self.sampler: Sampler | None = None
        self.providers: dict[str, TracerProvider] = {}
        self.tracers: dict[str | None, trace.Tracer] = {}
        self.default_service: str | None = None


_state = _State()
_NOOP = trace.NoOpTracer()


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() == "true"


def exporting() -> bool:
    """True when the OTEL_* settings ask for an OTLP exporter."""
    exporters = {e.strip().lower() for e in os.environ.get("OTEL_TRACES_EXPORTER", "").split(",") if e.strip()}
    if "none" in exporters:
        return False
    return "otlp" in exporters or bool(
        os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    )


def _configure(service: str) -> None:
    if _state.configured:
        return
    _state.configured = True
    _state.default_service = service
    if _flag("OTEL_SDK_DISABLED"):
        _state.disabled = True
        return
    if exporting():
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        _state.processors = [BatchSpanProcessor(OTLPSpanExporter())]  # endpoint, headers, timeout: OTEL_EXPORTER_OTLP_*
        _state.sampler = None  # TracerProvider reads OTEL_TRACES_SAMPLER / _ARG
        log.info("traces exported over OTLP/HTTP")
    else:
        _state.processors = []
        _state.sampler = ALWAYS_OFF  # context made and passed on, nothing recorded
    _state.tracers.clear()


def use_exporter(exporter: SpanExporter, *, service: str | None = None) -> None:
    """Tests: record every span into ``exporter`` (e.g. an InMemorySpanExporter), synchronously.

    Replaces whatever ``install_tracing`` set up in this process, before or after it ran; ``reset``
    goes back to the settings' behaviour.
    """
    _state.__init__()  # type: ignore[misc]
    _state.configured = True
    _state.default_service = service
    _state.processors = [SimpleSpanProcessor(exporter)]
    _state.sampler = ALWAYS_ON


def reset() -> None:
    """Forget the set-up (tests); the next ``install_tracing`` reads the settings again."""
    for provider in _state.providers.values():
        provider.shutdown()
    _state.__init__()  # type: ignore[misc]


def _provider(service: str) -> TracerProvider:
    provider = _state.providers.get(service)
    if provider is None:
        # OTEL_SERVICE_NAME (and OTEL_RESOURCE_ATTRIBUTES) win over the name the code gives.
        attributes = {} if os.environ.get("OTEL_SERVICE_NAME") else {SERVICE_NAME: service}
        provider = TracerProvider(sampler=_state.sampler, resource=Resource.create(attributes))
        for processor in _state.processors:
            provider.add_span_processor(processor)
        _state.providers[service] = provider
    return provider


def tracer() -> trace.Tracer:
    """The tracer of the service the current task works for."""
    service = _service.get() or _state.default_service
    found = _state.tracers.get(service)
    if found is None:
        if _state.disabled or not _state.configured:
            return _NOOP  # not cached: install_tracing may still come
        found = _provider(service or "emaket").get_tracer(_INSTRUMENTATION)
        _state.tracers[service] = found
    return found


# --- context -------------------------------------------------------------------------------


def context_from(traceparent: str | None, tracestate: str | None = None) -> otel_context.Context | None:
    """The remote parent a ``traceparent`` names, or None when it is absent or malformed."""
    if not traceparent:
        return None
    match = _TRACEPARENT.fullmatch(traceparent.strip().lower())
    if match is None or match[1] == _ZERO_TRACE or match[2] == _ZERO_SPAN:
        return None
    state = TraceState()
    if tracestate and len(tracestate) <= MAX_TRACESTATE:
        try:
            state = TraceState.from_header([tracestate])
        except ValueError:
            state = TraceState()
    parent = SpanContext(
        trace_id=int(match[1], 16),
        span_id=int(match[2], 16),
        is_remote=True,
        trace_flags=TraceFlags(int(match[3], 16) & TraceFlags.SAMPLED),
        trace_state=state,
    )
    return trace.set_span_in_context(NonRecordingSpan(parent), otel_context.Context())


def current_traceparent() -> str | None:
    """The W3C ``traceparent`` of the current span, or None outside any trace."""
    ctx = trace.get_current_span().get_span_context()
    if not ctx.is_valid:
        return None
    return f"00-{ctx.trace_id:032x}-{ctx.span_id:016x}-{int(ctx.trace_flags) & 1:02x}"


def current_tracestate() -> str | None:
    state = trace.get_current_span().get_span_context().trace_state
    return (state.to_header() or None) if state else None


def trace_attributes() -> dict[str, str]:
    """The current W3C context as ``traceparent`` (and ``tracestate``, when there is one): the names are the
    same for HTTP headers and for the CloudEvents distributed-tracing attributes. Empty outside a trace."""
    traceparent = current_traceparent()
    if traceparent is None:
        return {}
    tracestate = current_tracestate()
    return {"traceparent": traceparent, "tracestate": tracestate} if tracestate else {"traceparent": traceparent}


def inject_headers(headers: dict[str, str]) -> dict[str, str]:
    """Add ``traceparent`` (and ``tracestate``) of the current span to outgoing HTTP headers."""
    headers.update(trace_attributes())
    return headers


@contextmanager
def span(
    name: str,
    *,
    kind: SpanKind = SpanKind.INTERNAL,
    parent: otel_context.Context | None = None,
    attributes: Mapping[str, Any] | None = None,
) -> Iterator[trace.Span]:
    """A current span; a failure marks it with the exception's type only (its message may hold personal data).

    ``parent`` None: a child of the current span (or a new trace). Without an exporter the span only
    carries the context on (new span id, sampled flag off), made here at a fraction of the SDK's cost.
    """
    if _quiet.get() or (_state.configured and not _state.disabled and not _state.processors):
        with _passing_on(parent):
            yield trace.INVALID_SPAN
        return
    with tracer().start_as_current_span(
        name,
        context=parent,
        kind=kind,
        attributes=attributes,
        record_exception=False,
        set_status_on_exception=False,
    ) as current:
        try:
            yield current
        except BaseException as exc:
            if current.is_recording():
                current.set_status(Status(StatusCode.ERROR, type(exc).__name__))
                current.set_attribute("error.type", type(exc).__name__)
            raise


@contextmanager
def quiet() -> Iterator[None]:
    """Work that repeats without news (a poll that finds nothing) records no span: the context still
    travels (outgoing calls keep the case's trace id), but the case's trace is not buried under it."""
    token = _quiet.set(True)
    try:
        yield
    finally:
        _quiet.reset(token)


@contextmanager
def _passing_on(parent: otel_context.Context | None) -> Iterator[None]:
    before = trace.get_current_span(parent).get_span_context()
    trace_id = before.trace_id if before.is_valid else random.getrandbits(128) or 1
    made = SpanContext(
        trace_id=trace_id,
        span_id=random.getrandbits(64) or 1,
        is_remote=False,
        trace_flags=TraceFlags(TraceFlags.DEFAULT),
        trace_state=before.trace_state,
    )
    token = otel_context.attach(trace.set_span_in_context(NonRecordingSpan(made), parent))
    try:
        yield
    finally:
        otel_context.detach(token)


# --- HTTP in ---------------------------------------------------------------------------------


class TracingMiddleware:
    """A SERVER span per HTTP request, continuing the caller's ``traceparent``.

    The span is named ``<METHOD> <route template>`` once routing has found the route (FastAPI puts it
    in the scope); the raw path and the query never become attributes (they hold IINs).
    """

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        traceparent = tracestate = None
        for key, value in scope["headers"]:
            if key == b"traceparent":
                traceparent = value.decode("latin-1")
            elif key == b"tracestate":
                tracestate = value.decode("latin-1")
        method = scope["method"]
        token = _service.set(self.service)
        try:
            with span(
                method,
                kind=SpanKind.SERVER,
                parent=context_from(traceparent, tracestate),
                attributes={"http.request.method": method},
            ) as current:
                if not current.is_recording():
                    await self.app(scope, receive, send)
                    return

                async def send_traced(message: Message) -> None:
                    if message["type"] == "http.response.start":
                        current.set_attribute("http.response.status_code", message["status"])
                        if message["status"] >= 500:
                            current.set_status(Status(StatusCode.ERROR))
                    await send(message)

                try:
                    await self.app(scope, receive, send_traced)
                finally:
                    _name_by_route(current, scope, method)
        finally:
            _service.reset(token)


def _name_by_route(current: trace.Span, scope: Scope, method: str) -> None:
    route = scope.get("route")
    template = getattr(route, "path", None)
    if not isinstance(template, str):
        return
    current.update_name(f"{method} {template}")
    current.set_attribute("http.route", template)
    params = scope.get("path_params") or {}
    for name in _SAFE_PATH_PARAMS:
        value = params.get(name)
        if value is not None:
            current.set_attribute(f"emaket.{name}", str(value))


def install_tracing(app: FastAPI, service: str) -> None:
    """Set up tracing for one app (service or gateway): the process's tracer provider (once), the
    SERVER span middleware, and the service's tracer for the tasks its lifespan starts."""
    _configure(service)
    if _state.disabled:
        return
    app.add_middleware(TracingMiddleware, service=service)
    lifespan = app.router.lifespan_context

    @asynccontextmanager
    async def traced_lifespan(app_: Any) -> Any:
        # The relay, consumers and workers are started from here: their spans are this service's.
        _service.set(service)
        async with lifespan(app_) as state:
            yield state

    app.router.lifespan_context = traced_lifespan
