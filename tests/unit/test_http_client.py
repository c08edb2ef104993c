"""httpx adapter base (architecture.md guarantee 4): timeouts, bounded retries with backoff, circuit breaker."""

from __future__ import annotations

import time
from types import SimpleNamespace

import httpx
import pytest

import common.http as http_module
from common.http import CircuitBreaker, ExternalUnavailable, ResilientClient


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def breaker(threshold: int = 3, reset_s: float = 10.0) -> tuple[CircuitBreaker, FakeClock]:
    clock = FakeClock()
    return CircuitBreaker(threshold=threshold, reset_s=reset_s, clock=clock), clock


# --- circuit breaker -------------------------------------------------------------------------


def test_breaker_opens_after_threshold_consecutive_failures() -> None:
    """Guarantee 4: closed until `threshold` consecutive failures, then open and refusing calls."""
    cb, _ = breaker(threshold=3)
    assert (cb.state, cb.allow()) == ("closed", True)
    cb.record_failure()
    cb.record_failure()
    assert (cb.state, cb.allow()) == ("closed", True)
    cb.record_failure()
    assert (cb.state, cb.allow()) == ("open", False)


def test_breaker_counts_only_consecutive_failures() -> None:
    """Guarantee 4: a success in between resets the count."""
    cb, _ = breaker(threshold=3)
    cb.record_failure()
    cb.record_failure()
    cb.record_success()
    cb.record_failure()
    cb.record_failure()
    assert cb.state == "closed"


@pytest.mark.parametrize(
    ("elapsed", "state"),
    [(0.0, "open"), (9.999, "open"), (10.0, "half_open"), (60.0, "half_open")],
)
def test_breaker_half_opens_after_reset_s(elapsed: float, state: str) -> None:
    """Guarantee 4: an open breaker lets a trial call through once reset_s has passed."""
    cb, clock = breaker(threshold=2, reset_s=10.0)
    cb.record_failure()
    cb.record_failure()
    clock.now += elapsed
    assert cb.state == state
    assert cb.allow() is (state == "half_open")


def test_breaker_half_open_success_closes() -> None:
    """Guarantee 4: a successful trial call closes the breaker, and the failure count starts over."""
    cb, clock = breaker(threshold=2, reset_s=10.0)
    cb.record_failure()
    cb.record_failure()
    clock.now += 10.0
    cb.record_success()
    assert cb.state == "closed"
    cb.record_failure()
    assert cb.state == "closed"  # one failure after closing is below the threshold again


def test_breaker_half_open_failure_opens_again_for_a_full_reset_period() -> None:
    """Guarantee 4: a failed trial call reopens the breaker, and the wait starts over."""
    cb, clock = breaker(threshold=2, reset_s=10.0)
    cb.record_failure()
    cb.record_failure()
    clock.now += 10.0
    assert cb.state == "half_open"
    cb.record_failure()
    assert (cb.state, cb.allow()) == ("open", False)
    clock.now += 9.0
    assert cb.state == "open"
    clock.now += 1.0
    assert cb.state == "half_open"


# --- resilient client ------------------------------------------------------------------------


class Script:
    """A MockTransport handler answering from a list: ints are statuses, exception classes are raised."""

    def __init__(self, *steps) -> None:
        self.steps = list(steps)
        self.calls = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        step = self.steps[min(self.calls, len(self.steps) - 1)]
        self.calls += 1
        if isinstance(step, type) and issubclass(step, Exception):
            raise step("scripted failure", request=request)
        return httpx.Response(step, json={"call": self.calls})


def client(script: Script, **options) -> ResilientClient:
    settings = {"attempts": 3, "backoff_base_s": 0.0001, "backoff_max_s": 0.001, **options}
    return ResilientClient(system="registry", base_url="http://registry.test", transport=httpx.MockTransport(script), **settings)


async def call(script: Script, **options) -> httpx.Response:
    c = client(script, **options)
    try:
        return await c.request("GET", "/persons/790303402568")
    finally:
        await c.aclose()


@pytest.mark.parametrize(
    ("steps", "calls"),
    [
        ((503, 200), 2),
        ((500, 502, 200), 3),
        ((429, 200), 2),
        ((504, 200), 2),
        ((httpx.ReadTimeout, 200), 2),
        ((httpx.ConnectTimeout, 200), 2),
        ((httpx.ConnectError, 200), 2),
        ((httpx.ReadTimeout, 503, 200), 3),
    ],
)
async def test_retries_transient_failures_then_succeeds(steps: tuple, calls: int) -> None:
    """Guarantee 4: timeouts, transport errors, 429 and 5xx are retried within the attempt budget."""
    script = Script(*steps)
    response = await call(script)
    assert response.status_code == 200
    assert script.calls == calls


