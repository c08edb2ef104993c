"""SQL of the decision service: the two halves of a case, decisions, follow-ups."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timezone
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.decision.adapters.orm import Case, Decision, FollowUp


async def merge_registration(session: AsyncSession, application_id: uuid.UUID, data: dict[str, Any]) -> Case:
    """Upsert the registration half (the latest application event wins: same topic and key, so in order).

    The row lock makes the second half's arrival see the first (guarantee 2).
    """
    row = await session.execute(
        pg_insert(Case)
        .values(application_id=application_id, registration=data)
        .on_conflict_do_update(
            index_elements=[Case.application_id],
            set_={"registration": data, "updated_at": datetime.now(timezone.utc)},
        )
        .returning(Case.registration, Case.eligibility)
    )
    registration, eligibility = row.one()
    return Case(application_id=application_id, registration=registration, eligibility=eligibility)


async def merge_eligibility(
    session: AsyncSession, application_id: uuid.UUID, data: dict[str, Any], round_: int
) -> Case | None:
    """Upsert the checks half, keeping the highest round; None when a later round is stored already."""
    stored_round = Case.eligibility["round"].as_integer()
    row = await session.execute(
        pg_insert(Case)
        .values(application_id=application_id, eligibility=data)
        .on_conflict_do_update(
            index_elements=[Case.application_id],
            set_={"eligibility": data, "updated_at": datetime.now(timezone.utc)},
            where=or_(Case.eligibility.is_(None), func.coalesce(stored_round, 1) <= round_),
        )
        .returning(Case.registration, Case.eligibility)
    )
    found = row.one_or_none()
    if found is None:
        return None
    return Case(application_id=application_id, registration=found[0], eligibility=found[1])


async def insert_decision(session: AsyncSession, values: dict[str, Any]) -> Decision | None:
    """A new decision, or None when the application has one already (one per application)."""
    inserted = await session.scalar(
        pg_insert(Decision)
        .values(**values)
        .on_conflict_do_nothing(index_elements=[Decision.application_id])
        .returning(Decision.id)
    )
    if inserted is None:
        return None
    return await session.get(Decision, inserted)


async def set_due_by(session: AsyncSession, application_id: uuid.UUID, due_by: date | None) -> None:
    """The application's due date moved (documents requested): the decision's copy follows."""
    await session.execute(update(Decision).where(Decision.application_id == application_id).values(due_by=due_by))


async def add_follow_ups(
    session: AsyncSession, *, application_id: uuid.UUID, decision_id: uuid.UUID, benefits: Iterable[str]
) -> None:
    """One open follow-up per benefit also applied for (D-Std p.4, p.10); a replay adds none."""
    for benefit in benefits:
        await session.execute(
            pg_insert(FollowUp)
            .values(id=uuid.uuid4(), application_id=application_id, decision_id=decision_id, benefit=benefit)
            .on_conflict_do_nothing(index_elements=[FollowUp.application_id, FollowUp.benefit])
        )


async def get_decision(session: AsyncSession, decision_id: uuid.UUID, *, lock: bool = False) -> Decision | None:
    return await session.get(Decision, decision_id, with_for_update=lock)


async def list_decisions(
    session: AsyncSession,
    *,
    statuses: Sequence[str] | None,
    benefit: str | None,
    channel: str | None,
    due_before: date | None,
    limit: int,
) -> list[Decision]:
    """Decisions by the specialist's filters, the most urgent first (due date, then drafting time)."""
    query = select(Decision).order_by(Decision.due_by.asc().nulls_last(), Decision.drafted_at, Decision.id).limit(limit)
    if statuses is not None:
        query = query.where(Decision.status.in_(statuses))
    if benefit:
        query = query.where(Decision.benefit == benefit)
    if channel:
        query = query.where(Decision.channel == channel)
    if due_before:
        query = query.where(Decision.due_by <= due_before)
    return list(await session.scalars(query))


async def list_follow_ups(session: AsyncSession, *, status: str | None, limit: int) -> list[FollowUp]:
    query = select(FollowUp).order_by(FollowUp.created_at, FollowUp.id).limit(limit)
    if status:
        query = query.where(FollowUp.status == status)
    return list(await session.scalars(query))


async def count_waiting(session: AsyncSession) -> tuple[int, int]:
    """Decisions awaiting a signature and open follow-ups (metrics)."""
    waiting = await session.scalar(select(func.count()).where(Decision.status == "awaiting_signature"))
    open_ = await session.scalar(select(func.count()).select_from(FollowUp).where(FollowUp.status == "open"))
    return waiting or 0, open_ or 0
