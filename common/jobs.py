"""Durable jobs: rows a worker claims with SKIP LOCKED, retried with backoff, up to a limit.

Used where work depends on an external system (registries, payments database,
SMS): the consumer only records the job, so an outage delays work and never
loses or refuses it; a crashed worker's transaction rolls back and the row is
claimed again. After ``MAX_ATTEMPTS`` failed attempts a job is ``failed``: it
stays in its table, ops see it (GET /api/v1/ops/failed-jobs) and can send it
back to ``pending``. An odd answer (a 200 with a body of the wrong shape) counts
as a failed attempt like an outage does, so it cannot make a worker spin.

A job table is any table of a service with ``status``, ``attempts``,
``last_error`` and ``next_attempt_at`` columns (``job_tables``).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import MetaData, Table, Text, cast, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import object_session
from sqlalchemy.orm.exc import UnmappedInstanceError

from common.metrics import JOB_ATTEMPTS, JOB_RESULTS, count, label
from common.tracing import SpanKind, context_from, current_traceparent, span
from common.wake import Waiter

log = logging.getLogger(__name__)

# With the backoff below (1 s doubling to the job's cap), 30 attempts span about 25 min at a 1 min cap,
# 50 min at 2 min, 2 h at 5 min: an outage that long needs ops anyway, and nothing is lost meanwhile.
MAX_ATTEMPTS = 30
FAILED = "failed"
_JOB_COLUMNS = {"status", "attempts", "last_error", "next_attempt_at"}
# A worker pass that raises (before it could record an attempt) waits this long, doubling to the cap.
PASS_FAILURE_BASE_S = 1.0
PASS_FAILURE_CAP_S = 60.0
# A worker that sleeps until a job is due wakes this much after it (the clocks of Python and the rows).
DUE_SLACK_S = 0.01


def retry_at(attempts: int, *, now: datetime | None = None, base_s: float = 1.0, cap_s: float = 300.0) -> datetime:
    """Exponential backoff with jitter, capped: 1 s, 2 s, 4 s ... 5 min."""
    delay = min(cap_s, base_s * 2 ** max(attempts - 1, 0))
    return (now or datetime.now(timezone.utc)) + timedelta(seconds=delay * random.uniform(0.8, 1.2))


class _Due:
    """What the current worker pass learnt about the next due time (set by ``claim_due``)."""

    def __init__(self) -> None:
        self.at: datetime | None = None

    def note(self, at: datetime | None) -> None:
        if at is not None and (self.at is None or at < self.at):
            self.at = at


_next_due: ContextVar[_Due | None] = ContextVar("emaket_next_due", default=None)


async def run_periodic(
    name: str,
    step: Callable[[], Awaitable[int]],
    interval_s: float,
    *,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    wake: Waiter | None = None,
) -> None:
    """Call `step` forever; it returns how much it did, and an idle step waits.

    Idle, it waits until ``wake`` is set (a commit wrote a due job: common/wake.py), until the
    earliest job ``claim_due`` saw scheduled for later is due, or ``interval_s`` (the safety poll),
    whichever comes first. Without ``wake`` it sleeps ``interval_s``.

    A step that raises has recorded nothing (its transaction rolled back), so it would meet the
    same row at once: consecutive failures back off exponentially instead of spinning, and the
    next pass follows the backoff directly.
    """
    failures = 0
    while True:
        if wake is not None:
            wake.clear()  # before looking: a commit during the pass sets it again
        due = _Due()
        token = _next_due.set(due)
        try:
            done = await step()
            failures = 0
        except asyncio.CancelledError:
            raise
        except Exception:
            failures += 1
            log.exception("worker %s pass failed (%d in a row)", name, failures)
            await sleep(min(PASS_FAILURE_CAP_S, PASS_FAILURE_BASE_S * 2 ** (failures - 1)))
            continue
        finally:
            _next_due.reset(token)
        if done:
            continue
        if wake is None:
            await sleep(interval_s)
            continue
        timeout = interval_s
        if due.at is not None:
            # A little late rather than early: early, the pass finds nothing and waits again.
            timeout = min(timeout, max(0.0, (due.at - datetime.now(timezone.utc)).total_seconds()) + DUE_SLACK_S)
        await wake.wait(timeout)


async def claim_due(session, model, *, status: str = "pending", due=None):
    """Lock one row of `model` in `status` whose time has come, skipping rows other workers hold.

    `due` is the column holding when the row is next due (default `next_attempt_at`).
    The lock lasts for the caller's transaction: a crash rolls back and frees the row.
    When none is due, the earliest later due time is noted for ``run_periodic`` (it sleeps until then).
    Rows due now but held by another worker are not waited for: that worker's commit wakes the rest.
    """
    due = due if due is not None else model.next_attempt_at
    now = datetime.now(timezone.utc)
    row = await session.scalar(
        select(model)
        .where(model.status == status, due <= now)
        .order_by(due)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    tracker = _next_due.get()
    if row is None and tracker is not None:
        tracker.note(await session.scalar(select(func.min(due)).where(model.status == status, due > now)))
    return row


def trace_context() -> str | None:
    """What a new job row keeps in its ``traceparent`` column: the context it was enqueued in."""
    return current_traceparent()


def traced(job: Any, name: str, **attributes: Any):
    """A claimed job's work as a span under the context it was enqueued in (its ``traceparent``), so the
    outside calls it makes and the events it writes belong to the case's trace. Attributes: no personal data."""
    return span(
        f"job {name}",
        kind=SpanKind.CONSUMER,
        parent=context_from(getattr(job, "traceparent", None)),
        attributes={"emaket.job": name, "emaket.job.attempts": getattr(job, "attempts", None) or 0, **attributes},
    )


