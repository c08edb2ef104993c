"""Signing a decision: the system's signature of an automatic draft, or a specialist's (api.md "Decisions")."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from common.events import DecisionDocument, Outcome, Payment, ReasonRef, RuleResult
from common.reasons import REASONS, reason
from services.decision.domain.model import AmountKind, CannotAssign, Case, Draft
from services.decision.domain.policies import policy_for
from services.decision.domain.state import DecisionState, InvalidTransition, state_of_outcome, transition


class SignRefused(ValueError):
    """A signature the rules do not allow; `field` names what the specialist must fix (None: a conflict)."""

    def __init__(self, status: int, slug: str, detail: str, field: str | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.slug = slug
        self.detail = detail
        self.field = field


@dataclass(frozen=True)
class Current:
    """What the stored decision says before signing."""

    status: str
    proposed_outcome: Outcome
    amount_kzt: int
    amount_known: bool
    amount_kind: AmountKind
    period_start: date | None
    reasons: tuple[ReasonRef, ...]


@dataclass(frozen=True)
class SpecialistSignature:
    """What a specialist asks to sign (api.md: outcome, reasons, note, amount_kzt)."""

    outcome: Outcome
    reasons: tuple[tuple[str, str | None], ...]  # (code, subject)
    signed_by: str
    note: str | None = None
    amount_kzt: int | None = None


@dataclass(frozen=True)
class Signed:
    """The decision as signed: state, outcome, amount, period, reasons and the explanation lines it adds."""

    status: DecisionState
    outcome: Outcome
    amount_kzt: int
    amount_kind: AmountKind
    period_start: date | None
    reasons: tuple[ReasonRef, ...]
    lines: tuple[RuleResult, ...]


def automatic(draft: Draft, *, status: str, signed_by: str) -> Signed:
    """B§19-1, D§20-1: the system approves its own draft as it stands. [law: B19-1.auto-approve-eds, D21-1.auto-draft-approve-eds]"""
    target = transition(status, state_of_outcome(draft.outcome))
    line = RuleResult(rule="signature", paragraph="B§19-1, D§20-1", outcome="value",
                      facts={"signed_by": signed_by, "outcome": draft.outcome, "override": False},
                      obligations=draft.approval_law)
    return Signed(target, draft.outcome, draft.amount_kzt, draft.amount_kind, draft.period_start, draft.reasons, (line,))


def _reasons(codes: tuple[tuple[str, str | None], ...]) -> tuple[ReasonRef, ...]:
    """Std p.9: reasons by stable code, optionally naming the person (subject); unknown codes are refused."""
    unknown = [code for code, _ in codes if code not in REASONS]
    if unknown:
        raise SignRefused(422, "unknown-reason", f"Unknown reason codes: {', '.join(unknown)}.", "reasons")
    return tuple(ReasonRef.model_validate(reason(code, subject=subject)) for code, subject in codes)


def by_specialist(case: Case, current: Current, request: SpecialistSignature) -> Signed:
    """api.md Decisions: a specialist signs; overriding needs a note, assigning an account and a known amount."""
    try:
        target = transition(current.status, state_of_outcome(request.outcome))
    except InvalidTransition:
        raise SignRefused(409, "already-signed", "This decision is signed already.") from None
    reasons = _reasons(request.reasons)
    if request.outcome == "refuse" and not reasons:
        raise SignRefused(422, "reasons-required", "A refusal must give its legal grounds.", "reasons")
    override = request.outcome != current.proposed_outcome
    note = (request.note or "").strip()
    if override and not note:
        raise SignRefused(422, "note-required",
                          f"Signing '{request.outcome}' over the proposed '{current.proposed_outcome}' needs a note.",
                          "note")
    signer = policy_for(case.checks.benefit).signer_line(case, None)
    line = RuleResult(
        rule="signature",
        paragraph=signer.paragraph,
        obligations=signer.obligations,
        outcome="value",
        facts={"signed_by": request.signed_by, "outcome": request.outcome,
               "proposed_outcome": current.proposed_outcome, "override": override} | ({"note": note} if note else {}),
    )
    if request.outcome == "refuse":
        return Signed(target, "refuse", 0, current.amount_kind, None, reasons, (line,))
    amount, period_start, lines = _assignment(case, current, request)
    if not reasons and not override:
        reasons = current.reasons  # e.g. the survivor's not_dependant reasons naming who is not covered
    return Signed(target, "assign", amount, current.amount_kind, period_start, reasons, lines + (line,))


def _assignment(
    case: Case, current: Current, request: SpecialistSignature
) -> tuple[int, date | None, tuple[RuleResult, ...]]:
    """B-Std p.8, D-Std p.8: an account to pay to; the law's amount, or the specialist's when no parameter is verified."""
    if case.payee_iban is None:
        raise SignRefused(422, "no-payable-account", "The case has no bank account (IBAN) to pay to.", "outcome")
    if current.proposed_outcome == "assign":
        known, amount, period_start = current.amount_known, current.amount_kzt, current.period_start
        lines: tuple[RuleResult, ...] = ()
    else:
        try:
            assessment = policy_for(case.checks.benefit).assess(case)
        except CannotAssign as missing:
            raise SignRefused(422, "cannot-assign", f"Cannot assign: {missing}.", "outcome") from None
        known, amount, period_start = assessment.amount_known, assessment.amount_kzt or 0, assessment.period_start
        lines = assessment.lines
    if known:
        if request.amount_kzt is not None and request.amount_kzt != amount:
            # Project decision: where the law's amount is known, the specialist confirms it and cannot change it.
            raise SignRefused(422, "amount-set-by-law",
                              f"The amount is set by law ({amount} tenge); leave amount_kzt out.", "amount_kzt")
        return amount, period_start, lines
    if request.amount_kzt is None or request.amount_kzt <= 0:
        raise SignRefused(422, "amount-required",
                          "No verified parameter gives this amount: enter amount_kzt (tenge, > 0).", "amount_kzt")
    entered = RuleResult(rule="amount", paragraph="project decision: a specialist enters an unverified amount",
                         outcome="value", facts={"amount_kzt": request.amount_kzt, "entered_by": request.signed_by})
    return request.amount_kzt, period_start, lines + (entered,)


def payment_of(case: Case) -> Payment:
    """Who is paid and to which account (the application's applicant; its IBAN, else the registry's)."""
    applicant = case.application.applicant
    return Payment(payee_iin=applicant.iin, payee_bin=applicant.bin, iban=case.payee_iban)


def payee_name(case: Case) -> str | None:
    """The payee's name as the persons registry gave it in the case file's evidence, when it was asked."""
    iin = case.application.applicant.iin
    for evidence in case.checks.evidence:
        answer = evidence.answer if isinstance(evidence.answer, dict) else {}
        if evidence.query == "persons" and iin and answer.get("iin") == iin:
            parts = [answer.get(k) for k in ("last_name", "first_name", "middle_name")]
            name = " ".join(str(p) for p in parts if p)
            return name or None
    return None


def signed_document(
    *,
    kid: str,
    decision_id: str,
    application_id: str,
    benefit: str,
    channel: str,
    signed: Signed,
    payment: Payment,
    name: str | None,
    case_file_sha256: str,
    signed_at: datetime,
    signed_by: str,
) -> dict[str, Any]:
    """What the signature covers (B§19-1: approved with the EDS, verifiable later): common.events.DecisionDocument.

    Everything the payment queue pays by is in it (payee, IBAN, amount, kind, period), and the hash of the case file.
    """
    return DecisionDocument.model_validate(
        {
            "kid": kid,
            "decision_id": decision_id,
            "application_id": application_id,
            "benefit": benefit,
            "channel": channel,
            "outcome": signed.outcome,
            "amount_kzt": signed.amount_kzt,
            "amount_kind": signed.amount_kind,
            "period_start": signed.period_start,
            "reasons": [{"code": r.code, "subject": r.subject} for r in signed.reasons],
            "payee": {"iin": payment.payee_iin, "bin": payment.payee_bin, "name": name},
            "iban": payment.iban,
            "signed_by": signed_by,
            "signed_at": signed_at,
            "case_file_sha256": case_file_sha256,
        }
    ).model_dump(mode="json")
