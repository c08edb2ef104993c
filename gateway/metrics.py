"""The gateway's Prometheus metrics (issue 8 point 2): requests and their latency per route template.

Labels: ``route`` is the route template (``/api/v1/applications/{id}``, gateway/routes.py
``route_template``), never the raw path, which holds application and decision ids; ``method`` is one
of a fixed set; ``status_class`` is ``2xx`` .. ``5xx``. Nothing personal, and a bounded number of
series whatever a client sends. Each app has its own ``CollectorRegistry`` (several apps in one test
process never clash); ``GET /metrics`` serves it.
"""

from __future__ import annotations

import time

from fastapi import FastAPI
from fastapi.responses import PlainTextResponse
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from common.metrics import CONTENT_TYPE
from gateway.routes import route_template

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class GatewayMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "emaket_gateway_requests",
            "Requests the gateway answered, per route template, method and status class.",
            ["route", "method", "status_class"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "emaket_gateway_request_duration_seconds",
            "Time from the request to the end of the gateway's answer, per route template and method.",
            ["route", "method"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )

    def record(self, path: str, method: str, status: int, seconds: float) -> None:
        route = route_template(path)
        method = method if method in METHODS else "OTHER"
        self.requests.labels(route, method, f"{status // 100}xx").inc()
        self.latency.labels(route, method).observe(seconds)


class MetricsMiddleware:
    """Pure ASGI: times each HTTP request to its last body chunk; an exception counts as a 500."""

    def __init__(self, app: ASGIApp, metrics: GatewayMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") == "/metrics":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            self.metrics.record(scope.get("path", ""), scope.get("method", ""), status, time.perf_counter() - started)


def install_metrics(app: FastAPI) -> None:
    """Add the gateway's /metrics and its request instruments."""
    metrics = GatewayMetrics()
    app.state.metrics = metrics
    app.add_middleware(MetricsMiddleware, metrics=metrics)

    @app.get("/metrics", include_in_schema=False)
    async def metrics_endpoint() -> PlainTextResponse:
        return PlainTextResponse(generate_latest(metrics.registry), media_type=CONTENT_TYPE)
