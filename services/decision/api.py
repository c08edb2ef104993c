"""Thin HTTP layer of the decision service (api.md "Specialist work")."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request

from common.caller import CallerDep
from services.decision import handlers
from services.decision.adapters.orm import Decision
from services.decision.adapters.signer import ALGORITHM
from services.decision.schemas import (
    DecisionDetail,
    DecisionList,
    DecisionOut,
    SignIn,
    Verification,
)

router = APIRouter(prefix="/api/v1/decisions", tags=["decisions"])


def _out(decision: Decision, model=DecisionOut):
    fields = {name: getattr(decision, name) for name in model.model_fields if name != "outcome"}
    return model(**fields, outcome=decision.outcome or decision.proposed_outcome)


@router.get("", response_model=DecisionList, summary="Decisions, e.g. those awaiting a specialist's signature")
async def list_decisions(
    request: Request,
    caller: CallerDep,
    status: Annotated[str | None, Query(pattern="^(awaiting_signature|signed)$")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> DecisionList:
    async with request.app.state.runtime.sessions() as session:
        items = await handlers.list_decisions(session, caller, status=status, limit=limit)
        return DecisionList(items=[_out(d) for d in items])


@router.get("/{decision_id}", response_model=DecisionDetail, summary="A decision with its case file")
async def read_decision(decision_id: uuid.UUID, request: Request, caller: CallerDep) -> DecisionDetail:
    async with request.app.state.runtime.sessions() as session:
        return _out(await handlers.get_decision(session, decision_id, caller), DecisionDetail)


@router.post("/{decision_id}/sign", response_model=DecisionOut, summary="Sign (assign or refuse) a draft decision")
async def sign_decision(decision_id: uuid.UUID, body: SignIn, request: Request, caller: CallerDep) -> DecisionOut:
    runtime = request.app.state.runtime
    async with runtime.sessions() as session, session.begin():
        session.info["signer"] = runtime.extras["signer"]
        decision = await handlers.sign_by_specialist(
            session, decision_id, caller, outcome=body.outcome, reason_codes=body.reasons
        )
        return _out(decision)


@router.get("/{decision_id}/verification", response_model=Verification, summary="Check a decision's signature")
async def verify_decision(decision_id: uuid.UUID, request: Request, caller: CallerDep) -> Verification:
    signer = request.app.state.runtime.extras["signer"]
    async with request.app.state.runtime.sessions() as session:
        decision = await handlers.get_decision(session, decision_id, caller)
    valid = bool(decision.signature) and signer.verify(decision.signed_document, decision.signature)
    return Verification(
        decision_id=decision.id,
        valid=valid,
        algorithm=ALGORITHM,
        key_id=decision.key_id,
        public_key_pem=signer.public_pem,
        signed_document=decision.signed_document,
        signature=decision.signature,
    )
