"""From a signed decision to a payment order (B§19-1, D§20-1/D§21-1: the assignment goes to the payments database)."""

from __future__ import annotations

from common.events import DecisionSigned
from services.payment_queue.domain.model import OrderPlan
from services.payment_queue.domain.policies import policy_for


def holdback(decision: DecisionSigned) -> str | None:
    """B-Std p.8, D-Std p.8: why an assignment cannot be paid as signed, for ops; None when it can.

    Project decision: such an order is kept as `rejected` with this error and never sent, so nothing is
    paid to nobody or in the wrong form; ops correct the case and the decision is signed again.
    """
    policy = policy_for(decision.benefit)
    if not decision.payment.iban:
        return "the assignment has no bank account (IBAN) to pay to"
    if not (decision.payment.payee_iin or decision.payment.payee_bin):
        return "the assignment names no payee (IIN or BIN)"
    if decision.amount_kzt <= 0:
        return f"the assigned amount is not positive ({decision.amount_kzt})"
    if decision.amount_kind != policy.amount_kind:
        return f"a {decision.benefit} assignment is paid {policy.amount_kind}, the decision says {decision.amount_kind}"
    if decision.amount_kind == "monthly" and decision.period_start is None:
        return "a monthly assignment has no period_start to pay from"
    return None


def plan_order(decision: DecisionSigned) -> OrderPlan | None:
    """B§19-1: only an assignment places an order; None for a refusal.

    [law: B19-1.auto-place-in-payments-db, D21-1.auto-place-in-payments-db]
    """
    if decision.outcome != "assign":
        return None
    error = holdback(decision)
    return OrderPlan(
        payee_id=decision.payment.payee_iin or decision.payment.payee_bin,
        iban=decision.payment.iban,
        amount_kzt=decision.amount_kzt,
        amount_kind=decision.amount_kind,
        period_start=decision.period_start,
        purpose=policy_for(decision.benefit).purpose(decision),
        status="pending" if error is None else "rejected",
        error=error,
    )
