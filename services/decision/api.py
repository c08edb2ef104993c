"""Thin HTTP layer of the decision service (api.md "Specialist work", "Decisions")."""

from __future__ import annotations

import hashlib
import uuid
from datetime import date
from functools import cache
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from common.caller import CallerDep
from common.events import CANONICALIZATION, DecisionDocument, RuleResult, canonical_json
from common.law.obligations import Obligation, load_obligations
from services.decision import handlers
from services.decision.adapters.orm import Decision
from services.decision.adapters.signer import ALGORITHM, jwk, legacy_canonical, public_pem
from services.decision.handlers import DecisionService
from services.decision.schemas import (
    DecisionDetail,
    DecisionList,
    DecisionOut,
    FollowUpList,
    FollowUpOut,
    LawRef,
    SignIn,
    Verification,
)

router = APIRouter(prefix="/api/v1/decisions", tags=["decisions"])


def _service(request: Request) -> DecisionService:
    service: DecisionService = request.app.state.runtime.extras["decisions"]
    return service


ServiceDep = Annotated[DecisionService, Depends(_service)]


def _out(decision: Decision) -> DecisionOut:
    fields = {name: getattr(decision, name) for name in DecisionOut.model_fields if name != "outcome"}
    return DecisionOut(**fields, outcome=decision.outcome or decision.proposed_outcome)


@cache
def _law_map() -> dict[str, Obligation]:
    return load_obligations()


def law_of(explanation: list[RuleResult]) -> dict[str, LawRef]:
    """The obligations the explanation's lines applied, in order of first mention: paragraph, Kazakh quote, statement.

    Lines stored before they carried obligations name none; an id the map does not know (never written by the rules)
    is left out rather than shown without its text.
    """
    known = _law_map()
    ids = dict.fromkeys(oid for line in explanation for oid in line.obligations if oid in known)
    return {
        oid: LawRef(paragraph=known[oid].source, kk=known[oid].kk, statement=known[oid].statement, status=known[oid].status)
        for oid in ids
    }


def _detail(decision: Decision) -> DecisionDetail:
    explanation = [RuleResult.model_validate(line) for line in decision.explanation]
    return DecisionDetail(
        **_out(decision).model_dump(),
        case_file=decision.case_file,
        case_file_sha256=decision.case_file_sha256,
        explanation=explanation,
        evidence=decision.case_file.get("registry_answers", []),
        law=law_of(explanation),
    )


@router.get("", response_model=DecisionList, summary="Decisions, e.g. those awaiting a specialist's signature")
async def list_decisions(
    request: Request,
    caller: CallerDep,
    status: Annotated[str | None, Query(pattern="^(awaiting_signature|assigned|refused|signed)$")] = None,
    benefit: Annotated[str | None, Query(pattern="^(burial|disability|survivor)$")] = None,
    channel: Annotated[str | None, Query(pattern="^(portal|proactive|state_corp|provider)$")] = None,
    due_before: Annotated[date | None, Query(description="Due on or before this date.")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> DecisionList:
    async with request.app.state.runtime.sessions() as session:
        items = await handlers.list_decisions(
            session, caller, status=status, benefit=benefit, channel=channel, due_before=due_before, limit=limit
        )
        return DecisionList(items=[_out(d) for d in items])


@router.get("/follow-ups", response_model=FollowUpList, summary="Benefits also applied for, open for a specialist")
async def list_follow_ups(
    request: Request,
    caller: CallerDep,
    status: Annotated[str | None, Query(pattern="^(open)$")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> FollowUpList:
    async with request.app.state.runtime.sessions() as session:
        items = await handlers.list_follow_ups(session, caller, status=status, limit=limit)
        return FollowUpList(items=[FollowUpOut.model_validate(f, from_attributes=True) for f in items])


@router.get("/{decision_id}", response_model=DecisionDetail, summary="A decision with its explanation and evidence")
async def read_decision(decision_id: uuid.UUID, request: Request, caller: CallerDep) -> DecisionDetail:
    async with request.app.state.runtime.sessions() as session:
        return _detail(await handlers.get_decision(session, decision_id, caller))


@router.post("/{decision_id}/sign", response_model=DecisionOut, summary="Sign (assign or refuse) a draft decision")
async def sign_decision(
    decision_id: uuid.UUID, body: SignIn, request: Request, caller: CallerDep, service: ServiceDep
) -> DecisionOut:
    async with request.app.state.runtime.sessions() as session, session.begin():
        decision = await service.sign_by_specialist(
            session,
            decision_id,
            caller,
            outcome=body.outcome,
            reasons=[(r.code, r.subject) for r in body.reasons],
            note=body.note,
            amount_kzt=body.amount_kzt,
        )
        return _out(decision)


@router.get("/{decision_id}/verification", response_model=Verification, summary="Check a decision's signature")
async def verify_decision(
    decision_id: uuid.UUID, request: Request, caller: CallerDep, service: ServiceDep
) -> Verification:
    """B§19-1: the signature checked against the key the decision names (its kid), current or retired, and the
    stored case file against the hash the signature covers. A citizen may verify their own decision."""
    async with request.app.state.runtime.sessions() as session:
        decision = await handlers.get_decision(session, decision_id, caller)
    keyring = service.keyring
    public = keyring.public_keys.get(decision.key_id or "")
    document = decision.signed_document
    valid = (
        decision.signature is not None
        and document is not None
        and keyring.verify(document, decision.signature, decision.key_id)
    )
    current_format = document is not None and document.get("type") == DecisionDocument.TYPE
    case_file_matches = None
    if document is not None:
        canonical = canonical_json if current_format else legacy_canonical
        case_file_matches = document.get("case_file_sha256") == hashlib.sha256(canonical(decision.case_file)).hexdigest()
    return Verification(
        decision_id=decision.id,
        valid=valid,
        algorithm=ALGORITHM,
        key_id=decision.key_id,
        key_known=public is not None,
        public_key_pem=public_pem(public) if public is not None else "",
        public_key_jwk=jwk(public, status="current" if decision.key_id == keyring.current.key_id else "retired")
        if public is not None
        else None,
        canonicalization=CANONICALIZATION if current_format else "sorted-keys JSON (before RFC 8785)",
        case_file_matches=case_file_matches,
        signed_document=document,
        signature=decision.signature,
    )


keys_router = APIRouter(tags=["decisions"])


@keys_router.get("/.well-known/jwks.json", summary="The decision signing keys, current and retired (JWKS)")
async def decision_keys(service: ServiceDep) -> dict[str, list[dict[str, str]]]:
    """RFC 7517: every key decisions were ever signed with, by kid, so any past signature can be verified."""
    return service.keyring.jwks()
