"""Notifier: turn status events into messages, then deliver them with retries."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from common.envelope import Envelope
from common.http import ExternalUnavailable
from common.identifiers import mask_phone
from common.jobs import claim_due, record_attempt, retry_at, trace_context, traced
from common.metrics import MESSAGE_CHANNELS, MESSAGE_KINDS, MESSAGES_SENT, count, label
from services.notifier.adapters.gateways import Delivery
from services.notifier.adapters.orm import Notification
from services.notifier.domain.templates import notice_of

log = logging.getLogger(__name__)
_NAMESPACE = uuid.UUID("5d7c1d9e-5f0b-4d6e-9a51-6a0c1f1b2b10")
MAX_ATTEMPTS = 20
SMS_WINDOW = timedelta(hours=1)
PER_PHONE_LIMIT = "per-phone SMS limit"


async def on_status_event(session: AsyncSession, event: Envelope) -> None:
    """Store the event's message for delivery; the id derives from the event, so a redelivery is a no-op."""
    notice = notice_of(event)
    if notice is None:
        return  # nobody to tell electronically (e.g. a legal entity with no phone: paper receipt at the desk)
    message, contact = notice.message, notice.contact
    await session.execute(
        pg_insert(Notification)
        .values(
            id=uuid.uuid5(_NAMESPACE, f"{event.id}:{message.kind}"),
            application_id=uuid.UUID(notice.application_id),
            kind=message.kind,
            channel=contact.channel,
            phone=contact.phone,
            iin=contact.iin,
            text_kk=message.text_kk,
            text_ru=message.text_ru,
            status="pending",
            traceparent=trace_context(),
        )
        .on_conflict_do_nothing()
    )


async def _phone_is_over_limit(session: AsyncSession, note: Notification, per_hour: int) -> bool:
    """Issue 6 point 10: no phone gets more than ``per_hour`` SMS an hour, however many cases name it.

    Over the limit a message waits (nothing a citizen must learn is dropped) until the oldest SMS of
    the window is an hour old. The advisory lock on the phone makes count-then-send exact across workers
    and replicas.
    """
    await session.execute(select(func.pg_advisory_xact_lock(func.hashtext(f"sms:{note.phone}"))))
    since = datetime.now(timezone.utc) - SMS_WINDOW
    sent = (
        select(Notification.sent_at)
        .where(Notification.channel == "sms", Notification.phone == note.phone,
               Notification.status == "sent", Notification.sent_at >= since)
        .subquery()
    )
    count, oldest = (await session.execute(select(func.count(), func.min(sent.c.sent_at)).select_from(sent))).one()
    if count < per_hour:
        return False
    note.next_attempt_at = oldest + SMS_WINDOW
    note.last_error = PER_PHONE_LIMIT
    log.warning("sms %s to %s waits until %s: %s of %d per hour", note.kind, mask_phone(note.phone or ""),
                note.next_attempt_at.isoformat(timespec="seconds"), count, per_hour)
    return True


async def deliver_one(sessions: async_sessionmaker, delivery: Delivery, *, sms_per_phone_per_hour: int = 10) -> int:
    async with sessions() as session, session.begin():
        note = await claim_due(session, Notification)
        if note is None:
            return 0
        with traced(note, f"{note.channel} message", **{"emaket.application_id": str(note.application_id)}):
            return await _deliver(session, note, delivery, sms_per_phone_per_hour)


async def _deliver(session: AsyncSession, note: Notification, delivery: Delivery, sms_per_phone_per_hour: int) -> int:
    if note.channel == "sms" and note.phone and await _phone_is_over_limit(session, note, sms_per_phone_per_hour):
        return 1
    try:
        if note.channel == "sms":
            status = await delivery.send_sms(
                message_id=str(note.id), phone=note.phone, text=f"{note.text_kk}\n{note.text_ru}", kind=note.kind
            )
        else:
            status = await delivery.post_cabinet(
                message_id=str(note.id),
                iin=note.iin,
                application_id=str(note.application_id),
                kind=note.kind,
                text_kk=note.text_kk,
                text_ru=note.text_ru,
            )
    except ExternalUnavailable as exc:
        status, note.last_error = None, str(exc)
    if status is not None and status < 300:
        note.status = "sent"
        note.sent_at = datetime.now(timezone.utc)
        record_attempt(note, "succeeded")
        # Kind and channel only: never the phone or the IIN (guarantee 8).
        count(MESSAGES_SENT, session, service="notifier", kind=label(note.kind, MESSAGE_KINDS),
              channel=label(note.channel, MESSAGE_CHANNELS))
        return 1
    note.attempts += 1
    if status is not None:
        note.last_error = f"answered {status}"
    if note.attempts >= MAX_ATTEMPTS or (status is not None and 400 <= status < 500):
        note.status = "failed"
        record_attempt(note, "failed" if note.attempts >= MAX_ATTEMPTS else "refused")
        log.error("giving up on a %s %s message after %d attempts: %s", note.channel, note.kind, note.attempts, note.last_error)
    else:
        note.next_attempt_at = retry_at(note.attempts, cap_s=300)
        record_attempt(note, "retried")
    return 1
