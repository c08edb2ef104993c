"""Decision: join registration and checks into a case file, draft, sign, announce; the specialist's work."""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime, timezone
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from common.caller import Caller, audit
from common.envelope import Envelope
from common.events import (
    ApplicationData,
    ApplicationRegistered,
    DecisionData,
    DecisionDrafted,
    DecisionSigned,
    DocumentsRequested,
    EligibilityChecked,
    ReasonRef,
    canonical_json,
    envelope_of,
)
from common.metrics import BENEFITS, DECISIONS_SIGNED, count, label
from common.outbox import add_event
from common.problems import Problem
from services.decision.adapters import repository
from services.decision.adapters.orm import Case as CaseRow
from services.decision.adapters.orm import Decision, FollowUp, messaging
from services.decision.adapters.signer import Keyring
from services.decision.domain import signing
from services.decision.domain.drafting import draft, ready_to_draft
from services.decision.domain.model import AUTO_SIGNER, Case
from services.decision.domain.state import STATUS_FILTERS, DecisionState

SOURCE = "decision"
TOPIC = "decisions"


def _case_file(row: CaseRow, checks: EligibilityChecked) -> dict[str, Any]:
    """The electronic case file (Annex 7, Annex 11): the application, the checks with their explanation lines, and
    every registry answer relied on. Its RFC 8785 SHA-256 is in the signed document.

    [law: B19-1.auto-case-file, D21-1.auto-case-file]
    """
    data = checks.model_dump(mode="json")
    keys = ("eligible", "automated", "round", "reasons", "facts", "explanation", "checked_at")
    return {
        "application": row.registration,
        "checks": {k: data[k] for k in keys},
        "registry_answers": data["evidence"],
    }


def case_of(decision: Decision) -> Case:
    """The typed case a stored decision was drafted from (its case file; older files lack some keys)."""
    checks = decision.case_file["checks"]
    return Case(
        application=ApplicationData.model_validate(decision.case_file["application"]),
        checks=EligibilityChecked.model_validate(
            {
                "application_id": decision.application_id,
                "benefit": decision.benefit,
                "channel": decision.channel,
                "evidence": decision.case_file.get("registry_answers", []),
            }
            | checks
        ),
    )


def _dump(items: tuple[Any, ...]) -> list[dict[str, Any]]:
    return [item.model_dump(mode="json", exclude_none=True) for item in items]


class DecisionService:
    """The use cases of the decision service, with what they need built once at start (the signing keys)."""

    def __init__(self, keyring: Keyring) -> None:
        self.keyring = keyring

    # --- consumers ---------------------------------------------------------------------

    async def on_application_registered(self, session: AsyncSession, event: Envelope) -> None:
        await self._registration(session, ApplicationRegistered.of(event))

    async def on_documents_requested(self, session: AsyncSession, event: Envelope) -> None:
        """D-Std p.3, S-Std p.3: the due date moved by the extension; the registration half follows."""
        await self._registration(session, DocumentsRequested.of(event))

    async def on_eligibility_checked(self, session: AsyncSession, event: Envelope) -> None:
        checks = EligibilityChecked.of(event)
        row = await repository.merge_eligibility(
            session, checks.application_id, checks.model_dump(mode="json"), checks.round
        )
        if row is not None:  # None: a later round is stored already, this one changes nothing
            await self._draft_when_complete(session, row)

    async def _registration(self, session: AsyncSession, application: ApplicationData) -> None:
        row = await repository.merge_registration(
            session, application.application_id, application.model_dump(mode="json")
        )
        await repository.set_due_by(session, application.application_id, application.due_by)
        await self._draft_when_complete(session, row)

    async def _draft_when_complete(self, session: AsyncSession, row: CaseRow) -> None:
        if row.registration is None or row.eligibility is None:
            return
        case = Case(
            application=ApplicationData.model_validate(row.registration),
            checks=EligibilityChecked.model_validate(row.eligibility),
        )
        if not ready_to_draft(case):
            return  # waiting for documents (D§7, S§7): the next round of checks decides
        proposal = draft(case)
        case_file = _case_file(row, case.checks)
        also = tuple(dict.fromkeys(case.application.also_apply_for + tuple(case.facts.get("also_apply_for") or ())))
        decision = await repository.insert_decision(
            session,
            {
                "id": uuid.uuid4(),
                "application_id": row.application_id,
                "benefit": case.checks.benefit,
                "channel": case.application.channel,
                "status": DecisionState.AWAITING_SIGNATURE.value,
                "proposed_outcome": proposal.outcome,
                "amount_kzt": proposal.amount_kzt,
                "amount_kind": proposal.amount_kind,
                "amount_known": proposal.amount_known,
                "period_start": proposal.period_start,
                "reasons": _dump(proposal.reasons),
                "explanation": _dump(proposal.explanation),
                "applicant_iin": case.application.applicant.iin,
                "due_by": case.application.due_by,
                "also_apply_for": list(also),
                "case_file": case_file,
                "case_file_sha256": hashlib.sha256(canonical_json(case_file)).hexdigest(),
            },
        )
        if decision is None:
            return  # decided already: a replayed or duplicated event changes nothing
        # Project decision: benefits also applied for (D-Std p.4, p.10) have no rules in the seed; each becomes an
        # open follow-up for a specialist, never dropped, and the main decision is not held back for them.
        # law: D-Std10.one-application
        await repository.add_follow_ups(
            session, application_id=decision.application_id, decision_id=decision.id, benefits=also
        )
        if proposal.auto_sign:
            signed = signing.automatic(proposal, status=decision.status, signed_by=AUTO_SIGNER)
            await self._sign(session, decision, case, signed, signed_by=AUTO_SIGNER)
        else:
            await _emit(session, DecisionDrafted, decision, case)

    async def _sign(
        self, session: AsyncSession, decision: Decision, case: Case, signed: signing.Signed, *, signed_by: str
    ) -> None:
        """Approve with the signature and announce it (B§19-1; the Annex 13 notification follows)."""
        now = datetime.now(timezone.utc)
        signer = self.keyring.current
        document = signing.signed_document(
            kid=signer.key_id,
            decision_id=str(decision.id),
            application_id=str(decision.application_id),
            benefit=decision.benefit,
            channel=decision.channel,
            signed=signed,
            payment=signing.payment_of(case),
            name=signing.payee_name(case),
            case_file_sha256=decision.case_file_sha256,
            signed_at=now,
            signed_by=signed_by,
        )
        decision.status = signed.status.value
        decision.outcome = signed.outcome
        decision.amount_kzt = signed.amount_kzt
        decision.amount_kind = signed.amount_kind
        decision.period_start = signed.period_start
        decision.reasons = _dump(signed.reasons)
        decision.explanation = [*decision.explanation, *_dump(signed.lines)]
        # The stored and announced values are the document's own (signed_at as signed, to the microsecond).
        decision.signed_at = now
        decision.signed_by = signed_by
        decision.signed_document = document
        decision.signature = signer.sign(document)
        decision.key_id = signer.key_id
        count(
            DECISIONS_SIGNED,
            session,
            service="decision",
            benefit=label(decision.benefit, BENEFITS),
            outcome="assigned" if signed.outcome == "assign" else "refused",
            signer="automatic" if signed_by == AUTO_SIGNER else "specialist",
        )
        await _emit(session, DecisionSigned, decision, case)

    # --- specialist work (api.md "Specialist work", "Decisions") --------------------------

    async def sign_by_specialist(
        self,
        session: AsyncSession,
        decision_id: uuid.UUID,
        caller: Caller,
        *,
        outcome: str,
        reasons: list[tuple[str, str | None]],
        note: str | None = None,
        amount_kzt: int | None = None,
    ) -> Decision:
        caller.require("specialist")
        decision = await get_decision(session, decision_id, caller, lock=True)
        case = case_of(decision)
        signed_by = f"specialist:{caller.sub or 'unknown'}"
        current = signing.Current(
            status=decision.status,
            proposed_outcome="assign" if decision.proposed_outcome == "assign" else "refuse",
            amount_kzt=decision.amount_kzt,
            amount_known=decision.amount_known,
            amount_kind="monthly" if decision.amount_kind == "monthly" else "one_time",
            period_start=decision.period_start,
            reasons=tuple(ReasonRef.model_validate(r) for r in decision.reasons),
        )
        request = signing.SpecialistSignature(
            outcome="assign" if outcome == "assign" else "refuse",
            reasons=tuple(reasons),
            signed_by=signed_by,
            note=note,
            amount_kzt=amount_kzt,
        )
        try:
            signed = signing.by_specialist(case, current, request)
        except signing.SignRefused as refused:
            errors = [{"field": refused.field, "message": refused.detail}] if refused.field else None
            raise Problem(refused.status, refused.slug, refused.detail, errors=errors) from None
        await self._sign(session, decision, case, signed, signed_by=signed_by)
        audit(caller, f"signed decision ({outcome})", f"{decision.id} (application {decision.application_id})")
        return decision


