"""Place each assigned decision in the payments database exactly once, and only as decision signed it (B§19-1)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from common.envelope import Envelope
from common.events import Contact, DecisionSigned, PaymentPaid, PaymentQueued, envelope_of
from common.http import ExternalUnavailable
from common.identifiers import mask_iin
from common.jobs import claim_due, record_attempt, reschedule, trace_context, traced
from common.metrics import BENEFITS, PAYMENT_ORDERS_PLACED, count, label
from common.outbox import add_event
from common.tracing import quiet
from services.payment_queue.adapters.decision_keys import DecisionKeys, signature_valid
from services.payment_queue.adapters.orm import HeldDecision, PaymentOrder, messaging
from services.payment_queue.adapters.payments_db import PaymentsDatabase
from services.payment_queue.domain.orders import plan_order
from services.payment_queue.domain.verification import Held, as_signed, unsigned

log = logging.getLogger(__name__)
SOURCE = "payment_queue"
TOPIC = "payments"


class SignedDecisions:
    """decision.signed → a payment order, only for what decision signed (B§19-1; docs/design.md "Signatures")."""

    def __init__(self, keys: DecisionKeys) -> None:
        self.keys = keys

    async def on_decision_signed(self, session: AsyncSession, event: Envelope) -> None:
        """Verify, then queue the hand-off; the decision id as primary key makes a redelivery a no-op."""
        decision = DecisionSigned.of(event)
        verdict = await self.verify(decision)
        if isinstance(verdict, Held):
            await _hold(session, event, decision, verdict)
            return
        await _queue(session, verdict)

    async def verify(self, decision: DecisionSigned) -> DecisionSigned | Held:
        """The decision as signed, or why it is held: no signature, an unknown kid, a bad signature, other fields."""
        missing = unsigned(decision)
        if missing is not None:
            return missing
        assert decision.kid is not None and decision.signed_document is not None and decision.signature is not None
        key = await self.keys.key(decision.kid)
        if key is None:
            return Held("unknown_key", f"kid {decision.kid} is not among decision's published keys")
        if not signature_valid(key, decision.signed_document, decision.signature):
            return Held("bad_signature", f"the signature does not verify with kid {decision.kid}")
        return as_signed(decision)

    async def recheck(self, session: AsyncSession, held_id: int) -> HeldDecision | None:
        """Ops: verify a held decision again (e.g. once decision's new key is published); queue it if it passes."""
        held = await session.get(HeldDecision, held_id, with_for_update=True)
        if held is None or held.status != "held":
            return held
        decision = DecisionSigned.of(Envelope.model_validate(held.envelope))
        verdict = await self.verify(decision)
        if isinstance(verdict, Held):
            held.reason, held.detail = verdict.reason, verdict.detail
            return held
        await _queue(session, verdict)
        held.status, held.released_at = "released", datetime.now(timezone.utc)
        log.warning("held decision %s verified on a re-check and queued for payment", held.decision_id)
        return held


async def _hold(session: AsyncSession, event: Envelope, decision: DecisionSigned, held: Held) -> None:
    """Not paid, visibly: a held row ops list (GET /api/v1/ops/held-decisions), a metric and a log line."""
    inserted = await session.execute(
        pg_insert(HeldDecision)
        .values(
            event_id=event.id,
            decision_id=decision.decision_id,
            application_id=decision.application_id,
            kid=decision.kid,
            reason=held.reason,
            detail=held.detail,
            envelope=event.model_dump(mode="json"),
        )
        .on_conflict_do_nothing()
    )
    if inserted.rowcount:
        log.error("decision.signed for decision %s held, not paid (%s): %s", decision.decision_id, held.reason, held.detail)


async def _queue(session: AsyncSession, decision: DecisionSigned) -> None:
    plan = plan_order(decision)
    if plan is None:
        return
    inserted = await session.execute(
        pg_insert(PaymentOrder)
        .values(
            decision_id=decision.decision_id,
            application_id=decision.application_id,
            benefit=decision.benefit,
            payee_id=plan.payee_id,
            iban=plan.iban,
            amount_kzt=plan.amount_kzt,
            amount_kind=plan.amount_kind,
            period_start=plan.period_start,
            purpose=plan.purpose,
            status=plan.status,
            last_error=plan.error,
            decision=decision.model_dump(mode="json"),
            traceparent=trace_context(),
        )
        .on_conflict_do_nothing()
    )
    if plan.error is not None and inserted.rowcount:
        log.error(
            "payment order for decision %s (payee %s) held back, not sent to the payments database: %s",
            decision.decision_id, mask_iin(plan.payee_id) if plan.payee_id else "none", plan.error,
        )


async def list_held(session: AsyncSession, *, status: str | None, limit: int) -> list[HeldDecision]:
    query = select(HeldDecision).order_by(HeldDecision.id).limit(limit)
    if status:
        query = query.where(HeldDecision.status == status)
    return list(await session.scalars(query))


def _order_body(order: PaymentOrder) -> dict:
    return {
        "decision_id": str(order.decision_id),
        "application_id": str(order.application_id),
        "iin": order.payee_id,
        "amount_kzt": order.amount_kzt,
        "iban": order.iban,
        "benefit": order.benefit,
        "purpose": order.purpose,
        "amount_kind": order.amount_kind,
        "period_start": order.period_start.isoformat() if order.period_start else None,
    }


async def place_one(sessions: async_sessionmaker, payments_db: PaymentsDatabase) -> int:
    async with sessions() as session, session.begin():
        order = await claim_due(session, PaymentOrder)
        if order is None:
            return 0
        with traced(order, "payment order", **{"emaket.application_id": str(order.application_id)}):
            return await _place(session, order, payments_db)


async def _place(session: AsyncSession, order: PaymentOrder, payments_db: PaymentsDatabase) -> int:
    try:
        placement = await payments_db.place(_order_body(order))
    except ExternalUnavailable as exc:
        reschedule(order, str(exc), cap_s=120)
        return 1
    if not placement.accepted:
        order.status = "rejected"
        record_attempt(order, "refused")
        order.last_error = placement.detail
        log.error("payments database refused a payment order; ops must look: %s", placement.detail)
        return 1
    order.status = "placed"
    record_attempt(order, "succeeded")
    count(PAYMENT_ORDERS_PLACED, session, service=SOURCE, benefit=label(order.benefit, BENEFITS))
    order.external_order_id = placement.order_id
    order.placed_at = datetime.now(timezone.utc)
    order.next_check_at = order.placed_at
    queued = PaymentQueued(
        application_id=order.application_id,
        decision_id=order.decision_id,
        benefit=order.benefit,
        order_id=placement.order_id,
        amount_kzt=order.amount_kzt,
        placed_at=order.placed_at,
        contact=Contact.model_validate(order.decision.get("contact") or {}),
    )
    await add_event(session, messaging, TOPIC, envelope_of(queued, source=SOURCE, subject=str(order.application_id)))
    return 1


async def confirm_one(sessions: async_sessionmaker, payments_db: PaymentsDatabase, *, poll_every_s: float) -> int:
    """Ask the payments database whether a placed order is paid; announce `payment.paid` once it is."""
    now = datetime.now(timezone.utc)
    async with sessions() as session, session.begin():
        order = await claim_due(session, PaymentOrder, status="placed", due=PaymentOrder.next_check_at)
        if order is None:
            return 0
        # An order is asked about every PAYMENTS_PAID_POLL_S until it is paid, for days if need be: those
        # polls record no span (the case's trace would be buried under them); the one that finds it paid
        # is recorded, with the payment.paid event written under it.
        with quiet(), traced(order, "payment poll"):
            paid_at = await _paid_at(order, payments_db)
        if paid_at is None:
            order.next_check_at = now + timedelta(seconds=poll_every_s)
            return 0  # nothing new: let the worker rest
        with traced(order, "payment paid", **{"emaket.application_id": str(order.application_id)}):
            return await _announce_paid(session, order, paid_at)


async def _paid_at(order: PaymentOrder, payments_db: PaymentsDatabase) -> str | None:
    try:
        return await payments_db.paid_at(str(order.decision_id))
    except Exception as exc:  # noqa: BLE001 - an outage or odd answer only delays the acknowledgement
        order.last_error = str(exc)[:2000]
        return None


async def _announce_paid(session: AsyncSession, order: PaymentOrder, paid_at: str) -> int:
    order.status = "paid"
    order.paid_at = datetime.fromisoformat(paid_at)
    paid = PaymentPaid(
        application_id=order.application_id,
        decision_id=order.decision_id,
        order_id=order.external_order_id,
        amount_kzt=order.amount_kzt,
        paid_at=order.paid_at,
    )
    await add_event(session, messaging, TOPIC, envelope_of(paid, source=SOURCE, subject=str(order.application_id)))
    return 1
