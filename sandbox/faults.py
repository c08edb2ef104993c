"""Injected faults of the external systems, and the log of calls made to them.

Stands in for the unreliability of the real e-gov gateway, payments database,
SMS gateway and portal cabinet: added latency, 503 answers, and requests that
hang longer than any client timeout. Only the external-system endpoints are
affected; ``/sandbox/*`` admin endpoints and ``/healthz`` never are.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from fastapi import FastAPI, Request, Response

from common.problems import problem_response
from sandbox.models import FaultIn, System
from sandbox.store import SandboxStore, mask_ids, utc_now

Fault = Literal["error", "timeout"]

SYSTEM_PREFIXES: dict[str, System] = {
    "/egov/": "egov",
    "/payments-db/": "payments",
    "/sms-gateway/": "sms",
    "/cabinet/": "cabinet",
}

DEFAULT_HANG_SECONDS = 15.0


def system_of(path: str) -> System | None:
    """Which external system a request path belongs to, if any."""
    for prefix, system in SYSTEM_PREFIXES.items():
        if path.startswith(prefix):
            return system
    return None


@dataclass
class FaultConfig:
    """Current fault settings of one system, with its own random generator."""

    system: System
    error_rate: float = 0.0
    timeout_rate: float = 0.0
    latency_ms: int = 0
    fail_next: int = 0
    timeout_next: int = 0
    seed: int | None = None
    rng: random.Random = field(default_factory=random.Random, repr=False)

    def public(self) -> dict[str, Any]:
        return {
            "system": self.system,
            "error_rate": self.error_rate,
            "timeout_rate": self.timeout_rate,
            "latency_ms": self.latency_ms,
            "fail_next": self.fail_next,
            "timeout_next": self.timeout_next,
            "seed": self.seed,
        }


class FaultBook:
    """All fault settings (``app.state.faults``).

    Deterministic counters (``fail_next``, ``timeout_next``) are consumed
    first; then one draw from the system's ``random.Random`` decides between
    error (``< error_rate``), timeout (``< error_rate + timeout_rate``) and a
    normal answer. A ``seed`` makes the draws reproducible.
    """

    def __init__(self, hang_seconds: float = DEFAULT_HANG_SECONDS) -> None:
        self.hang_seconds = hang_seconds
        self.configs: dict[System, FaultConfig] = {}

    def set(self, spec: FaultIn) -> FaultConfig:
        """Replace the settings of ``spec.system``."""
        config = FaultConfig(
            system=spec.system,
            error_rate=spec.error_rate,
            timeout_rate=spec.timeout_rate,
            latency_ms=spec.latency_ms,
            fail_next=spec.fail_next,
            timeout_next=spec.timeout_next,
            seed=spec.seed,
            rng=random.Random(spec.seed),
        )
        self.configs[spec.system] = config
        return config

    def clear(self) -> None:
        self.configs.clear()

    def items(self) -> list[dict[str, Any]]:
        return [config.public() for config in self.configs.values()]

    def draw(self, system: System) -> tuple[Fault | None, int]:
        """Decide this call's fault (if any) and its added latency in ms.

        Synchronous on purpose: no ``await`` between reading and decrementing
        the counters, so concurrent calls cannot both consume one failure.
        """
        config = self.configs.get(system)
        if config is None:
            return None, 0
        if config.fail_next > 0:
            config.fail_next -= 1
            return "error", config.latency_ms
        if config.timeout_next > 0:
            config.timeout_next -= 1
            return "timeout", config.latency_ms
        if config.error_rate or config.timeout_rate:
            roll = config.rng.random()
            if roll < config.error_rate:
                return "error", config.latency_ms
            if roll < config.error_rate + config.timeout_rate:
                return "timeout", config.latency_ms
        return None, config.latency_ms


def install_external_system_middleware(app: FastAPI) -> None:
    """Apply faults to, and log, every call to an external-system endpoint.

    A timeout lets the request take effect and then withholds the answer for
    ``hang_seconds`` (the "response lost" case that idempotent retries must
    survive). The call log masks IINs/BINs: it is a log.
    """

    @app.middleware("http")
    async def _external_systems(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        system = system_of(request.url.path)
        if system is None:
            return await call_next(request)

        faults: FaultBook = request.app.state.faults
        store: SandboxStore = request.app.state.store
        arrived_at = utc_now()
        started = time.perf_counter()
        fault, latency_ms = faults.draw(system)
        if latency_ms:
            await asyncio.sleep(latency_ms / 1000)

        status = 500
        try:
            if fault == "error":
                response: Response = problem_response(
                    request,
                    503,
                    "service-unavailable",
                    f"The {system} system is unavailable (fault injected by the sandbox).",
                    system=system,
                )
            else:
                response = await call_next(request)
            status = response.status_code
        finally:
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            store.log_call(
                {
                    "system": system,
                    "method": request.method,
                    "path": mask_ids(target),
                    "status": status,
                    "fault": fault,
                    "at": arrived_at,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                }
            )
        if fault == "timeout":
            await asyncio.sleep(faults.hang_seconds)
        return response
