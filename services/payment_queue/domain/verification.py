"""Only what decision signed is paid: the signed document checked against the event around it (B§19-1).

The signature itself is checked by the adapter (adapters/decision_keys.py) with the key the event names; this
module, pure, reads the verified document and compares it with the event's own fields. Any difference means the
event was changed after signing (or built by someone else), and the decision is held for ops, never paid.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import ValidationError

from common.events import DecisionDocument, DecisionSigned, Payment, ReasonRef

HoldReason = Literal["unsigned", "unknown_key", "bad_signature", "malformed_document", "fields_disagree"]


@dataclass(frozen=True)
class Held:
    """Why a decision.signed is not paid; ``detail`` names fields and keys only, never personal data."""

    reason: HoldReason
    detail: str


def unsigned(event: DecisionSigned) -> Held | None:
    """A decision.signed without its document, signature or kid cannot be verified, so it is not paid."""
    missing = [name for name in ("signed_document", "signature", "kid") if not getattr(event, name)]
    return Held("unsigned", f"missing {', '.join(missing)}") if missing else None


def _status_of(outcome: str) -> str:
    return "assigned" if outcome == "assign" else "refused"


def disagreements(event: DecisionSigned, document: DecisionDocument) -> list[str]:
    """The names of the event's fields that say something other than the signed document."""
    payment = event.payment
    pairs: dict[str, tuple[Any, Any]] = {
        "kid": (event.kid, document.kid),
        "decision_id": (event.decision_id, document.decision_id),
        "application_id": (event.application_id, document.application_id),
        "benefit": (event.benefit, document.benefit),
        "channel": (event.channel, document.channel),
        "outcome": (event.outcome, document.outcome),
        "status": (event.status, _status_of(document.outcome)),
        "amount_kzt": (event.amount_kzt, document.amount_kzt),
        "amount_kind": (event.amount_kind, document.amount_kind),
        "period_start": (event.period_start, document.period_start),
        "payment.payee_iin": (payment.payee_iin, document.payee.iin),
        "payment.payee_bin": (payment.payee_bin, document.payee.bin),
        "payment.iban": (payment.iban, document.iban),
        "signed_by": (event.signed_by, document.signed_by),
        "signed_at": (event.signed_at, document.signed_at),
        "reasons": ([(r.code, r.subject) for r in event.reasons], [(r.code, r.subject) for r in document.reasons]),
    }
    return [name for name, (said, signed) in pairs.items() if said != signed]


def as_signed(event: DecisionSigned) -> DecisionSigned | Held:
    """The decision exactly as signed, or why it is held. Call only after the signature verified.

    Everything a payment order is made of (payee, IBAN, amount, kind, period, outcome) is taken from the signed
    document; the event's other fields (contact, registration number) only travel along.
    """
    try:
        document = DecisionDocument.model_validate(event.signed_document)
    except ValidationError as exc:
        fields = sorted({".".join(str(p) for p in error["loc"]) for error in exc.errors()})
        return Held("malformed_document", f"the signed document does not read as a decision: {', '.join(fields)}")
    differ = disagreements(event, document)
    if differ:
        return Held("fields_disagree", f"the event's fields differ from the signed document: {', '.join(differ)}")
    return event.model_copy(
        update={
            "decision_id": document.decision_id,
            "application_id": document.application_id,
            "benefit": document.benefit,
            "status": _status_of(document.outcome),
            "outcome": document.outcome,
            "amount_kzt": document.amount_kzt,
            "amount_kind": document.amount_kind,
            "period_start": document.period_start,
            "reasons": tuple(ReasonRef(code=r.code, subject=r.subject) for r in document.reasons),
            "payment": Payment(payee_iin=document.payee.iin, payee_bin=document.payee.bin, iban=document.iban),
        }
    )
