"""Payment queue: hands approved decisions to the payments database exactly once."""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy import func, select

from common.consumer import ConsumerSpec
from common.service import Runtime, ServiceDefinition, create_service_app
from services.payment_queue import handlers
from services.payment_queue.adapters.decision_keys import DecisionKeys
from services.payment_queue.adapters.orm import HeldDecision, PaymentOrder, messaging, metadata
from services.payment_queue.adapters.payments_db import PaymentsDatabase
from services.payment_queue.api import router
from services.payment_queue.settings import PaymentQueueSettings


async def setup(runtime: Runtime) -> None:
    s = runtime.settings
    client = runtime.external_client(system="payments", base_url=s.payments_db_url, timeout_s=s.payments_timeout_s)
    runtime.extras["payments_db"] = PaymentsDatabase(client)
    runtime.extras["signed_decisions"] = handlers.SignedDecisions(DecisionKeys(s.decision_keys_source()))


def consumers(runtime: Runtime) -> list[ConsumerSpec]:
    decisions: handlers.SignedDecisions = runtime.extras["signed_decisions"]
    return [ConsumerSpec(group="payment_queue", topics=["decisions"], handlers={"decision.signed": decisions.on_decision_signed})]


def workers(runtime: Runtime) -> dict:
    async def step() -> int:
        return await handlers.place_one(runtime.sessions, runtime.extras["payments_db"])

    async def confirm() -> int:
        return await handlers.confirm_one(
            runtime.sessions, runtime.extras["payments_db"], poll_every_s=runtime.settings.paid_poll_s
        )

    return {"place-0": step, "place-1": step, "confirm-paid": confirm}


async def metrics(runtime: Runtime) -> dict[str, float]:
    async with runtime.sessions() as session:
        rows = (await session.execute(select(PaymentOrder.status, func.count()).group_by(PaymentOrder.status))).all()
        held = await session.scalar(select(func.count()).select_from(HeldDecision).where(HeldDecision.status == "held"))
        # Placed orders are asked about until paid, with no attempt cap: this age is how ops see one that never is.
        oldest_placed = await session.scalar(
            select(func.coalesce(func.extract("epoch", func.now() - func.min(PaymentOrder.placed_at)), 0)).where(
                PaymentOrder.status == "placed"
            )
        )
    counts = dict(rows)
    figures = {f"payment_orders_{s}": counts.get(s, 0) for s in ("pending", "placed", "paid", "rejected")}
    return figures | {"decisions_held": held or 0, "payment_orders_oldest_unpaid_seconds": float(oldest_placed or 0)}


def create_app(settings: PaymentQueueSettings | None = None) -> FastAPI:
    return create_service_app(
        ServiceDefinition(
            name="payment_queue",
            title="E-maket payment queue",
            description="Places assigned decisions into the payments database, one order per decision.",
            metadata=metadata,
            tables=messaging,
            routers=[router],
            consumers=consumers,
            workers=workers,
            setup=setup,
            metrics=metrics,
        ),
        settings or PaymentQueueSettings(),
    )
