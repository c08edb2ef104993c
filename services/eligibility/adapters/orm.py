"""Eligibility's tables, in schema `eligibility`."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import DateTime, Integer, MetaData, Text, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from common.outbox import messaging_tables

SCHEMA = "eligibility"
metadata = MetaData(schema=SCHEMA)
messaging = messaging_tables(metadata)


class Base(DeclarativeBase):
    metadata = metadata


class Check(Base):
    """A durable job: check one application against the registries, retried until they answer."""

    __tablename__ = "checks"

    application_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    round: Mapped[int] = mapped_column(Integer, primary_key=True, default=1)  # +1 after each set of documents
    benefit: Mapped[str] = mapped_column(Text)
    application: Mapped[dict] = mapped_column(JSONB)
    status: Mapped[str] = mapped_column(Text, default="pending", index=True)  # pending | done
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    last_error: Mapped[str | None] = mapped_column(Text)
    result: Mapped[dict | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The W3C context the job was enqueued in: its run continues the case's trace (common/jobs.traced).
    traceparent: Mapped[str | None] = mapped_column(Text)
