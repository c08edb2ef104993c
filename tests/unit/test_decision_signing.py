"""The decision's state machine and a specialist's signature (docs/benefits.md States; api.md Decisions)."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timezone
from typing import Any

import pytest

from common.events import ApplicationData, EligibilityChecked, Payment, ReasonRef
from common.reasons import reason
from services.decision.domain.model import Case
from services.decision.domain.signing import (
    Current,
    SignRefused,
    SpecialistSignature,
    by_specialist,
    signed_document,
)
from services.decision.domain.state import (
    STATUS_FILTERS,
    TRANSITIONS,
    DecisionState,
    InvalidTransition,
    transition,
)

IBAN = "KZ86125KZT5004100100"


def case(benefit: str = "disability", *, iban: str | None = IBAN, **facts: Any) -> Case:
    application_id = uuid.uuid4()
    at = datetime(2026, 5, 15, 5, 0, tzinfo=timezone.utc)
    base = {"received_on": "2026-05-15", "cause": "general_illness", "group": 1, "established_on": "2026-05-01",
            "date_of_death": "2026-04-01"}
    application = ApplicationData.model_validate(
        {"application_id": application_id, "benefit": benefit, "channel": "state_corp", "status": "registered",
         "received_at": at, "received_on": "2026-05-15", "applicant": {"iin": "790303402568"}, "iban": iban}
    )
    checks = EligibilityChecked.model_validate(
        {"application_id": application_id, "benefit": benefit, "channel": "state_corp", "eligible": True,
         "facts": base | facts, "checked_at": at}
    )
    return Case(application=application, checks=checks)


def current(proposed: str = "assign", *, status: str = "awaiting_signature", known: bool = True) -> Current:
    return Current(status=status, proposed_outcome=proposed, amount_kzt=111_873 if known and proposed == "assign" else 0,
                   amount_known=known, amount_kind="monthly", period_start=date(2026, 5, 1) if proposed == "assign"
                   else None, reasons=())


def ask(outcome: str = "assign", *, reasons: tuple[tuple[str, str | None], ...] = (), note: str | None = None,
        amount_kzt: int | None = None) -> SpecialistSignature:
    return SpecialistSignature(outcome=outcome, reasons=reasons, signed_by="specialist:spec-7", note=note,
                               amount_kzt=amount_kzt)


@pytest.mark.parametrize(
    ("start", "target", "allowed"),
    [
        ("awaiting_signature", DecisionState.ASSIGNED, True),
        ("awaiting_signature", DecisionState.REFUSED, True),
        ("assigned", DecisionState.REFUSED, False),
        ("refused", DecisionState.ASSIGNED, False),
        ("assigned", DecisionState.ASSIGNED, False),
        ("awaiting_signature", DecisionState.AWAITING_SIGNATURE, False),
    ],
)
def test_transitions_follow_the_table(start: str, target: DecisionState, allowed: bool) -> None:
    """docs/benefits.md: awaiting_signature ─> assigned | refused; a signed decision is final."""
    if allowed:
        assert transition(start, target) is target
    else:
        with pytest.raises(InvalidTransition):
            transition(start, target)


def test_signed_filter_means_either_signed_state() -> None:
    """api.md: `status=signed` stays in use and means assigned or refused."""
    assert STATUS_FILTERS["signed"] == {DecisionState.ASSIGNED, DecisionState.REFUSED}
    assert set(TRANSITIONS) == set(DecisionState)


@pytest.mark.parametrize(
    ("the_case", "now", "asked", "status", "field"),
    [
        (case(), current(status="assigned"), ask(), 409, None),  # signed already
        (case(), current(), ask("refuse"), 422, "reasons"),  # the grounds are checked before the note
        (case(), current(), ask("refuse", reasons=(("no_disability", None),)), 422, "note"),
        (case(), current(), ask("refuse", reasons=(("no_disability", None),), note="  "), 422, "note"),
        (case(), current("refuse"), ask("refuse"), 422, "reasons"),  # a refusal needs its grounds
        (case(), current(), ask("refuse", reasons=(("nonsense", None),), note="x"), 422, "reasons"),
        (case(iban=None), current(), ask(), 422, "outcome"),  # nothing to pay to
        (case(), current(known=False), ask(), 422, "amount_kzt"),  # unknown amount must be entered
        (case(), current(), ask(amount_kzt=5), 422, "amount_kzt"),  # the law's amount is not the specialist's
        (case(established_on=None), current("refuse"), ask(note="registry late"), 422, "outcome"),  # cannot assign
    ],
)
def test_signatures_the_rules_refuse(the_case: Case, now: Current, asked: SpecialistSignature, status: int,
                                     field: str | None) -> None:
    """api.md Decisions: 409 when signed; 422 naming the field the specialist must fix."""
    with pytest.raises(SignRefused) as refused:
        by_specialist(the_case, now, asked)
    assert (refused.value.status, refused.value.field) == (status, field)


def test_an_entered_amount_is_signed_and_explained() -> None:
    """Project decision: with no verified parameter (work injury) the specialist's amount is signed."""
    signed = by_specialist(case(cause="work_injury"), current(known=False), ask(amount_kzt=70_000))
    assert (signed.status, signed.outcome, signed.amount_kzt) == (DecisionState.ASSIGNED, "assign", 70_000)
    assert signed.lines[-2].facts == {"amount_kzt": 70_000, "entered_by": "specialist:spec-7"}
    assert signed.lines[-1].rule == "signature" and signed.lines[-1].facts["override"] is False


