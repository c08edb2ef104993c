"""Payment queue on a fresh database, placing orders in the real sandbox payments database.

Every decision.signed here is signed as decision signs it (a DecisionDocument, RFC 8785, Ed25519) with a key whose
public part the queue reads from the JWKS file decision writes: only what verifies is paid.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timezone
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import FastAPI
from sqlalchemy import func, select

from common.events import DecisionDocument, PaymentPaid, PaymentQueued
from common.problems import install_problem_handlers
from services.decision.adapters.signer import Keyring, Signer, load_keyring, write_jwks
from services.payment_queue import handlers
from services.payment_queue.adapters.decision_keys import DecisionKeys
from services.payment_queue.adapters.orm import PaymentOrder, messaging
from services.payment_queue.adapters.payments_db import PaymentsDatabase, Placement
from services.payment_queue.api import router as ops_router
from tests.callers import caller_headers
from tests.integration.helpers import (
    BURIAL_2026_KZT,
    IBAN,
    OTHER_IBAN,
    application_data,
    decision_event,
    make_due_now,
    migrated,
    outbox_events,
)
from tests.integration.helpers import decision_signed_data as unsigned_decision


@pytest.fixture
async def sessions(fresh_database) -> AsyncIterator:
    async with migrated(fresh_database(), "payment_queue") as factory:
        yield factory


@pytest.fixture
def payments_db(sandbox) -> PaymentsDatabase:
    return PaymentsDatabase(sandbox.client("payments"))


@pytest.fixture
def keyring(tmp_path) -> Keyring:
    """Decision's dev keys in a data folder of their own."""
    return load_keyring(None, None, dev_mode=True, data_dir=tmp_path)


@pytest.fixture
def jwks_file(keyring, tmp_path) -> Path:
    path = tmp_path / "keys" / "decision-jwks.json"
    write_jwks(keyring, path)  # what decision publishes at start
    return path


@pytest.fixture
def queue(jwks_file) -> handlers.SignedDecisions:
    return handlers.SignedDecisions(DecisionKeys(str(jwks_file), min_refresh_s=0))


def signed_with(signer: Signer, data: dict, *, kid: str | None = None) -> dict:
    """``data`` of decision.signed with its document, signature and kid, as decision's handler adds them."""
    payment = data["payment"]
    kid = kid or signer.key_id
    document = DecisionDocument.model_validate({
        "kid": kid, "decision_id": data["decision_id"], "application_id": data["application_id"],
        "benefit": data["benefit"], "channel": data["channel"], "outcome": data["outcome"],
        "amount_kzt": data["amount_kzt"], "amount_kind": data["amount_kind"], "period_start": data["period_start"],
        "reasons": [{"code": r["code"], "subject": r.get("subject")} for r in data["reasons"]],
        "payee": {"iin": payment["payee_iin"], "bin": payment["payee_bin"], "name": None}, "iban": payment["iban"],
        "signed_by": data["signed_by"], "signed_at": data["signed_at"], "case_file_sha256": "0" * 64,
    }).model_dump(mode="json")
    return data | {"signed_document": document, "signature": signer.sign(document), "kid": kid}


@pytest.fixture
def decision_signed_data(keyring):
    """helpers.decision_signed_data, signed with decision's current key."""

    def make(application: dict, **kw) -> dict:
        return signed_with(keyring.current, unsigned_decision(application, **kw))

    return make


@pytest.fixture
def signed(sessions, queue, decision_signed_data):
    async def handle(sessions=sessions, outcome: str = "assign") -> dict:
        """Handle one decision.signed event; returns its data."""
        data = decision_signed_data(application_data(channel="proactive"), outcome=outcome)
        async with sessions() as session, session.begin():
            await queue.on_decision_signed(session, decision_event(data))
        return data

    return handle


async def order_of(sessions, decision_id: str) -> PaymentOrder:
    async with sessions() as session:
        return await session.get(PaymentOrder, uuid.UUID(decision_id))


async def count_orders(sessions) -> int:
    async with sessions() as session:
        return await session.scalar(select(func.count()).select_from(PaymentOrder))


