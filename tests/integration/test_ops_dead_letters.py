"""The shared ops tooling (common/service.py `_ops_router`) through a real service app (notifier):
dead letters listed page by page and masked, every call audited, a replay that runs once even when
two arrive together; quarantined outbox rows and failed jobs listed for ops."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from types import SimpleNamespace

import httpx
import pytest
from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import async_sessionmaker

from common.consumer import DeadLetter, EventConsumer
from common.outbox import add_event
from services.notifier import app as notifier_app
from services.notifier.adapters.orm import Notification, messaging
from services.notifier.settings import NotifierSettings
from tests.callers import caller_headers
from tests.integration.helpers import application_data, application_event, new_iin, new_phone


def ops() -> dict[str, str]:
    """Minted per request: the gateway's internal credential is short-lived."""
    return caller_headers("ops", service="notifier")


IBAN = "KZ75125KZT2069100100"


@dataclass
class Notifier:
    http: httpx.AsyncClient
    sessions: async_sessionmaker
    runtime: object

    async def dead_letter(self, value: bytes | None, *, error: str = "ValueError('boom')", event=None) -> int:
        message = SimpleNamespace(topic="applications", partition=0, offset=0, value=value)
        letter = DeadLetter.of(message, event, error, attempts=3, consumer="notifier")  # type: ignore[arg-type]
        async with self.sessions() as s, s.begin():
            return await s.scalar(insert(messaging.dead_letters).values(letter.row()).returning(messaging.dead_letters.c.id))


@pytest.fixture
async def notifier(fresh_database, kafka_bootstrap, monkeypatch) -> AsyncIterator[Notifier]:
    forever = asyncio.Event()

    async def idle(self) -> None:  # handlers registered, no group join in the mock cluster (3-9 s)
        await forever.wait()

    monkeypatch.setattr(EventConsumer, "run", idle)
    monkeypatch.setattr(notifier_app, "workers", lambda runtime: {})
    settings = NotifierSettings(DATABASE_URL=fresh_database(), KAFKA_BOOTSTRAP_SERVERS=kafka_bootstrap, DEV_MODE=True)
    app = notifier_app.create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://notifier") as http:
            runtime = app.state.runtime
            yield Notifier(http, runtime.sessions, runtime)


def _received(applicant: str, phone: str):
    data = application_data(channel="proactive", applicant_iin=applicant, phone=phone, registered=False)
    return application_event("application.received", data)


async def test_dead_letters_are_listed_page_by_page_with_a_capped_limit(notifier):
    ids = [await notifier.dead_letter(f'{{"n": {n}}}'.encode()) for n in range(5)]
    seen, after, pages = [], 0, 0
    while True:
        r = await notifier.http.get("/api/v1/ops/dead-letters", params={"limit": 2, "after_id": after}, headers=ops())
        assert r.status_code == 200, r.text
        body = r.json()
        assert len(body["items"]) <= 2
        seen += [item["id"] for item in body["items"]]
        pages += 1
        if body["next_after_id"] is None:
            break
        after = body["next_after_id"]
    assert seen == ids and pages == 3
    too_many = await notifier.http.get("/api/v1/ops/dead-letters", params={"limit": 10_000}, headers=ops())
    assert too_many.status_code == 422


async def test_the_listing_masks_personal_data_and_every_ops_call_is_audited(notifier, caplog):
    applicant, phone = new_iin(), new_phone()
    event = _received(applicant, phone)
    payload = event.to_bytes().replace(b'"iban":"KZ86125KZT5004100100"', f'"iban":"{IBAN}"'.encode())
    payload = payload.replace(b'"applicant":{', '"applicant":{"last_name":"Сейітова",'.encode())
    assert "Сейітова".encode() in payload and IBAN.encode() in payload
    error = f"ValueError('no account {IBAN} for {applicant}, phone {phone}')"
    await notifier.dead_letter(payload, error=error, event=event)
    await notifier.dead_letter(None, error="tombstone: a message with no value")
    with caplog.at_level(logging.INFO, logger="audit"):
        r = await notifier.http.get("/api/v1/ops/dead-letters", headers=ops())
    assert r.status_code == 200
    listing = r.text
    for secret in (applicant, phone, phone.lstrip("+"), IBAN, "Сейітова"):
        assert secret not in listing
    first, tombstone = r.json()["items"]
    assert '"last_name":"***"' in first["preview"] and applicant[-4:] in first["preview"]
    assert first["payload_sha256"] and first["tombstone"] is False
    assert first["event_id"] == str(event.id)
    assert tombstone["tombstone"] is True and tombstone["preview"] == ""
    assert any("listed 2 dead letters" in rec.getMessage() and "ops:" in rec.getMessage() for rec in caplog.records)
    specialist = caller_headers("specialist", service="notifier")
    assert (await notifier.http.get("/api/v1/ops/dead-letters", headers=specialist)).status_code == 403


