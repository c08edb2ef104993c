"""The gateway's Prometheus metrics (issue 8 point 2). Placeholder wired into the app."""

from __future__ import annotations

from fastapi import FastAPI


def install_metrics(app: FastAPI) -> None:
    """Add the gateway's /metrics and its request instruments."""
