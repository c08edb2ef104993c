"""Payment queue's tables, in schema `payment_queue`."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import BigInteger, Date, DateTime, Identity, Integer, MetaData, Text, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from common.outbox import messaging_tables

SCHEMA = "payment_queue"
metadata = MetaData(schema=SCHEMA)
messaging = messaging_tables(metadata)


class Base(DeclarativeBase):
    metadata = metadata


class PaymentOrder(Base):
    """One payment order per assigned decision: the primary key is the decision id (guarantee 2)."""

    __tablename__ = "payment_orders"

    decision_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    application_id: Mapped[uuid.UUID] = mapped_column(index=True)
    benefit: Mapped[str] = mapped_column(Text)
    payee_id: Mapped[str | None] = mapped_column(Text)  # None only on an order held back (rejected) for ops
    iban: Mapped[str | None] = mapped_column(Text)
    amount_kzt: Mapped[int] = mapped_column(BigInteger)
    amount_kind: Mapped[str] = mapped_column(Text, server_default="one_time")  # one_time | monthly
    period_start: Mapped[date | None] = mapped_column(Date)  # monthly benefits: the first day paid
    purpose: Mapped[str] = mapped_column(Text)  # fixed when queued, so every retry sends the same order
    status: Mapped[str] = mapped_column(Text, index=True)  # pending | placed | paid | rejected
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    last_error: Mapped[str | None] = mapped_column(Text)
    external_order_id: Mapped[str | None] = mapped_column(Text)
    decision: Mapped[dict] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    placed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Once placed, the payments database is asked when it has paid (the acknowledgement).
    next_check_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    paid_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The W3C context the job was enqueued in: its run continues the case's trace (common/jobs.traced).
    traceparent: Mapped[str | None] = mapped_column(Text)


class HeldDecision(Base):
    """A decision.signed that is not paid: its signature does not verify, names an unknown key, or its fields
    disagree with the signed document. Kept apart from the orders, so the genuine decision is still paid."""

    __tablename__ = "held_decisions"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    event_id: Mapped[uuid.UUID] = mapped_column(unique=True)  # a redelivery is held once
    decision_id: Mapped[uuid.UUID] = mapped_column(index=True)  # as the event claims it
    application_id: Mapped[uuid.UUID] = mapped_column()
    kid: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)  # domain.verification.HoldReason
    detail: Mapped[str] = mapped_column(Text)  # field and key names only: no personal data
    status: Mapped[str] = mapped_column(Text, index=True, server_default="held")  # held | released
    envelope: Mapped[dict] = mapped_column(JSONB)  # the event as received, for a re-check
    held_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    released_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
