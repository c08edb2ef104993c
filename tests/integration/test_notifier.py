"""Notifier on a fresh database, delivering to the real sandbox SMS gateway and personal cabinet."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, datetime, timezone

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
    new_iin,
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


@pytest.mark.law("B12.electronic-receipt", "B13.acceptance-message-cabinet")
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


@pytest.mark.law("B-Std5.proactive-sms", "D-Std5.proactive-sms", "S-Std5.proactive-sms")
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


@pytest.mark.law(
    "B13.acceptance-message-cabinet", "B-Std8.portal-status-in-cabinet", "D-Std8.portal-status-in-cabinet",
    "S-Std8.portal-status-in-cabinet",
)
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


def _documents_requested(data: dict, *about: str) -> Envelope:
    """application.documents_requested as intake writes it: the case waits, the term moved (D§7, S§7)."""
    requested = [{"type": "birth_certificate", "about": iin, "reason": "no birth record"} for iin in about]
    requested.append({"type": "death_certificate", "about": None, "reason": "no death record"})
    return application_event(
        "application.documents_requested", data, status="awaiting_documents", due_by="2026-11-10",
        requested_documents=requested,
    )


@pytest.mark.law("S-Std3.extension-5wd")
@pytest.mark.parametrize(("channel", "via"), [("proactive", "sms"), ("portal", "cabinet")])
async def test_documents_requested_reaches_the_citizen_by_sms_or_cabinet(sessions, sandbox, delivery, channel, via):
    """D§7, S§7, S§24: which documents (kk/ru names), about whom (masked IIN), the new term — by SMS or cabinet."""
    child = new_iin(date(2012, 3, 4))
    data = application_data(channel=channel, benefit="survivor", dependants=(child,))
    await handle(sessions, _documents_requested(data, child))
    assert await handlers.deliver_one(sessions, delivery) == 1

    [note] = await notifications(sessions)
    assert note.kind == "documents_requested" and note.channel == via and note.status == "sent"
    assert "свидетельство о рождении (ИИН ********" + child[-4:] + ")" in note.text_ru
    assert "туу туралы куәлік (ЖСН ********" + child[-4:] + ")" in note.text_kk
    assert "свидетельство о смерти" in note.text_ru and "қайтыс болуы туралы куәлік" in note.text_kk
    assert "10.11.2026" in note.text_kk and "10.11.2026" in note.text_ru
    assert child not in note.text_kk + note.text_ru
    if via == "sms":
        [sms] = await sandbox.sent("sms", phone=data["contact"]["phone"])
        assert sms["kind"] == "documents_requested" and sms["text"] == note.text_kk + "\n" + note.text_ru
        assert await sandbox.sent("cabinet") == []
    else:
        [message] = await sandbox.sent("cabinet", iin=data["applicant"]["iin"])
        assert message["kind"] == "documents_requested" and message["text_ru"] == note.text_ru
        assert await sandbox.sent("sms") == []


@pytest.mark.law("D-Std5.result-notification")
@pytest.mark.parametrize(
    ("benefit", "kk", "ru"),
    [
        ("disability", "02.08.2026 бастап ай сайынғы 137 620 теңге", "ежемесячное пособие в размере 137 620 тенге с 02.08.2026"),
        ("survivor", "02.08.2026 бастап ай сайынғы 137 620 теңге", "ежемесячное пособие в размере 137 620 тенге с 02.08.2026"),
    ],
)
async def test_a_monthly_assignment_is_announced_with_its_amount_and_first_day(sessions, sandbox, delivery, benefit, kk, ru):
    """D§24, S§24, Annex 13: the result names the monthly amount and the day it runs from, in kk and ru, by SMS."""
    data = application_data(channel="proactive", benefit=benefit)
    await handle(sessions, decision_event(decision_signed_data(data, amount_kzt=137_620)))
    await handlers.deliver_one(sessions, delivery)
    [note] = await notifications(sessions)
    assert note.kind == "result" and note.status == "sent"
    assert kk in note.text_kk and ru in note.text_ru
    [sms] = await sandbox.sent("sms", phone=data["contact"]["phone"])
    assert sms["kind"] == "result"


@pytest.mark.law("S34.appeal", "S-Std5.result-notification")
async def test_a_survivor_assignment_names_who_it_leaves_out_and_the_appeal(sessions):
    """S§7, S§24, S§34: a listed person found not to be a dependant is named by masked IIN; the appeal is possible."""
    left_out = new_iin(date(1990, 1, 1))
    data = application_data(channel="portal", benefit="survivor", dependants=(left_out,))
    signed = decision_signed_data(data, amount_kzt=137_620) | {"reasons": [reason("not_dependant", subject=left_out)]}
    await handle(sessions, decision_event(signed))
    [note] = await notifications(sessions)
    assert f"Не включены в назначение: ИИН ********{left_out[-4:]}" in note.text_ru
    assert reason("not_dependant")["message_ru"] in note.text_ru
    assert "обжаловать" in note.text_ru and "шағымдан" in note.text_kk
    assert left_out not in note.text_kk + note.text_ru


async def test_no_phone_gets_more_sms_an_hour_than_the_limit_and_the_rest_wait(sessions, sandbox, delivery):
    """Issue 6 point 10: five cases naming one phone (an SMS bomb, or a busy family) — 3 go out, the rest wait."""
    phone = application_data(channel="proactive")["contact"]["phone"]
    for _ in range(5):
        data = application_data(channel="proactive")
        data["contact"]["phone"] = phone
        await handle(sessions, _events(data)["accepted"])
    other = application_data(channel="proactive")
    await handle(sessions, _events(other)["accepted"])

    while await handlers.deliver_one(sessions, delivery, sms_per_phone_per_hour=3):
        pass
    assert len(await sandbox.sent("sms", phone=phone)) == 3
    assert len(await sandbox.sent("sms", phone=other["contact"]["phone"])) == 1  # another phone is not held up
    waiting = [n for n in await notifications(sessions) if n.status == "pending"]
    assert len(waiting) == 2
    assert all(n.last_error == handlers.PER_PHONE_LIMIT and n.next_attempt_at > datetime.now(timezone.utc) for n in waiting)
