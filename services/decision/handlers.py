"""Decision: join registration and checks into a case file, draft, sign, announce."""

from __future__ import annotations

import hashlib
import uuid
from datetime import date, datetime, timezone

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from common.caller import Caller, audit
from common.envelope import Envelope, make_event
from common.law.params import burial_amount_kzt
from common.outbox import add_event
from common.problems import Problem
from common.reasons import REASONS, reason
from services.decision.adapters.orm import Case, Decision, messaging
from services.decision.adapters.signer import Signer, canonical
from services.decision.domain.drafting import AUTO_SIGNER, draft_burial

SOURCE = "decision"
TOPIC = "decisions"


async def _merge_into_case(session: AsyncSession, application_id: uuid.UUID, **part: dict) -> Case:
    """Upsert one half of the case; the row lock makes the second arrival see the first."""
    row = await session.execute(
        pg_insert(Case)
        .values(application_id=application_id, **part)
        .on_conflict_do_update(index_elements=[Case.application_id], set_={**part, "updated_at": datetime.now(timezone.utc)})
        .returning(Case.registration, Case.eligibility)
    )
    registration, eligibility = row.one()
    return Case(application_id=application_id, registration=registration, eligibility=eligibility)


def _signer(session: AsyncSession) -> Signer:
    return session.info["signer"]


async def on_application_registered(session: AsyncSession, event: Envelope) -> None:
    case = await _merge_into_case(session, uuid.UUID(event.subject), registration=event.data)
    await _draft_when_complete(session, case)


async def on_eligibility_checked(session: AsyncSession, event: Envelope) -> None:
    case = await _merge_into_case(session, uuid.UUID(event.subject), eligibility=event.data)
    await _draft_when_complete(session, case)


def _case_file(case: Case) -> dict:
    """The electronic case file (Annex 7): the application and every registry answer relied on."""
    return {
        "application": case.registration,
        "checks": {k: case.eligibility[k] for k in ("eligible", "reasons", "facts", "checked_at")},
        "registry_answers": case.eligibility["evidence"],
    }


async def _draft_when_complete(session: AsyncSession, case: Case) -> None:
    if case.registration is None or case.eligibility is None:
        return
    checks = case.eligibility
    death = checks["facts"].get("date_of_death")
    draft = draft_burial(
        channel=case.registration["channel"],
        eligible=checks["eligible"],
        reasons=checks["reasons"],
        date_of_death=date.fromisoformat(death) if death else None,
    )
    case_file = _case_file(case)
    decision_id = uuid.uuid4()
    inserted = await session.scalar(
        pg_insert(Decision)
        .values(
            id=decision_id,
            application_id=case.application_id,
            benefit=case.registration["benefit"],
            channel=case.registration["channel"],
            status="awaiting_signature",
            proposed_outcome=draft.outcome,
            amount_kzt=draft.amount_kzt,
            reasons=draft.reasons,
            case_file=case_file,
            case_file_sha256=hashlib.sha256(canonical(case_file)).hexdigest(),
        )
        .on_conflict_do_nothing(index_elements=[Decision.application_id])
        .returning(Decision.id)
    )
    if inserted is None:
        return  # decided already: a replayed or duplicated event changes nothing
    decision = await session.get(Decision, decision_id)
    if draft.auto_sign:
        await sign(session, decision, outcome=draft.outcome, reasons=draft.reasons, signed_by=AUTO_SIGNER)
    else:
        await _emit(session, "decision.drafted", decision, status="awaiting_signature")