async def test_the_same_decision_twice_queues_one_payment_order(sessions, queue, decision_signed_data):
    """Guarantee 2: the decision id is the order's primary key, so a redelivery is a no-op."""
    data = decision_signed_data(application_data(channel="proactive"))
    for _ in range(2):
        async with sessions() as session, session.begin():
            await queue.on_decision_signed(session, decision_event(data))
    assert await count_orders(sessions) == 1
    order = await order_of(sessions, data["decision_id"])
    assert order.status == "pending" and order.amount_kzt == BURIAL_2026_KZT and order.iban == IBAN


async def test_a_refusal_queues_nothing(sessions, signed):
    """Only an assignment is paid (B§19-1)."""
    await signed(sessions, outcome="refuse")
    assert await count_orders(sessions) == 0


@pytest.mark.law("B19-1.auto-place-in-payments-db")
async def test_assigned_decision_is_placed_once_and_announced(sessions, sandbox, payments_db, signed):
    """B§19-1: the assignment goes to the payments database; payment.queued follows in the same transaction."""
    data = await signed(sessions)
    assert await handlers.place_one(sessions, payments_db) == 1
    assert await handlers.place_one(sessions, payments_db) == 0  # nothing else pending

    order = await order_of(sessions, data["decision_id"])
    [placed] = await sandbox.sent("payments")
    assert order.status == "placed" and order.external_order_id == placed["order_id"]
    assert placed["decision_id"] == data["decision_id"]
    assert (placed["iin"], placed["amount_kzt"], placed["iban"]) == (data["payment"]["payee_iin"], BURIAL_2026_KZT, IBAN)
    [event] = await outbox_events(sessions, messaging)
    assert event.name == "payment.queued" and event.subject == data["application_id"]
    assert event.data["order_id"] == placed["order_id"]
    assert event.data["contact"] == data["contact"]


async def test_payments_database_down_keeps_the_order_pending_for_a_retry(sessions, sandbox, payments_db, signed):
    """Guarantee 4: an outage delays the payment; no event until it is really placed."""
    data = await signed(sessions)
    await sandbox.fail_next("payments", 3)
    before = datetime.now(timezone.utc)
    assert await handlers.place_one(sessions, payments_db) == 1

    order = await order_of(sessions, data["decision_id"])
    assert order.status == "pending" and order.attempts == 1 and order.next_attempt_at > before
    assert "payments" in order.last_error
    assert await sandbox.sent("payments") == []
    assert await outbox_events(sessions, messaging) == []

    await make_due_now(sessions, PaymentOrder, decision_id=uuid.UUID(data["decision_id"]))
    await handlers.place_one(sessions, payments_db)
    assert (await order_of(sessions, data["decision_id"])).status == "placed"
    assert len(await sandbox.sent("payments")) == 1


class CrashAfterPlacing(PaymentsDatabase):
    """The payments database takes the order, then the worker dies before its commit (lost answer)."""

    crashed = False

    async def place(self, order: dict) -> Placement:
        placement = await super().place(order)
        if not self.crashed:
            self.crashed = True
            raise RuntimeError("worker killed after the call, before its commit")
        return placement


async def test_a_placement_whose_answer_was_lost_is_not_paid_twice(sessions, sandbox, signed):
    """Guarantee 1 + 2: the retry after a crash finds the order the payments database already holds."""
    data = await signed(sessions)
    crashing = CrashAfterPlacing(sandbox.client("payments"))
    with pytest.raises(RuntimeError):
        await handlers.place_one(sessions, crashing)
    order = await order_of(sessions, data["decision_id"])
    assert order.status == "pending"  # the worker's transaction rolled back
    [first] = await sandbox.sent("payments")  # ... but the payments database has the order

    assert await handlers.place_one(sessions, crashing) == 1
    order = await order_of(sessions, data["decision_id"])
    assert order.status == "placed" and order.external_order_id == first["order_id"]
    assert len(await sandbox.sent("payments")) == 1
    assert [e.name for e in await outbox_events(sessions, messaging)] == ["payment.queued"]


