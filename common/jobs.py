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


async def claim_due(session, model, *, status: str = "pending", due=None):
    """Lock one row of `model` in `status` whose time has come, skipping rows other workers hold.

    `due` is the column holding when the row is next due (default `next_attempt_at`).
    The lock lasts for the caller's transaction: a crash rolls back and frees the row.
    """
    from sqlalchemy import select

    due = due if due is not None else model.next_attempt_at
    return await session.scalar(
        select(model)
        .where(model.status == status, due <= datetime.now(timezone.utc))
        .order_by(due)
        .limit(1)
        .with_for_update(skip_locked=True)
    )


def reschedule(job, error: str, *, cap_s: float) -> None:
    """Count a failed attempt on a job row and set when to try again (backoff with jitter)."""
    job.attempts += 1
    job.last_error = error[:2000]
    job.next_attempt_at = retry_at(job.attempts, cap_s=cap_s)
