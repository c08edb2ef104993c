"""Decision's tables, in schema `decision`."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import Boolean, Date, DateTime, Integer, MetaData, Text, UniqueConstraint, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from common.outbox import messaging_tables

SCHEMA = "decision"
metadata = MetaData(schema=SCHEMA)
messaging = messaging_tables(metadata)


class Base(DeclarativeBase):
    metadata = metadata


class Case(Base):
    """What arrived so far for one application: its registration and the registry checks, in any order."""

    __tablename__ = "cases"

    application_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    registration: Mapped[dict | None] = mapped_column(JSONB)
    eligibility: Mapped[dict | None] = mapped_column(JSONB)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Decision(Base):
    """The electronic case file (Annex 7) and the draft decision, then the signed decision."""

    __tablename__ = "decisions"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    application_id: Mapped[uuid.UUID] = mapped_column(unique=True)  # one decision per application
    benefit: Mapped[str] = mapped_column(Text)
    channel: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text, index=True)  # domain.state.DecisionState
    proposed_outcome: Mapped[str] = mapped_column(Text)
    outcome: Mapped[str | None] = mapped_column(Text)
    amount_kzt: Mapped[int] = mapped_column(Integer)
    amount_kind: Mapped[str] = mapped_column(Text, server_default="one_time")  # one_time | monthly
    amount_known: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))  # False: a specialist enters it
    period_start: Mapped[date | None] = mapped_column(Date)
    reasons: Mapped[list] = mapped_column(JSONB)
    explanation: Mapped[list] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    applicant_iin: Mapped[str | None] = mapped_column(Text, index=True)  # who may read it as a citizen
    due_by: Mapped[date | None] = mapped_column(Date, index=True)  # the application's, from the registration half
    also_apply_for: Mapped[list] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    case_file: Mapped[dict] = mapped_column(JSONB)
    case_file_sha256: Mapped[str] = mapped_column(Text)
    drafted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    signed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    signed_by: Mapped[str | None] = mapped_column(Text)
    signed_document: Mapped[dict | None] = mapped_column(JSONB)
    signature: Mapped[str | None] = mapped_column(Text)
    key_id: Mapped[str | None] = mapped_column(Text)


class FollowUp(Base):
    """A benefit the applicant also asked for in one application (D-Std p.4, p.10), open for a specialist."""

    __tablename__ = "follow_ups"
    __table_args__ = (UniqueConstraint("application_id", "benefit"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    application_id: Mapped[uuid.UUID] = mapped_column()
    decision_id: Mapped[uuid.UUID] = mapped_column()
    benefit: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text, server_default="open", index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
