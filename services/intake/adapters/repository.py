"""Intake's SQL: applications, the journal, uniqueness claims, parked events, history (style.md: SQL at the edge)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.intake.adapters.orm import Application, Claim, JournalEntry, ParkedEvent, StatusChange, journal_number_seq
from services.intake.domain.policies import Claim as ClaimRef
from services.intake.domain.status import OPEN
from services.intake.sla import AWAITING_DECISION, Bucket, OverdueCase


async def insert_application(session: AsyncSession, **values: Any) -> uuid.UUID | None:
    """A new application row; None when the caller's idempotency key already made one."""
    return await session.scalar(
        pg_insert(Application)
        .values(**values)
        .on_conflict_do_nothing(constraint="uq_applications_idempotency")
        .returning(Application.id)
    )


async def by_idempotency(session: AsyncSession, scope: str, key: str | None) -> Application | None:
    return await session.scalar(
        select(Application).where(Application.idempotency_scope == scope, Application.idempotency_key == key)
    )


async def lock(session: AsyncSession, application_id: uuid.UUID) -> Application | None:
    """The application, locked for this transaction (events and operators change it one at a time)."""
    return await session.get(Application, application_id, with_for_update=True)


async def take_claims(session: AsyncSession, application_id: uuid.UUID, claims: Sequence[ClaimRef]) -> list[tuple[ClaimRef, str]]:
    """Take every claim; the ones another application holds, with that holder's state (filed | assigned).

    Keys are taken in sorted order so two applications sharing several keys never deadlock; the primary
    key makes a concurrent submitter wait for the winner's commit.
    """
    conflicts: list[tuple[ClaimRef, str]] = []
    for claim in sorted(claims, key=lambda c: c.key):
        taken = await session.scalar(
            pg_insert(Claim)
            .values(key=claim.key, application_id=application_id, subject=claim.subject, state="filed")
            .on_conflict_do_nothing()
            .returning(Claim.key)
        )
        if taken is None:
            holder = await session.scalar(select(Claim.state).where(Claim.key == claim.key))
            conflicts.append((claim, holder or "filed"))
    return conflicts


async def claims_of(session: AsyncSession, application_id: uuid.UUID) -> list[ClaimRef]:
    rows = await session.scalars(select(Claim).where(Claim.application_id == application_id).order_by(Claim.key))
    return [ClaimRef(r.key, r.subject) for r in rows]


async def release_claims(session: AsyncSession, application_id: uuid.UUID, keys: Iterable[str] | None = None) -> None:
    """Let go of this application's claims (all of them, or ``keys``)."""
    query = delete(Claim).where(Claim.application_id == application_id)
    if keys is not None:
        query = query.where(Claim.key.in_(list(keys)))
    else:
        query = query.where(Claim.state == "filed")
    await session.execute(query)


async def assign_claims(session: AsyncSession, application_id: uuid.UUID) -> None:
    await session.execute(update(Claim).where(Claim.application_id == application_id).values(state="assigned"))


async def next_journal_number(session: AsyncSession) -> int:
    number: int = await session.scalar(journal_number_seq.next_value())
    return number


async def upsert_journal(session: AsyncSession, app: Application) -> None:
    """The registration journal's row (Annex 6), its due date kept in step with the application's."""
    values = {
        "registration_number": app.registration_number,
        "application_id": app.id,
        "benefit": app.benefit,
        "channel": app.channel,
        "registered_on": app.registered_on,
        "due_by": app.due_by,
        "due_provisional": app.due_provisional,
    }
    await session.execute(
        pg_insert(JournalEntry)
        .values(**values)
        .on_conflict_do_update(
            index_elements=[JournalEntry.registration_number],
            set_={"due_by": app.due_by, "due_provisional": app.due_provisional},
        )
    )


def add_history(session: AsyncSession, application_id: uuid.UUID, status: str, at: datetime) -> None:
    session.add(StatusChange(application_id=application_id, status=status, at=at))


async def park(session: AsyncSession, application_id: uuid.UUID, envelope: dict[str, Any]) -> None:
    session.add(ParkedEvent(application_id=application_id, envelope=envelope))
    await session.flush()


async def parked(session: AsyncSession, application_id: uuid.UUID) -> list[ParkedEvent]:
    rows = await session.scalars(
        select(ParkedEvent).where(ParkedEvent.application_id == application_id).order_by(ParkedEvent.id)
    )
    return list(rows)


async def unpark(session: AsyncSession, event: ParkedEvent) -> None:
    await session.delete(event)
    await session.flush()


async def history_of(session: AsyncSession, ids: list[uuid.UUID]) -> list[StatusChange]:
    """Status changes in the order they were made (transition order, not event time)."""
    rows = await session.scalars(
        select(StatusChange).where(StatusChange.application_id.in_(ids)).order_by(StatusChange.id)
    )
    return list(rows)


async def list_applications(
    session: AsyncSession, *, owner_iin: str | None, applicant_iin: str | None, channel: str | None, limit: int
) -> list[Application]:
    query = select(Application).order_by(Application.received_at.desc()).limit(limit)
    if owner_iin is not None:
        query = query.where(Application.applicant_iin == owner_iin)
    if applicant_iin:
        query = query.where(Application.applicant_iin == applicant_iin)
    if channel:
        query = query.where(Application.channel == channel)
    return list(await session.scalars(query))


async def first_status_at(session: AsyncSession, application_id: uuid.UUID, status: str) -> datetime | None:
    """When the application first reached ``status`` (the status history), for the stage latencies."""
    return await session.scalar(
        select(func.min(StatusChange.at)).where(StatusChange.application_id == application_id, StatusChange.status == status)
    )


async def open_case_buckets(session: AsyncSession) -> list[Bucket]:
    """Open applications counted per benefit, channel, status and due date (one GROUP BY; few rows)."""
    rows = await session.execute(
        select(
            Application.benefit,
            Application.channel,
            Application.status,
            Application.due_by,
            func.count(),
            func.min(Application.received_at),
        )
        .where(Application.status.in_(sorted(OPEN)))  # a positive list: the status index serves it
        .group_by(Application.benefit, Application.channel, Application.status, Application.due_by)
    )
    return [Bucket(*row) for row in rows.all()]


async def most_overdue(session: AsyncSession, today: date) -> list[OverdueCase]:
    """Per benefit, the open case awaiting a decision with the earliest due date before ``today``."""
    rows = await session.execute(
        select(Application.benefit, Application.id, Application.due_by, Application.received_at)
        .where(Application.status.in_(AWAITING_DECISION), Application.due_by < today)
        .order_by(Application.benefit, Application.due_by, Application.received_at)
        .ext(distinct_on(Application.benefit))
    )
    return [OverdueCase(benefit, str(app_id), due_by, received_at) for benefit, app_id, due_by, received_at in rows.all()]
