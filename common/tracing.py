"""OpenTelemetry traces across the gateway, the outbox, Kafka and outside calls (issue 8 point 3).

Placeholder wired into every app; the implementation lands here.
"""

from __future__ import annotations

from fastapi import FastAPI


def install_tracing(app: FastAPI, service: str) -> None:
    """Set up tracing for one app (service or gateway)."""