@pytest.mark.parametrize(
    ("step", "reason"),
    [(503, "status 503"), (httpx.ReadTimeout, "timeout"), (httpx.ConnectError, "transport error ConnectError")],
)
@pytest.mark.parametrize("attempts", [1, 3, 5])
async def test_gives_up_after_attempts(step, reason: str, attempts: int) -> None:
    """Guarantee 4: bounded retries; exhaustion is ExternalUnavailable (the work is delayed, never refused)."""
    script = Script(step)
    with pytest.raises(ExternalUnavailable) as caught:
        await call(script, attempts=attempts, breaker=CircuitBreaker(threshold=100))
    assert script.calls == attempts
    assert caught.value.system == "registry"
    assert caught.value.reason == reason


@pytest.mark.parametrize("status", [200, 201, 400, 404, 409, 422])
async def test_final_statuses_are_returned_without_retry(status: int) -> None:
    """Guarantee 4: a 2xx or a 4xx the caller interprets (e.g. 404 = no record) is an answer, not a failure."""
    script = Script(status, 200)
    response = await call(script)
    assert response.status_code == status
    assert script.calls == 1


async def test_open_breaker_fails_fast_without_calling() -> None:
    """Guarantee 4: while the breaker is open the system is not called at all."""
    cb, _ = breaker(threshold=1)
    cb.record_failure()
    script = Script(200)
    with pytest.raises(ExternalUnavailable, match="circuit open"):
        await call(script, breaker=cb)
    assert script.calls == 0


async def test_failed_attempts_open_the_breaker_for_the_next_call() -> None:
    """Guarantee 4: each failed attempt counts, so an outage opens the breaker and later calls fail fast."""
    cb, clock = breaker(threshold=3, reset_s=10.0)
    script = Script(503)
    c = client(script, attempts=3, breaker=cb)
    try:
        with pytest.raises(ExternalUnavailable, match="status 503"):
            await c.request("GET", "/persons/790303402568")
        assert cb.state == "open"
        with pytest.raises(ExternalUnavailable, match="circuit open"):
            await c.request("GET", "/persons/790303402568")
        assert script.calls == 3
        clock.now += 10.0
        script.steps = [200]
        assert (await c.request("GET", "/persons/790303402568")).status_code == 200
        assert cb.state == "closed"
    finally:
        await c.aclose()


async def test_a_404_counts_as_success_for_the_breaker() -> None:
    """Guarantee 4: a registry that answers 'no record' is up; it resets the failure count."""
    cb, _ = breaker(threshold=2)
    cb.record_failure()
    await call(Script(404), breaker=cb)
    cb.record_failure()
    assert cb.state == "closed"


@pytest.mark.parametrize(
    ("base", "cap", "expected"),
    [
        (0.1, 2.0, [0.1, 0.2, 0.4, 0.8, 1.6, 2.0, 2.0, 2.0]),  # doubles, then capped
        (5.0, 0.01, [0.01] * 8),  # the cap wins from the first retry
        (0.001, 1.0, [0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128]),
    ],
)
def test_backoff_upper_bound_doubles_and_is_capped(monkeypatch, base: float, cap: float, expected: list[float]) -> None:
    """Guarantee 4: exponential backoff with full jitter, never above backoff_max_s."""
    bounds = []
    monkeypatch.setattr(http_module.random, "uniform", lambda low, high: bounds.append((low, high)) or high)
    c = ResilientClient(system="registry", base_url="http://registry.test", backoff_base_s=base, backoff_max_s=cap)
    assert [c._backoff(attempt) for attempt in range(8)] == pytest.approx(expected)
    assert all(low == 0 for low, _ in bounds)  # full jitter: anywhere from 0 to the bound


async def test_sleeps_between_attempts_are_bounded_by_backoff_max(monkeypatch) -> None:
    """Guarantee 4: a huge backoff_base_s still sleeps at most backoff_max_s, and not after the last attempt."""
    sleeps: list[float] = []

    async def record(seconds: float) -> None:
        sleeps.append(seconds)

    monkeypatch.setattr(http_module, "asyncio", SimpleNamespace(sleep=record))
    script = Script(503)
    started = time.monotonic()
    with pytest.raises(ExternalUnavailable):
        await call(script, attempts=4, backoff_base_s=3600.0, backoff_max_s=0.005, breaker=CircuitBreaker(threshold=100))
    assert time.monotonic() - started < 1.0
    assert len(sleeps) == 3  # between 4 attempts
    assert all(0 <= s <= 0.005 for s in sleeps)


async def test_real_sleep_with_tiny_backoff_is_fast() -> None:
    """Guarantee 4: with the real sleep, a few retries with tiny backoff finish quickly."""
    started = time.monotonic()
    with pytest.raises(ExternalUnavailable):
        await call(Script(503), attempts=5, breaker=CircuitBreaker(threshold=100))
    assert time.monotonic() - started < 1.0
