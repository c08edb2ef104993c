"""The SLA view for ops: open cases against their legal deadline (``due_by``), per benefit, channel and status.

Pure: the figures are folded from ``Bucket`` rows (open cases sharing benefit, channel, status and due
date, read by ``repository.open_case_buckets``) and "today" in Asia/Almaty. The same buckets feed
``GET /api/v1/ops/sla`` and the ``emaket_cases_*`` gauges of intake's /metrics.

The term runs until the decision is signed (B-Std p.3, D§24, S§24): a case waiting to be registered,
for documents or for a signature can be due or overdue; an assigned case waiting for its payment order or
its payment has met its term and is open, never due or overdue. ``due_by`` is a date in Almaty: due today
is not late, yesterday is.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from pydantic import BaseModel, Field

from common.calendar import ALMATY
from services.intake.domain.status import ApplicationStatus

S = ApplicationStatus
AWAITING_DECISION = frozenset(
    {S.received.value, S.registered.value, S.awaiting_documents.value, S.awaiting_signature.value}
)
OVERDUE = "overdue"
DUE_TODAY = "due_today"
DUE_NEXT_WORKING_DAY = "due_next_working_day"


@dataclass(frozen=True)
class Bucket:
    """Open cases sharing benefit, channel, status and due date; the earliest received among them."""

    benefit: str
    channel: str
    status: str
    due_by: date | None
    count: int
    oldest_received_at: datetime


@dataclass(frozen=True)
class OverdueCase:
    """The most overdue case of a benefit (earliest due date, then earliest received): its id, not personal data."""

    benefit: str
    application_id: str
    due_by: date
    received_at: datetime


def almaty_today(now: datetime) -> date:
    """The calendar day in Almaty at the instant ``now`` (aware)."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    return now.astimezone(ALMATY).date()


def term_state(status: str, due_by: date | None, *, today: date, next_working_day: date) -> str | None:
    """overdue, due_today, due_next_working_day, or None (not due soon, no due date yet, or decided)."""
    if due_by is None or status not in AWAITING_DECISION:
        return None
    if due_by < today:
        return OVERDUE
    if due_by == today:
        return DUE_TODAY
    if due_by <= next_working_day:
        return DUE_NEXT_WORKING_DAY
    return None


class Figures(BaseModel):
    open: int = Field(0, description="Cases not in a terminal status (rejected, refused, paid).")
    due_today: int = Field(0, description="Open cases awaiting a decision whose due_by is today (Almaty).")
    due_next_working_day: int = Field(
        0, description="Open cases awaiting a decision due after today, on or before the next working day."
    )
    overdue: int = Field(0, description="Open cases awaiting a decision whose due_by is before today: the term is breached.")

    def add(self, count: int, state: str | None) -> None:
        self.open += count
        if state == OVERDUE:
            self.overdue += count
        elif state == DUE_TODAY:
            self.due_today += count
        elif state == DUE_NEXT_WORKING_DAY:
            self.due_next_working_day += count


class SlaGroup(Figures):
    benefit: str
    channel: str
    status: str
    oldest_received_at: datetime = Field(description="When the oldest open case of the group was received.")
    oldest_due_by: date | None = Field(description="That case's due date (null before it is registered).")


class OldestOverdue(BaseModel):
    application_id: str
    due_by: date
    received_at: datetime


class SlaBenefit(Figures):
    benefit: str
    oldest_overdue: OldestOverdue | None = Field(
        None, description="The most overdue case of the benefit (earliest due_by), for ops to look at first."
    )


class SlaReport(BaseModel):
    as_of: datetime = Field(description="When the figures were read (Almaty time).")
    timezone: str = "Asia/Almaty"
    today: date
    next_working_day: date
    groups: list[SlaGroup] = Field(description="Per benefit, channel and status; only groups with open cases.")
    benefits: list[SlaBenefit]
    totals: Figures


def report(
    buckets: Iterable[Bucket],
    overdue_cases: Iterable[OverdueCase],
    *,
    now: datetime,
    next_working_day: date,
) -> SlaReport:
    """Fold the buckets into groups, per-benefit figures and totals."""
    today = almaty_today(now)
    groups: dict[tuple[str, str, str], SlaGroup] = {}
    benefits: dict[str, SlaBenefit] = {}
    totals = Figures()
    for b in sorted(buckets, key=lambda b: (b.oldest_received_at, b.due_by or date.max)):
        state = term_state(b.status, b.due_by, today=today, next_working_day=next_working_day)
        key = (b.benefit, b.channel, b.status)
        group = groups.get(key)
        if group is None:  # the first bucket seen holds the group's oldest case (sorted by received)
            group = groups[key] = SlaGroup(
                benefit=b.benefit, channel=b.channel, status=b.status,
                oldest_received_at=b.oldest_received_at, oldest_due_by=b.due_by,
            )
        group.add(b.count, state)
        benefits.setdefault(b.benefit, SlaBenefit(benefit=b.benefit)).add(b.count, state)
        totals.add(b.count, state)
    for case in overdue_cases:
        if case.benefit in benefits:
            benefits[case.benefit].oldest_overdue = OldestOverdue(
                application_id=case.application_id, due_by=case.due_by, received_at=case.received_at
            )
    return SlaReport(
        as_of=now.astimezone(ALMATY),
        today=today,
        next_working_day=next_working_day,
        groups=[groups[k] for k in sorted(groups)],
        benefits=[benefits[k] for k in sorted(benefits)],
        totals=totals,
    )


def per_benefit_channel(
    buckets: Iterable[Bucket], *, today: date, next_working_day: date
) -> dict[tuple[str, str], Figures]:
    """The gauges' figures: open, due today, due the next working day and overdue per (benefit, channel)."""
    out: dict[tuple[str, str], Figures] = {}
    for b in buckets:
        state = term_state(b.status, b.due_by, today=today, next_working_day=next_working_day)
        out.setdefault((b.benefit, b.channel), Figures()).add(b.count, state)
    return out