async def sign(session: AsyncSession, decision: Decision, *, outcome: str, reasons: list[dict], signed_by: str) -> None:
    """Approve the decision with the signature and announce it (B§19-1; Annex 13 notification follows)."""
    if outcome == "assign" and decision.proposed_outcome != "assign":
        death = decision.case_file["checks"]["facts"].get("date_of_death")
        if not death:
            raise Problem(422, "cannot-assign", "The case file has no confirmed date of death to compute the amount from.",
                          errors=[{"field": "outcome", "message": "no confirmed date of death in the case file"}])
        decision.amount_kzt = burial_amount_kzt(date.fromisoformat(death))
    if outcome == "refuse":
        decision.amount_kzt = 0
    now = datetime.now(timezone.utc)
    document = {
        "decision_id": str(decision.id),
        "application_id": str(decision.application_id),
        "benefit": decision.benefit,
        "outcome": outcome,
        "amount_kzt": decision.amount_kzt,
        "period_start": None,
        "reasons": [r["code"] for r in reasons],
        "case_file_sha256": decision.case_file_sha256,
        "signed_at": now.isoformat(),
        "signed_by": signed_by,
    }
    signer = _signer(session)
    decision.outcome = outcome
    decision.reasons = reasons
    decision.status = "signed"
    decision.signed_at = now
    decision.signed_by = signed_by
    decision.signed_document = document
    decision.signature = signer.sign(document)
    decision.key_id = signer.key_id
    await _emit(session, "decision.signed", decision)


async def _emit(session: AsyncSession, name: str, decision: Decision, **extra) -> None:
    application = decision.case_file["application"]
    facts = decision.case_file["checks"]["facts"]
    applicant = application["applicant"]
    data = {
        "decision_id": str(decision.id),
        "application_id": str(decision.application_id),
        "benefit": decision.benefit,
        "channel": decision.channel,
        "status": decision.status,
        "outcome": decision.outcome,
        "proposed_outcome": decision.proposed_outcome,
        "amount_kzt": decision.amount_kzt,
        "period_start": None,
        "reasons": decision.reasons,
        "signed_at": decision.signed_at.isoformat() if decision.signed_at else None,
        "signed_by": decision.signed_by,
        "registration_number": application.get("registration_number"),
        "contact": application.get("contact"),
        "payment": {
            "payee_iin": applicant.get("iin"),
            "payee_bin": applicant.get("bin"),
            "iban": application.get("iban") or facts.get("payee_iban"),
        },
    } | extra
    await add_event(session, messaging, TOPIC, make_event(name, source=SOURCE, subject=str(decision.application_id), data=data))


# --- specialist work (api.md "Specialist work") ---------------------------------------


async def list_decisions(session: AsyncSession, caller: Caller, *, status: str | None, limit: int) -> list[Decision]:
    caller.require("specialist", "ops")
    query = select(Decision).order_by(Decision.drafted_at).limit(limit)
    if status:
        query = query.where(Decision.status == status)
    return list(await session.scalars(query))


async def get_decision(session: AsyncSession, decision_id: uuid.UUID, caller: Caller, *, lock: bool = False) -> Decision:
    caller.require("specialist", "ops")
    decision = await session.get(Decision, decision_id, with_for_update=lock)
    if decision is None:
        raise Problem(404, "not-found", f"No decision {decision_id}.")
    audit(caller, "read decision", f"{decision.id} (application {decision.application_id})")
    return decision


async def sign_by_specialist(
    session: AsyncSession, decision_id: uuid.UUID, caller: Caller, *, outcome: str, reason_codes: list[str]
) -> Decision:
    caller.require("specialist")
    decision = await get_decision(session, decision_id, caller, lock=True)
    if decision.status == "signed":
        raise Problem(409, "already-signed", "This decision is signed already.")
    unknown = [c for c in reason_codes if c not in REASONS]
    if unknown:
        raise Problem(422, "unknown-reason", f"Unknown reason codes: {', '.join(unknown)}.",
                      errors=[{"field": "reasons", "message": f"unknown code {c}"} for c in unknown])
    if outcome == "refuse" and not reason_codes:
        raise Problem(422, "reasons-required", "A refusal must give its legal grounds.",
                      errors=[{"field": "reasons", "message": "at least one reason code for a refusal"}])
    await sign(session, decision, outcome=outcome, reasons=[reason(c) for c in reason_codes], signed_by=f"specialist:{caller.sub or 'unknown'}")
    audit(caller, f"signed decision ({outcome})", f"{decision.id} (application {decision.application_id})")
    return decision