async def _emit(session: AsyncSession, model: type[DecisionData], decision: Decision, case: Case) -> None:
    application = case.application
    event = model.model_validate(
        {
            "decision_id": decision.id,
            "application_id": decision.application_id,
            "benefit": decision.benefit,
            "channel": decision.channel,
            "status": decision.status,
            "outcome": decision.outcome,
            "proposed_outcome": decision.proposed_outcome,
            "amount_kzt": decision.amount_kzt,
            "amount_kind": decision.amount_kind,
            "period_start": decision.period_start,
            "reasons": decision.reasons,
            "signed_at": decision.signed_at,
            "signed_by": decision.signed_by,
            "registration_number": application.registration_number,
            "contact": application.contact,
            "payment": signing.payment_of(case),
        }
        | (
            {"signed_document": decision.signed_document, "signature": decision.signature, "kid": decision.key_id}
            if model is DecisionSigned
            else {}
        )
    )
    await add_event(session, messaging, TOPIC, envelope_of(event, source=SOURCE, subject=str(decision.application_id)))


# --- reads ------------------------------------------------------------------------------


async def list_decisions(
    session: AsyncSession,
    caller: Caller,
    *,
    status: str | None,
    benefit: str | None = None,
    channel: str | None = None,
    due_before: Any = None,
    limit: int = 100,
) -> list[Decision]:
    caller.require("specialist", "ops")
    statuses = sorted(STATUS_FILTERS[status]) if status else None
    return await repository.list_decisions(
        session, statuses=statuses, benefit=benefit, channel=channel, due_before=due_before, limit=limit
    )


async def get_decision(session: AsyncSession, decision_id: uuid.UUID, caller: Caller, *, lock: bool = False) -> Decision:
    """Specialists and ops read any decision; a citizen only one on their own application (else 404)."""
    if caller.role != "citizen":
        caller.require("specialist", "ops")
    decision = await repository.get_decision(session, decision_id, lock=lock)
    if decision is None or (caller.role == "citizen" and (not caller.sub or decision.applicant_iin != caller.sub)):
        raise Problem(404, "not-found", f"No decision {decision_id}.")
    audit(caller, "read decision", f"{decision.id} (application {decision.application_id})")
    return decision


async def list_follow_ups(session: AsyncSession, caller: Caller, *, status: str | None, limit: int) -> list[FollowUp]:
    caller.require("specialist", "ops")
    return await repository.list_follow_ups(session, status=status, limit=limit)
