"""Payment queue on a fresh database, placing orders in the real sandbox payments database."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timezone

import pytest
from sqlalchemy import func, select

from common.events import PaymentPaid, PaymentQueued
from services.payment_queue import handlers
from services.payment_queue.adapters.orm import PaymentOrder, messaging
from services.payment_queue.adapters.payments_db import PaymentsDatabase, Placement
from tests.integration.helpers import (
    BURIAL_2026_KZT,
    IBAN,
    application_data,
    decision_event,
    decision_signed_data,
    make_due_now,
    migrated,
    outbox_events,
)


@pytest.fixture
async def sessions(fresh_database) -> AsyncIterator:
    async with migrated(fresh_database(), "payment_queue") as factory:
        yield factory


@pytest.fixture
def payments_db(sandbox) -> PaymentsDatabase:
    return PaymentsDatabase(sandbox.client("payments"))


async def signed(sessions, outcome: str = "assign") -> dict:
    """Handle one decision.signed event; returns its data."""
    data = decision_signed_data(application_data(channel="proactive"), outcome=outcome)
    async with sessions() as session, session.begin():
        await handlers.on_decision_signed(session, decision_event(data))
    return data


async def order_of(sessions, decision_id: str) -> PaymentOrder:
    async with sessions() as session:
        return await session.get(PaymentOrder, uuid.UUID(decision_id))


async def count_orders(sessions) -> int:
    async with sessions() as session:
        return await session.scalar(select(func.count()).select_from(PaymentOrder))


async def test_the_same_decision_twice_queues_one_payment_order(sessions):
    """Guarantee 2: the decision id is the order's primary key, so a redelivery is a no-op."""
    data = decision_signed_data(application_data(channel="proactive"))
    for _ in range(2):
        async with sessions() as session, session.begin():
            await handlers.on_decision_signed(session, decision_event(data))
    assert await count_orders(sessions) == 1
    order = await order_of(sessions, data["decision_id"])
    assert order.status == "pending" and order.amount_kzt == BURIAL_2026_KZT and order.iban == IBAN


async def test_a_refusal_queues_nothing(sessions):
    """Only an assignment is paid (B§19-1)."""
    await signed(sessions, outcome="refuse")
    assert await count_orders(sessions) == 0


async def test_assigned_decision_is_placed_once_and_announced(sessions, sandbox, payments_db):
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


async def test_payments_database_down_keeps_the_order_pending_for_a_retry(sessions, sandbox, payments_db):
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


async def test_a_placement_whose_answer_was_lost_is_not_paid_twice(sessions, sandbox):
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


async def test_a_placed_order_is_acknowledged_paid_once_the_payments_database_confirms(sessions, sandbox, payments_db):
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


@pytest.mark.parametrize("benefit", ["disability", "survivor"])
async def test_a_monthly_assignment_is_one_order_with_its_kind_and_first_day(sessions, sandbox, payments_db, benefit):
    """D§24, S§24: one order per decision, monthly from period_start; payment.queued names the benefit."""
    data = decision_signed_data(application_data(channel="portal", benefit=benefit), amount_kzt=137_620)
    for _ in range(2):  # a redelivery changes nothing
        async with sessions() as session, session.begin():
            await handlers.on_decision_signed(session, decision_event(data))
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


async def test_a_burial_order_is_one_time_with_no_period(sessions, sandbox, payments_db):
    """B§19-1: the burial payment is one-time; its purpose says so."""
    data = await signed(sessions)
    await handlers.place_one(sessions, payments_db)
    [placed] = await sandbox.sent("payments")
    assert (placed["amount_kind"], placed["period_start"]) == ("one_time", None)
    assert "Единовременная выплата на погребение" in placed["purpose"] and data["decision_id"] in placed["purpose"]


async def test_an_assignment_without_an_account_is_held_back_for_ops_not_sent(sessions, sandbox, payments_db, caplog):
    """B-Std p.8, D-Std p.8: no IBAN → the order is `rejected` with a clear error, never sent, no event; log masked."""
    application = application_data(channel="state_corp", benefit="disability", iban=None)
    data = decision_signed_data(application, amount_kzt=137_620)
    with caplog.at_level("ERROR"):
        async with sessions() as session, session.begin():
            await handlers.on_decision_signed(session, decision_event(data))
    order = await order_of(sessions, data["decision_id"])
    assert order.status == "rejected" and "no bank account (IBAN)" in order.last_error
    assert await handlers.place_one(sessions, payments_db) == 0
    assert await sandbox.sent("payments") == []
    assert await outbox_events(sessions, messaging) == []
    payee = data["payment"]["payee_iin"]
    assert "held back" in caplog.text and payee[-4:] in caplog.text and payee not in caplog.text


async def test_paid_is_announced_with_the_typed_contract(sessions, sandbox, payments_db):
    """api.md `paid`: payment.paid reads as the typed PaymentPaid."""
    data = await signed(sessions)
    await handlers.place_one(sessions, payments_db)
    (await sandbox.admin.post(f"/sandbox/payments/{data['decision_id']}/paid")).raise_for_status()
    await handlers.confirm_one(sessions, payments_db, poll_every_s=0)
    paid = PaymentPaid.of((await outbox_events(sessions, messaging))[-1])
    assert str(paid.decision_id) == data["decision_id"] and paid.amount_kzt == BURIAL_2026_KZT