def reschedule(job, error: str, *, cap_s: float, max_attempts: int = MAX_ATTEMPTS) -> None:
    """Count a failed attempt on a job row: try again later (backoff with jitter), or give up as `failed`."""
    job.attempts += 1
    job.last_error = error[:2000]
    job.next_attempt_at = retry_at(job.attempts, cap_s=cap_s)
    if job.attempts >= max_attempts:
        job.status = FAILED
        # Only the table and the count: the error may quote an answer with personal data.
        log.error("%s job failed after %d attempts; listed for ops", getattr(job, "__tablename__", "a"), job.attempts)
    record_attempt(job, FAILED if job.status == FAILED else "retried")


def record_attempt(job: Any, result: str) -> None:
    """Count one attempt of a job row in ``emaket_job_attempts_total{service,job,result}`` once its
    transaction commits (a rolled-back attempt never happened). ``result``: succeeded, retried, failed
    (out of attempts) or refused (the outside system said no for good). The service is the table's schema."""
    table = getattr(job, "__table__", None)
    service = getattr(table, "schema", None) or "unknown"
    name = getattr(table, "name", None) or getattr(job, "__tablename__", "unknown")
    try:
        session = object_session(job)
    except UnmappedInstanceError:  # not an ORM row (a stand-in in unit tests): count at once
        session = None
    count(JOB_ATTEMPTS, session, service=service, job=name, result=label(result, JOB_RESULTS))


def job_tables(metadata: MetaData) -> list[Table]:
    """The service's job tables: those with status, attempts, last_error and next_attempt_at."""
    return [t for t in metadata.sorted_tables if _JOB_COLUMNS <= set(t.columns.keys())]


def job_key(table: Table, row: Any) -> str:
    """A failed job's id for ops: its primary-key values joined by ':' (e.g. '<application id>:2')."""
    return ":".join(str(row[c.name]) for c in table.primary_key.columns)


async def failed_jobs(session: AsyncSession, table: Table, *, limit: int) -> list[dict[str, Any]]:
    rows = (
        await session.execute(
            select(table).where(table.c.status == FAILED).order_by(table.c.next_attempt_at).limit(limit)
        )
    ).mappings().all()
    return [
        {
            "job": table.name,
            "key": job_key(table, row),
            "attempts": row["attempts"],
            "last_error": row["last_error"],
            "last_attempt_due": row["next_attempt_at"],
        }
        for row in rows
    ]


async def retry_failed(session: AsyncSession, table: Table, key: str) -> bool:
    """Send a failed job back to `pending` with a fresh count of attempts; False when no such failed job."""
    columns = list(table.primary_key.columns)
    parts = key.split(":", len(columns) - 1)
    if len(parts) != len(columns):
        return False
    result = await session.execute(
        update(table)
        .where(table.c.status == FAILED, *[cast(c, Text) == part for c, part in zip(columns, parts, strict=True)])
        .values(status="pending", attempts=0, next_attempt_at=func.now())
    )
    return bool(result.rowcount)
