"""Durable jobs: rows a worker claims with SKIP LOCKED, retried with backoff until done.

Used where work depends on an external system (registries, payments database,
SMS): the consumer only records the job, so an outage delays work and never
loses or refuses it; a crashed worker's transaction rolls back and the row is
claimed again.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta, timezone

log = logging.getLogger(__name__)


def retry_at(attempts: int, *, now: datetime | None = None, base_s: float = 1.0, cap_s: float = 300.0) -> datetime:
    """Exponential backoff with jitter, capped: 1 s, 2 s, 4 s ... 5 min."""
    delay = min(cap_s, base_s * 2 ** max(attempts - 1, 0))
    return (now or datetime.now(timezone.utc)) + timedelta(seconds=delay * random.uniform(0.8, 1.2))


async def run_periodic(name: str, step: Callable[[], Awaitable[int]], interval_s: float) -> None:
    """Call `step` forever; it returns how much it did, and an idle step waits `interval_s`."""
    while True:
        try:
            done = await step()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("worker %s pass failed", name)
            done = 0
            await asyncio.sleep(1.0)
        if not done:
            await asyncio.sleep(interval_s)