async def test_a_placed_order_is_acknowledged_paid_once_the_payments_database_confirms(sessions, sandbox, payments_db, signed):
    """api.md status `paid`: announced once the payments database confirms, and only then."""
    data = await signed(sessions)
    await handlers.place_one(sessions, payments_db)
    assert await handlers.confirm_one(sessions, payments_db, poll_every_s=0) == 0  # not paid yet
    assert (await order_of(sessions, data["decision_id"])).status == "placed"

    (await sandbox.admin.post(f"/sandbox/payments/{data['decision_id']}/paid")).raise_for_status()
    assert await handlers.confirm_one(sessions, payments_db, poll_every_s=0) == 1
    assert await handlers.confirm_one(sessions, payments_db, poll_every_s=0) == 0
    order = await order_of(sessions, data["decision_id"])
    assert order.status == "paid" and order.paid_at is not None
    assert [e.name for e in await outbox_events(sessions, messaging)] == ["payment.queued", "payment.paid"]


@pytest.mark.law("D21-1.auto-place-in-payments-db")
@pytest.mark.parametrize("benefit", ["disability", "survivor"])
async def test_a_monthly_assignment_is_one_order_with_its_kind_and_first_day(sessions, sandbox, payments_db, benefit, queue, decision_signed_data):
    """D§24, S§24: one order per decision, monthly from period_start; payment.queued names the benefit."""
    data = decision_signed_data(application_data(channel="portal", benefit=benefit), amount_kzt=137_620)
    for _ in range(2):  # a redelivery changes nothing
        async with sessions() as session, session.begin():
            await queue.on_decision_signed(session, decision_event(data))
    assert await count_orders(sessions) == 1
    assert await handlers.place_one(sessions, payments_db) == 1

    [placed] = await sandbox.sent("payments")
    assert (placed["decision_id"], placed["amount_kzt"], placed["iban"]) == (data["decision_id"], 137_620, IBAN)
    assert (placed["amount_kind"], placed["period_start"], placed["benefit"]) == ("monthly", "2026-08-02", benefit)
    assert "02.08.2026" in placed["purpose"] and "Ежемесячное" in placed["purpose"]
    order = await order_of(sessions, data["decision_id"])
    assert order.status == "placed" and order.amount_kind == "monthly" and str(order.period_start) == "2026-08-02"
    [event] = await outbox_events(sessions, messaging)
    queued = PaymentQueued.of(event)
    assert queued.benefit == benefit and queued.order_id == placed["order_id"] and queued.amount_kzt == 137_620


async def test_a_burial_order_is_one_time_with_no_period(sessions, sandbox, payments_db, signed):
    """B§19-1: the burial payment is one-time; its purpose says so."""
    data = await signed(sessions)
    await handlers.place_one(sessions, payments_db)
    [placed] = await sandbox.sent("payments")
    assert (placed["amount_kind"], placed["period_start"]) == ("one_time", None)
    assert "Единовременная выплата на погребение" in placed["purpose"] and data["decision_id"] in placed["purpose"]


async def test_an_assignment_without_an_account_is_held_back_for_ops_not_sent(sessions, sandbox, payments_db, caplog, queue, decision_signed_data):
    """B-Std p.8, D-Std p.8: no IBAN → the order is `rejected` with a clear error, never sent, no event; log masked."""
    application = application_data(channel="state_corp", benefit="disability", iban=None)
    data = decision_signed_data(application, amount_kzt=137_620)
    with caplog.at_level("ERROR"):
        async with sessions() as session, session.begin():
            await queue.on_decision_signed(session, decision_event(data))
    order = await order_of(sessions, data["decision_id"])
    assert order.status == "rejected" and "no bank account (IBAN)" in order.last_error
    assert await handlers.place_one(sessions, payments_db) == 0
    assert await sandbox.sent("payments") == []
    assert await outbox_events(sessions, messaging) == []
    payee = data["payment"]["payee_iin"]
    assert "held back" in caplog.text and payee[-4:] in caplog.text and payee not in caplog.text


