"""Ops view of the payment queue: decisions held because their signature or fields did not verify."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, Field

from common.caller import CallerDep
from common.problems import Problem
from services.payment_queue.adapters.orm import HeldDecision
from services.payment_queue.handlers import SignedDecisions, list_held

# Reached through the gateway as /api/v1/ops/payment_queue/held-decisions (ops only).
router = APIRouter(prefix="/api/v1/ops", tags=["ops"])


class HeldOut(BaseModel):
    id: int
    decision_id: str
    application_id: str
    kid: str | None
    reason: str = Field(description="unsigned, unknown_key, bad_signature, malformed_document or fields_disagree.")
    detail: str
    status: str = Field(description="held (not paid), or released after a re-check verified it.")
    held_at: datetime
    released_at: datetime | None


class HeldList(BaseModel):
    items: list[HeldOut]


def _out(row: HeldDecision) -> HeldOut:
    return HeldOut(id=row.id, decision_id=str(row.decision_id), application_id=str(row.application_id), kid=row.kid,
                   reason=row.reason, detail=row.detail, status=row.status, held_at=row.held_at,
                   released_at=row.released_at)


@router.get("/held-decisions", response_model=HeldList, summary="Signed decisions not paid: signature not verified")
async def held_decisions(
    request: Request,
    caller: CallerDep,
    status: Annotated[str | None, Query(pattern="^(held|released)$")] = "held",
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> HeldList:
    caller.require("ops")
    async with request.app.state.runtime.sessions() as session:
        return HeldList(items=[_out(row) for row in await list_held(session, status=status, limit=limit)])


@router.post("/held-decisions/{held_id}/recheck", response_model=HeldOut, summary="Verify a held decision again")
async def recheck(held_id: Annotated[int, Path(ge=1, le=2**63 - 1)], request: Request, caller: CallerDep) -> HeldOut:
    """After decision's keys are published anew: a decision that now verifies is queued; others stay held."""
    caller.require("ops")
    decisions: SignedDecisions = request.app.state.runtime.extras["signed_decisions"]
    async with request.app.state.runtime.sessions() as session, session.begin():
        row = await decisions.recheck(session, held_id)
        if row is None:
            raise Problem(404, "not-found", f"No held decision {held_id}.")
        return _out(row)
