"""Notifier on a fresh database, delivering to the real sandbox SMS gateway and personal cabinet."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from common.envelope import Envelope
from common.reasons import reason
from services.notifier import handlers
from services.notifier.adapters.gateways import Delivery
from services.notifier.adapters.orm import Notification
from tests.integration.helpers import (
    application_data,
    application_event,
    decision_event,
    decision_signed_data,
    make_due_now,
    migrated,
    new_bin,
)


@pytest.fixture
async def sessions(fresh_database) -> AsyncIterator:
    async with migrated(fresh_database(), "notifier") as factory:
        yield factory


@pytest.fixture
def delivery(sandbox) -> Delivery:
    return Delivery(sandbox.client("sms"), sandbox.client("cabinet"))


async def handle(sessions, event: Envelope) -> None:
    async with sessions() as session, session.begin():
        await handlers.on_status_event(session, event)


async def notifications(sessions) -> list[Notification]:
    async with sessions() as session:
        return list(await session.scalars(select(Notification).order_by(Notification.created_at, Notification.kind)))


async def test_the_same_event_twice_makes_one_notification(sessions):
    """Guarantee 1: the message id derives from the event id, so a redelivery cannot notify twice."""
    event = application_event("application.received", application_data(channel="proactive", registered=False))
    await handle(sessions, event)
    await handle(sessions, event)
    assert len(await notifications(sessions)) == 1


def _events(data: dict) -> dict[str, Envelope]:
    return {
        "receipt": application_event("application.received", data),
        "accepted": application_event("application.registered", data),
        "rejected": application_event("application.rejected", data, reasons=[reason("duplicate_application")]),
        "result": decision_event(decision_signed_data(data)),
    }


async def test_each_status_event_makes_its_message_in_kazakh_and_russian(sessions):
    """B§12 receipt, B§13/B§16 acceptance and rejection, Annex 13 result — each in kk and ru."""
    data = application_data(channel="proactive")
    for event in _events(data).values():
        await handle(sessions, event)
    notes = {n.kind: n for n in await notifications(sessions)}
    assert set(notes) == {"receipt", "accepted", "rejected", "result"}
    assert all(n.channel == "sms" and n.phone == data["contact"]["phone"] and n.status == "pending" for n in notes.values())
    expected = {  # a word of each language the other text does not carry
        "receipt": ("алынды", "получено"),
        "accepted": ("тіркелді", "зарегистрировано"),
        "rejected": ("қабылданбады", "не принято"),
        "result": ("тағайындалды", "назначена"),
    }
    for kind, (kk, ru) in expected.items():
        assert kk in notes[kind].text_kk and kk not in notes[kind].text_ru, kind
        assert ru in notes[kind].text_ru and ru not in notes[kind].text_kk, kind
    assert data["registration_number"] in notes["accepted"].text_ru
    assert "151 375" in notes["result"].text_kk and "151 375" in notes["result"].text_ru
    assert reason("duplicate_application")["message_kk"] in notes["rejected"].text_kk
    assert reason("duplicate_application")["message_ru"] in notes["rejected"].text_ru


async def test_proactive_message_goes_by_sms_then_is_sent(sessions, sandbox, delivery):
    """B§19-1: the proactive applicant hears by SMS; both languages in one message."""
    data = application_data(channel="proactive")
    await handle(sessions, _events(data)["accepted"])
    assert await handlers.deliver_one(sessions, delivery) == 1
    assert await handlers.deliver_one(sessions, delivery) == 0

    [note] = await notifications(sessions)
    assert note.status == "sent" and note.sent_at is not None
    [sms] = await sandbox.sent("sms", phone=data["contact"]["phone"])
    assert sms["kind"] == "accepted" and sms["text"] == f"{note.text_kk}\n{note.text_ru}"
    assert await sandbox.sent("cabinet") == []


async def test_portal_message_goes_to_the_personal_cabinet_then_is_sent(sessions, sandbox, delivery):
    """B§13: a portal applicant reads the message in the e-gov personal cabinet, in kk and ru."""
    data = application_data(channel="portal", registered=False)
    assert data["contact"]["channel"] == "cabinet"
    await handle(sessions, _events(data)["receipt"])
    await handlers.deliver_one(sessions, delivery)

    [note] = await notifications(sessions)
    assert note.status == "sent"
    [message] = await sandbox.sent("cabinet", iin=data["applicant"]["iin"])
    assert message["application_id"] == data["application_id"] and message["kind"] == "receipt"
    assert (message["text_kk"], message["text_ru"]) == (note.text_kk, note.text_ru)
    assert await sandbox.sent("sms") == []


async def test_sms_gateway_fault_retries_later_then_sends_once(sessions, sandbox, delivery):
    """Guarantee 4: a gateway outage delays the message with backoff; it is sent once when it is back."""
    data = application_data(channel="proactive")
    await handle(sessions, _events(data)["result"])
    await sandbox.fail_next("sms", 3)
    before = datetime.now(timezone.utc)
    assert await handlers.deliver_one(sessions, delivery) == 1

    [note] = await notifications(sessions)
    assert note.status == "pending" and note.attempts == 1 and note.next_attempt_at > before
    assert "sms" in note.last_error
    assert await sandbox.sent("sms") == []
    assert await handlers.deliver_one(sessions, delivery) == 0  # backoff holds

    await make_due_now(sessions, Notification, id=note.id)
    assert await handlers.deliver_one(sessions, delivery) == 1
    [note] = await notifications(sessions)
    assert note.status == "sent" and note.attempts == 1
    assert len(await sandbox.sent("sms")) == 1


async def test_an_event_without_a_contact_channel_notifies_nobody(sessions):
    """A legal entity with no phone at the desk gets a paper receipt: nothing to send electronically."""
    data = application_data(channel="state_corp", applicant_bin=new_bin(), registered=False)
    assert data["contact"]["channel"] is None
    await handle(sessions, application_event("application.received", data))
    assert await notifications(sessions) == []