async def test_paid_is_announced_with_the_typed_contract(sessions, sandbox, payments_db, signed):
    """api.md `paid`: payment.paid reads as the typed PaymentPaid."""
    data = await signed(sessions)
    await handlers.place_one(sessions, payments_db)
    (await sandbox.admin.post(f"/sandbox/payments/{data['decision_id']}/paid")).raise_for_status()
    await handlers.confirm_one(sessions, payments_db, poll_every_s=0)
    paid = PaymentPaid.of((await outbox_events(sessions, messaging))[-1])
    assert str(paid.decision_id) == data["decision_id"] and paid.amount_kzt == BURIAL_2026_KZT


# --- only what decision signed is paid (Trust boundaries, point 5) --------------------------------------------


def _event_amount(data: dict, keyring: Keyring) -> dict:
    return data | {"amount_kzt": data["amount_kzt"] * 10}


def _event_iban(data: dict, keyring: Keyring) -> dict:
    return data | {"payment": data["payment"] | {"iban": OTHER_IBAN}}


def _document_amount(data: dict, keyring: Keyring) -> dict:
    changed = data["signed_document"] | {"amount_kzt": data["amount_kzt"] * 10}
    return data | {"amount_kzt": changed["amount_kzt"], "signed_document": changed}


def _document_iban(data: dict, keyring: Keyring) -> dict:
    changed = data["signed_document"] | {"iban": OTHER_IBAN}
    return data | {"payment": data["payment"] | {"iban": OTHER_IBAN}, "signed_document": changed}


def _unknown_key(data: dict, keyring: Keyring) -> dict:
    impostor = Signer(Ed25519PrivateKey.generate())
    return signed_with(impostor, _event_iban(data, keyring))


def _impostor_naming_the_real_kid(data: dict, keyring: Keyring) -> dict:
    impostor = Signer(Ed25519PrivateKey.generate())
    return signed_with(impostor, _event_iban(data, keyring), kid=keyring.current.key_id)


def _unsigned(data: dict, keyring: Keyring) -> dict:
    return {k: v for k, v in data.items() if k not in ("signed_document", "signature", "kid")}


def _malformed(data: dict, keyring: Keyring) -> dict:
    document = {k: v for k, v in data["signed_document"].items() if k != "iban"} | {"amount_kzt": "a lot"}
    return data | {"signed_document": document, "signature": keyring.current.sign(document)}


@pytest.mark.parametrize(
    ("tamper", "reason", "detail"),
    [
        (_event_amount, "fields_disagree", "amount_kzt"),
        (_event_iban, "fields_disagree", "payment.iban"),
        (_document_amount, "bad_signature", "does not verify"),
        (_document_iban, "bad_signature", "does not verify"),
        (_unknown_key, "unknown_key", "not among decision's published keys"),
        (_impostor_naming_the_real_kid, "bad_signature", "does not verify"),
        (_unsigned, "unsigned", "signed_document, signature, kid"),
        (_malformed, "malformed_document", "amount_kzt"),
    ],
    ids=lambda v: v.__name__.strip("_") if callable(v) else None,
)
async def test_a_tampered_or_foreign_decision_is_held_and_never_paid(
    sessions, sandbox, payments_db, queue, keyring, decision_signed_data, caplog, tamper, reason, detail
):
    """B§19-1: only the decision as signed is paid. A changed amount or IBAN, a key decision never published, a
    signature that does not verify, or no signature at all → no order; held for ops with the reason, logged without
    personal data."""
    data = tamper(decision_signed_data(application_data(channel="proactive")), keyring)
    with caplog.at_level("ERROR"):
        async with sessions() as session, session.begin():
            await queue.on_decision_signed(session, decision_event(data))
    assert await count_orders(sessions) == 0
    assert await handlers.place_one(sessions, payments_db) == 0
    assert await sandbox.sent("payments") == []
    assert await outbox_events(sessions, messaging) == []
    async with sessions() as session:
        [held] = await handlers.list_held(session, status="held", limit=10)
    assert (str(held.decision_id), held.reason, held.status) == (data["decision_id"], reason, "held")
    assert detail in held.detail
    assert "held, not paid" in caplog.text and reason in caplog.text
    payee = data["payment"]["payee_iin"]
    for personal in (payee, IBAN, OTHER_IBAN):
        assert personal not in caplog.text and personal not in held.detail