def test_assigning_over_a_refusal_computes_through_the_policy_and_keeps_the_note() -> None:
    """D§4, D§24: the policy gives amount and period; the override note is in the explanation."""
    signed = by_specialist(case(), current("refuse"), ask(note="the registry record arrived late"))
    assert (signed.amount_kzt, signed.period_start) == (111_873, date(2026, 5, 1))
    assert signed.reasons == ()
    assert signed.lines[-1].facts["note"] == "the registry record arrived late"
    assert signed.lines[-1].facts["override"] is True


def test_a_burial_assignment_over_a_refusal_needs_a_date_of_death() -> None:
    """B§19-1: 35 MCI at the date of death; without it the assignment is refused naming outcome."""
    with pytest.raises(SignRefused) as refused:
        by_specialist(case("burial", date_of_death=None), current("refuse"), ask(note="seen the certificate"))
    assert (refused.value.status, refused.value.field) == (422, "outcome")


def test_a_refusal_signs_nothing_to_pay_with_the_reasons_and_subjects() -> None:
    """Std p.9: a refusal carries its grounds, each optionally naming one person."""
    signed = by_specialist(case("survivor"), current(), ask("refuse", reasons=(("not_dependant", "031231500126"),),
                                                             note="no kinship"))
    assert (signed.status, signed.amount_kzt, signed.period_start) == (DecisionState.REFUSED, 0, None)
    assert [(r.code, r.subject) for r in signed.reasons] == [("not_dependant", "031231500126")]


def test_confirming_a_proposal_keeps_its_reasons() -> None:
    """S-Std p.9: an assignment for some dependants keeps the reasons naming the others."""
    named = ReasonRef.model_validate(reason("not_dependant", subject="031231500126"))
    now = Current(status="awaiting_signature", proposed_outcome="assign", amount_kzt=46_783, amount_known=True,
                  amount_kind="monthly", period_start=date(2026, 4, 1), reasons=(named,))
    signed = by_specialist(case("survivor"), now, ask())
    assert [(r.code, r.subject) for r in signed.reasons] == [("not_dependant", "031231500126")]


def test_the_signed_document_names_what_is_signed() -> None:
    """B§19-1: key, decision, benefit, outcome, amount and kind, period, reasons with subjects, payee with name,
    IBAN, case file hash, who, when (common.events.DecisionDocument)."""
    signed = by_specialist(case(), current(), ask())
    decision_id, application_id = uuid.uuid4(), uuid.uuid4()
    document = signed_document(
        kid="k1", decision_id=str(decision_id), application_id=str(application_id), benefit="disability",
        channel="state_corp", signed=signed, payment=Payment(payee_iin="790303402568", iban=IBAN),
        name="Омаров Данияр", case_file_sha256="abc", signed_at=datetime(2026, 5, 16, tzinfo=timezone.utc),
        signed_by="specialist:spec-7",
    )
    assert document == {
        "type": "kz.emaket.decision.signed.v2", "kid": "k1",
        "decision_id": str(decision_id), "application_id": str(application_id), "benefit": "disability",
        "channel": "state_corp", "outcome": "assign", "amount_kzt": 111_873, "amount_kind": "monthly",
        "period_start": "2026-05-01", "reasons": [],
        "payee": {"iin": "790303402568", "bin": None, "name": "Омаров Данияр"}, "iban": IBAN,
        "case_file_sha256": "abc", "signed_at": "2026-05-16T00:00:00Z", "signed_by": "specialist:spec-7",
    }
