"""What the payment queue's benefit policies provide, and the order a signed decision becomes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal, Protocol

from common.events import DecisionSigned

AmountKind = Literal["one_time", "monthly"]
OrderStatus = Literal["pending", "rejected"]


class PaymentPolicy(Protocol):
    """One benefit's payment: one-time or monthly, and the order's purpose."""

    @property
    def amount_kind(self) -> AmountKind: ...

    def purpose(self, decision: DecisionSigned) -> str:
        """The payment order's purpose, in Kazakh and Russian, naming the decision."""
        ...


@dataclass(frozen=True)
class OrderPlan:
    """A payment order to hand to the payments database, or one held back for ops (`error` says why)."""

    payee_id: str | None
    iban: str | None
    amount_kzt: int
    amount_kind: AmountKind
    period_start: date | None
    purpose: str
    status: OrderStatus
    error: str | None = None


def day(value: date) -> str:
    """Dates in a purpose as in every citizen-facing text: DD.MM.YYYY."""
    return value.strftime("%d.%m.%Y")


def decision_ref(decision: DecisionSigned) -> str:
    """The decision a purpose names: its id, which the payments database deduplicates by."""
    return f"Шешім / решение {decision.decision_id}"


def monthly_purpose(decision: DecisionSigned, *, kk: str, ru: str) -> str:
    """A monthly benefit's purpose: its name in both languages, from the first day of its period, the decision."""
    start = day(decision.period_start) if decision.period_start else "—"
    return f"{kk}, {start} бастап / {ru} с {start}. {decision_ref(decision)}"
