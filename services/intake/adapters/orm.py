"""Intake's tables, all in schema `intake` (architecture.md guarantee 5)."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    MetaData,
    Sequence,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from common.outbox import messaging_tables

SCHEMA = "intake"
metadata = MetaData(schema=SCHEMA)
messaging = messaging_tables(metadata)
journal_number_seq = Sequence("journal_number_seq", metadata=metadata)


class Base(DeclarativeBase):
    metadata = metadata


class Application(Base):
    __tablename__ = "applications"
    __table_args__ = (
        # Same caller + same key = same application (api.md idempotency).
        UniqueConstraint("idempotency_scope", "idempotency_key", name="uq_applications_idempotency"),
        Index("ix_applications_applicant_iin", "applicant_iin"),
        # Open cases by status and due date (SLA view, case gauges): a positive IN list of open statuses.
        Index("ix_applications_status_due_by", "status", "due_by"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    benefit: Mapped[str] = mapped_column(Text)
    channel: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text)
    applicant_iin: Mapped[str | None] = mapped_column(Text)
    applicant_bin: Mapped[str | None] = mapped_column(Text)
    deceased_iin: Mapped[str | None] = mapped_column(Text)
    body: Mapped[dict] = mapped_column(JSONB)
    body_sha256: Mapped[str] = mapped_column(Text)
    idempotency_scope: Mapped[str] = mapped_column(Text)
    idempotency_key: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    registration_number: Mapped[str | None] = mapped_column(Text, unique=True)
    registered_on: Mapped[date | None] = mapped_column(Date)
    due_by: Mapped[date | None] = mapped_column(Date)
    due_provisional: Mapped[bool] = mapped_column(Boolean, default=False)
    reasons: Mapped[list] = mapped_column(JSONB, default=list)
    documents: Mapped[list] = mapped_column(JSONB, default=list, server_default=text("'[]'::jsonb"))
    requested_documents: Mapped[list] = mapped_column(JSONB, default=list, server_default=text("'[]'::jsonb"))
    # The term rests on these two: the automated term (D§20-1) until the checks say a person decides,
    # and the working days added when documents are requested (D-Std p.3, S-Std p.3).
    term_automated: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    extension_days: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    decision: Mapped[dict | None] = mapped_column(JSONB)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), onupdate=func.now())


class StatusChange(Base):
    __tablename__ = "status_history"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    application_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("applications.id"), index=True)
    status: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Claim(Base):
    """Uniqueness claims held by the database (docs/benefits.md): burial:<deceased>, disability:<applicant>,
    survivor:<deceased>:<dependant>.

    The primary key makes concurrent submissions for one key serialise: exactly one wins. A rejected or
    refused application releases its claims (the applicant may apply again once the cause is removed,
    each Std p.9); an assigned one keeps them, except for listed people found not to be dependants.
    """

    __tablename__ = "claims"

    key: Mapped[str] = mapped_column(Text, primary_key=True)
    application_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("applications.id"), index=True)
    subject: Mapped[str | None] = mapped_column(Text)  # the person the claim is about (a dependant, the applicant)
    state: Mapped[str] = mapped_column(Text)  # filed | assigned
    claimed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ParkedEvent(Base):
    """An event that overtook the steps before it (docs/benefits.md States); applied right after them."""

    __tablename__ = "parked_events"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    application_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("applications.id"), index=True)
    envelope: Mapped[dict] = mapped_column(JSONB)
    parked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class JournalEntry(Base):
    """The electronic registration journal (Annex 6)."""

    __tablename__ = "journal"

    registration_number: Mapped[str] = mapped_column(Text, primary_key=True)
    application_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("applications.id"), unique=True)
    benefit: Mapped[str] = mapped_column(Text)
    channel: Mapped[str] = mapped_column(Text)
    registered_on: Mapped[date] = mapped_column(Date)
    due_by: Mapped[date] = mapped_column(Date)
    due_provisional: Mapped[bool] = mapped_column(Boolean)
    registered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