async def test_a_forgery_held_first_does_not_block_the_genuine_decision(sessions, sandbox, payments_db, queue, keyring,
                                                                        decision_signed_data):
    """Guarantee 2 with B§19-1: a forged event naming a real decision is held apart; the genuine one is still paid
    once, to the signed account."""
    genuine = decision_signed_data(application_data(channel="proactive"))
    forged = _event_iban(genuine, keyring)
    for data in (forged, genuine, forged):
        async with sessions() as session, session.begin():
            await queue.on_decision_signed(session, decision_event(data))
    assert await handlers.place_one(sessions, payments_db) == 1
    [placed] = await sandbox.sent("payments")
    assert (placed["decision_id"], placed["iban"]) == (genuine["decision_id"], IBAN)
    async with sessions() as session:
        assert len(await handlers.list_held(session, status="held", limit=10)) == 2


async def test_a_decision_held_for_a_key_not_yet_published_is_paid_after_a_recheck(
    sessions, sandbox, payments_db, queue, jwks_file, tmp_path
):
    """Rotation race: decision signs with a new key before the queue can read it → held; once the JWKS names the key,
    ops re-check and the order is queued (never paid twice, never paid unverified)."""
    newer = load_keyring(None, None, dev_mode=True, data_dir=tmp_path / "elsewhere")
    data = signed_with(newer.current, unsigned_decision(application_data(channel="proactive")))
    async with sessions() as session, session.begin():
        await queue.on_decision_signed(session, decision_event(data))
        [held] = await handlers.list_held(session, status="held", limit=10)
    assert held.reason == "unknown_key"
    async with sessions() as session, session.begin():
        still = await queue.recheck(session, held.id)
    assert (still.status, still.reason) == ("held", "unknown_key") and await count_orders(sessions) == 0

    write_jwks(newer, jwks_file)  # the new key is published
    async with sessions() as session, session.begin():
        released = await queue.recheck(session, held.id)
    assert released.status == "released" and released.released_at is not None
    assert await handlers.place_one(sessions, payments_db) == 1
    [placed] = await sandbox.sent("payments")
    assert (placed["decision_id"], placed["amount_kzt"]) == (data["decision_id"], BURIAL_2026_KZT)


async def test_ops_list_held_decisions_over_http_and_only_ops(sessions, queue, keyring, decision_signed_data):
    """docs/design.md Signatures and payments: ops list what was held (the gateway routes
    /api/v1/ops/payment_queue/... here); another role gets 403."""
    data = _event_amount(decision_signed_data(application_data(channel="proactive")), keyring)
    async with sessions() as session, session.begin():
        await queue.on_decision_signed(session, decision_event(data))
    app = FastAPI()
    install_problem_handlers(app)
    app.include_router(ops_router)
    app.state.runtime = SimpleNamespace(
        name="payment_queue", sessions=sessions, extras={"signed_decisions": queue},
        settings=SimpleNamespace(internal_jwks=os.environ["INTERNAL_JWKS"], data_dir=None),
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://payment-queue") as http:
        listed = await http.get("/api/v1/ops/held-decisions", headers=caller_headers("ops", service="payment_queue"))
        assert listed.status_code == 200, listed.text
        [item] = listed.json()["items"]
        assert (item["decision_id"], item["reason"], item["status"]) == (data["decision_id"], "fields_disagree", "held")
        assert data["payment"]["payee_iin"] not in listed.text and IBAN not in listed.text
        other = await http.get("/api/v1/ops/held-decisions", headers=caller_headers("specialist", service="payment_queue"))
        assert other.status_code == 403
        again = await http.post(f"/api/v1/ops/held-decisions/{item['id']}/recheck",
                                headers=caller_headers("ops", service="payment_queue"))
        assert (again.status_code, again.json()["status"]) == (200, "held")  # still does not verify: still held
    assert await count_orders(sessions) == 0
