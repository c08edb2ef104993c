"""Notifier's tables, in schema `notifier`."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import DateTime, Index, Integer, MetaData, Text, func, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from common.outbox import messaging_tables

SCHEMA = "notifier"
metadata = MetaData(schema=SCHEMA)
messaging = messaging_tables(metadata)


class Base(DeclarativeBase):
    metadata = metadata


class Notification(Base):
    """One message to one citizen; its id is derived from the event, so a redelivery cannot send twice."""

    __tablename__ = "notifications"
    __table_args__ = (
        # The per-phone SMS limit counts a phone's sent SMS of the last hour (handlers._phone_is_over_limit).
        Index("ix_notifications_sms_phone_sent", "phone", "sent_at", postgresql_where=text("channel = 'sms' AND status = 'sent'")),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    application_id: Mapped[uuid.UUID] = mapped_column(index=True)
    kind: Mapped[str] = mapped_column(Text)
    channel: Mapped[str] = mapped_column(Text)  # sms | cabinet
    phone: Mapped[str | None] = mapped_column(Text)
    iin: Mapped[str | None] = mapped_column(Text)
    text_kk: Mapped[str] = mapped_column(Text)
    text_ru: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text, index=True)  # pending | sent | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The W3C context the job was enqueued in: its run continues the case's trace (common/jobs.traced).
    traceparent: Mapped[str | None] = mapped_column(Text)