async def test_two_replays_of_one_dead_letter_at_once_run_it_once(notifier, caplog):
    event = _received(new_iin(), new_phone())
    dead_id = await notifier.dead_letter(event.to_bytes(), event=event)
    consumer = notifier.runtime.consumers[0]
    real = consumer.spec.handlers["application.received"]
    runs = {"n": 0}

    async def slow(session, envelope):  # widens the window in which both requests are inside
        runs["n"] += 1
        await asyncio.sleep(0.3)
        await real(session, envelope)

    consumer.spec.handlers["application.received"] = slow
    url = f"/api/v1/ops/dead-letters/{dead_id}/replay"
    with caplog.at_level(logging.INFO, logger="audit"):
        answers = await asyncio.gather(notifier.http.post(url, headers=ops()), notifier.http.post(url, headers=ops()))
    assert sorted(a.status_code for a in answers) == [200, 409], [a.text for a in answers]
    assert runs["n"] == 1
    async with notifier.sessions() as s:
        assert await s.scalar(select(func.count()).select_from(Notification)) == 1
        replayed = await s.scalar(select(messaging.dead_letters.c.replayed_at).where(messaging.dead_letters.c.id == dead_id))
    assert replayed is not None
    assert sum("replay dead letter" in rec.getMessage() for rec in caplog.records) == 2
    assert (await notifier.http.post("/api/v1/ops/dead-letters/999999/replay", headers=ops())).status_code == 404


async def test_a_replay_that_cannot_run_leaves_the_dead_letter_open(notifier):
    tombstone = await notifier.dead_letter(None, error="tombstone")
    r = await notifier.http.post(f"/api/v1/ops/dead-letters/{tombstone}/replay", headers=ops())
    assert r.status_code == 409 and "tombstone" in r.json()["detail"]
    listed = (await notifier.http.get("/api/v1/ops/dead-letters", headers=ops())).json()["items"]
    assert [item["id"] for item in listed] == [tombstone]  # the claim rolled back with the refusal


async def test_quarantined_events_and_failed_jobs_are_listed_for_ops_and_counted(notifier):
    phone = new_phone()
    event = _received(new_iin(), phone)
    async with notifier.sessions() as s, s.begin():
        await add_event(s, messaging, "applications", event)
        await s.execute(
            update(messaging.outbox)
            .where(messaging.outbox.c.event_id == event.id)
            .values(quarantined_at=func.now(), error="MessageSizeTooLarge: 2000000 bytes")
        )
        note_id = uuid.uuid4()
        s.add(Notification(
            id=note_id, application_id=uuid.uuid4(), kind="receipt", channel="sms", phone=phone, iin=None,
            text_kk="-", text_ru="-", status="failed", attempts=20, last_error=f"answered 400 for {phone}",
        ))
    r = await notifier.http.get("/api/v1/ops/outbox/quarantined", headers=ops())
    assert r.status_code == 200
    [item] = r.json()["items"]
    assert item["event_id"] == str(event.id) and item["type"] == event.type and "MessageSizeTooLarge" in item["error"]

    r = await notifier.http.get("/api/v1/ops/failed-jobs", headers=ops())
    assert r.status_code == 200 and phone not in r.text
    [job] = r.json()["items"]
    assert job["job"] == "notifications" and job["key"] == str(note_id) and job["attempts"] == 20

    metrics = (await notifier.http.get("/metrics")).text
    assert 'emaket_outbox_quarantined{service="notifier"} 1' in metrics
    assert 'emaket_jobs_failed_notifications{service="notifier"} 1' in metrics
    assert 'emaket_outbox_backlog{service="notifier"} 0' in metrics

    retry = f"/api/v1/ops/failed-jobs/notifications/{note_id}/retry"
    assert (await notifier.http.post(retry, headers=ops())).status_code == 200
    assert (await notifier.http.post(retry, headers=ops())).status_code == 404  # no longer failed
    async with notifier.sessions() as s:
        note = await s.get(Notification, note_id)
    assert note.status == "pending" and note.attempts == 0
