"""The payment queue's benefit seam: what a signed decision becomes in the payments database (B§19-1)."""

from __future__ import annotations

from datetime import date
from typing import Any, get_args

import pytest

from common.events import Benefit, DecisionSigned
from services.payment_queue.domain.orders import plan_order
from services.payment_queue.domain.policies import POLICIES, policy_for

DECISION_ID = "7e0d7f9e-1f43-4c59-9c55-1b8f0c3a9d21"
PAYEE = "860615400046"
IBAN = "KZ86125KZT5004100100"


def decision(benefit: str = "burial", outcome: str = "assign", **over: Any) -> DecisionSigned:
    monthly = benefit != "burial"
    return DecisionSigned.model_validate({
        "decision_id": DECISION_ID,
        "application_id": "2c324707-4c88-5d08-9fef-185848bf8339",
        "benefit": benefit,
        "channel": "proactive",
        "status": "assigned" if outcome == "assign" else "refused",
        "outcome": outcome,
        "proposed_outcome": outcome,
        "amount_kzt": (137_620 if monthly else 151_375) if outcome == "assign" else 0,
        "amount_kind": "monthly" if monthly else "one_time",
        "period_start": "2026-08-02" if monthly else None,
        "payment": {"payee_iin": PAYEE, "iban": IBAN},
    } | over)


def test_every_benefit_has_a_payment_policy() -> None:
    """docs/benefits.md: one policy module per benefit in each service."""
    assert set(POLICIES) == set(get_args(Benefit))
    with pytest.raises(KeyError, match="pension"):
        policy_for("pension")


@pytest.mark.law("B19-1.auto-place-in-payments-db", "D21-1.auto-place-in-payments-db")
@pytest.mark.parametrize("benefit", ["burial", "disability", "survivor"])
def test_a_refusal_places_no_order(benefit: str) -> None:
    """B§19-1: only an assignment is paid."""
    assert plan_order(decision(benefit, "refuse")) is None


@pytest.mark.law("B19-1.auto-place-in-payments-db", "D21-1.auto-place-in-payments-db")
@pytest.mark.parametrize(
    ("benefit", "kind", "period_start", "purpose"),
    [
        ("burial", "one_time", None,
         ["Жерлеуге арналған біржолғы төлем", "Единовременная выплата на погребение"]),
        ("disability", "monthly", date(2026, 8, 2),
         ["Мүгедектігі бойынша ай сайынғы мемлекеттік әлеуметтік жәрдемақы, 02.08.2026 бастап",
          "Ежемесячное государственное социальное пособие по инвалидности с 02.08.2026"]),
        ("survivor", "monthly", date(2026, 8, 2),
         ["Асыраушысынан айырылу жағдайы бойынша ай сайынғы мемлекеттік әлеуметтік жәрдемақы, 02.08.2026 бастап",
          "Ежемесячное государственное социальное пособие по случаю потери кормильца с 02.08.2026"]),
    ],
)
def test_an_assignment_becomes_one_pending_order_with_its_purpose(
    benefit: str, kind: str, period_start: date | None, purpose: list[str]
) -> None:
    """B§19-1, D§24, S§24: burial one-time; disability and survivor monthly from period_start; the purpose says so."""
    plan = plan_order(decision(benefit))
    assert plan is not None
    assert (plan.status, plan.error) == ("pending", None)
    assert (plan.payee_id, plan.iban, plan.amount_kind, plan.period_start) == (PAYEE, IBAN, kind, period_start)
    for words in purpose:
        assert words in plan.purpose
    assert DECISION_ID in plan.purpose
    assert "2026-08-02" not in plan.purpose


def test_the_purpose_is_the_same_every_time() -> None:
    """Guarantee 2: a retry sends the very same order, so the payments database sees no conflict."""
    first, again = plan_order(decision("survivor")), plan_order(decision("survivor"))
    assert first is not None and again is not None and first.purpose == again.purpose


@pytest.mark.parametrize(
    ("benefit", "over", "error"),
    [
        ("disability", {"payment": {"payee_iin": PAYEE, "iban": None}}, "no bank account (IBAN)"),
        ("burial", {"payment": {"payee_iin": PAYEE}}, "no bank account (IBAN)"),
        ("survivor", {"payment": {"iban": IBAN}}, "names no payee"),
        ("disability", {"period_start": None}, "no period_start"),
        ("disability", {"amount_kind": "one_time"}, "paid monthly, the decision says one_time"),
        ("burial", {"amount_kind": "monthly", "period_start": "2026-08-02"}, "paid one_time, the decision says monthly"),
        ("survivor", {"amount_kzt": 0}, "not positive"),
    ],
)
def test_an_assignment_that_cannot_be_paid_is_held_back_for_ops(benefit: str, over: dict[str, Any], error: str) -> None:
    """B-Std p.8, D-Std p.8: no account, no payee or a malformed amount → not sent; rejected with a clear error."""
    plan = plan_order(decision(benefit, **over))
    assert plan is not None
    assert plan.status == "rejected" and plan.error is not None and error in plan.error
    assert PAYEE not in plan.error  # the error is logged: no personal data in it
