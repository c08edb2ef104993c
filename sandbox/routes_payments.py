"""Payments database (ОДҚ / ЦБД): receives payment orders for signed decisions.

Deduplicates by ``decision_id`` as the real system does: the same order
again is answered with the existing one, a different order for the same
decision is a conflict.
"""

from __future__ import annotations

from typing import Any
from uuid import uuid4

from fastapi import APIRouter, Request, Response

from common.problems import Problem
from sandbox.models import PaymentOrderIn
from sandbox.store import SandboxStore, utc_now

router = APIRouter(tags=["payments database"])

_ORDER_FIELDS = tuple(PaymentOrderIn.model_fields)


@router.post("/payments-db/orders", status_code=201, summary="Place a payment order (idempotent by decision_id)")
async def place_order(body: PaymentOrderIn, request: Request, response: Response) -> dict[str, Any]:
    store: SandboxStore = request.app.state.store
    wanted = body.public()
    async with store.lock:
        existing = store.payments.get(body.decision_id)
        if existing is not None:
            if {name: existing[name] for name in _ORDER_FIELDS} != wanted:
                differing = sorted(name for name in _ORDER_FIELDS if existing[name] != wanted[name])
                raise Problem(
                    409,
                    "order-conflict",
                    f"An order for decision {body.decision_id} already exists with different "
                    f"{', '.join(differing)}.",
                    order_id=existing["order_id"],
                    differing_fields=differing,
                )
            response.status_code = 200
            return existing
        now = utc_now()
        order = {
            "order_id": str(uuid4()),
            **wanted,
            "status": "accepted",
            "created_at": now,
            "paid_at": None,
            "received_at": now,
        }
        store.payments[body.decision_id] = order
    return order


@router.get("/payments-db/orders/{decision_id}", summary="Payment order by decision id")
async def get_order(decision_id: str, request: Request) -> dict[str, Any]:
    store: SandboxStore = request.app.state.store
    order = store.payments.get(decision_id)
    if order is None:
        raise Problem(404, "not-found", f"No payment order for decision {decision_id}.")
    return order
