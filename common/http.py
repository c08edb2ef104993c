"""httpx adapter base for every external system (architecture.md guarantee 4).

Each call has a timeout, bounded retries with exponential backoff and full
jitter, and goes through a circuit breaker that stops hammering a system that
is down. Exhaustion raises `ExternalUnavailable`: the caller delays the work
(durable jobs retry later); it never turns an outage into a refusal.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from typing import Any

import httpx

from common.tracing import SpanKind, inject_headers, span

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


class ExternalUnavailable(Exception):
    """The external system did not answer usefully; try again later."""

    def __init__(self, system: str, reason: str) -> None:
        super().__init__(f"{system}: {reason}")
        self.system = system
        self.reason = reason


class CircuitBreaker:
    """Closed -> open after `threshold` consecutive failures -> half-open after `reset_s`."""

    def __init__(self, *, threshold: int = 5, reset_s: float = 10.0, clock=time.monotonic) -> None:
        self.threshold = threshold
        self.reset_s = reset_s
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None

    @property
    def state(self) -> str:
        if self._opened_at is None:
            return "closed"
        return "half_open" if self._clock() - self._opened_at >= self.reset_s else "open"

    def allow(self) -> bool:
        return self.state != "open"

    def record_success(self) -> None:
        self._failures = 0
        self._opened_at = None

    def record_failure(self) -> None:
        self._failures += 1
        if self._failures >= self.threshold or self.state == "half_open":
            self._opened_at = self._clock()


class ResilientClient:
    def __init__(
        self,
        *,
        system: str,
        base_url: str,
        timeout_s: float = 3.0,
        attempts: int = 3,
        backoff_base_s: float = 0.1,
        backoff_max_s: float = 2.0,
        breaker: CircuitBreaker | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.system = system
        self.attempts = attempts
        self.backoff_base_s = backoff_base_s
        self.backoff_max_s = backoff_max_s
        self.breaker = breaker or CircuitBreaker()
        self._client = httpx.AsyncClient(base_url=base_url, timeout=timeout_s, transport=transport)

    async def aclose(self) -> None:
        await self._client.aclose()

    def _backoff(self, attempt: int) -> float:
        return random.uniform(0, min(self.backoff_max_s, self.backoff_base_s * 2**attempt))

    async def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """A response with a final status (2xx or a 4xx the caller interprets), or ExternalUnavailable.

        One CLIENT span per call (its attempts included), named by the method and the system: the path
        holds IINs, so only its first segment is kept. Its ``traceparent`` goes out with every attempt.
        """
        # Only the first path segment: later ones carry IINs.
        segment = path.split("?")[0].strip("/").split("/")[0]
        attributes = {"http.request.method": method, "emaket.external.system": self.system, "emaket.external.endpoint": segment}
        with span(f"{method} {self.system}", kind=SpanKind.CLIENT, attributes=attributes) as current:
            kwargs["headers"] = inject_headers(dict(kwargs.get("headers") or {}))
            response = await self._request(method, path, segment, **kwargs)
            if current.is_recording():
                current.set_attribute("http.response.status_code", response.status_code)
            return response

    async def _request(self, method: str, path: str, segment: str, **kwargs: Any) -> httpx.Response:
        reason = "no attempt made"
        for attempt in range(self.attempts):
            if not self.breaker.allow():
                raise ExternalUnavailable(self.system, "circuit open")
            try:
                response = await self._client.request(method, path, **kwargs)
            except httpx.TimeoutException:
                reason = "timeout"
            except httpx.TransportError as exc:
                reason = f"transport error {type(exc).__name__}"
            else:
                if response.status_code not in RETRY_STATUSES:
                    self.breaker.record_success()
                    return response
                reason = f"status {response.status_code}"
            self.breaker.record_failure()
            log.warning("%s %s /%s/... failed (%s), attempt %d/%d", self.system, method, segment, reason, attempt + 1, self.attempts)
            if attempt + 1 < self.attempts:
                await asyncio.sleep(self._backoff(attempt))
        raise ExternalUnavailable(self.system, reason)
