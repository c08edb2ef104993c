"""State disability benefit (Order 257): monthly from period_start (D§4, D§24)."""

from __future__ import annotations

from common.events import DecisionSigned
from services.payment_queue.domain.model import AmountKind, day, decision_ref


class DisabilityPayment:
    amount_kind: AmountKind = "monthly"

    def purpose(self, decision: DecisionSigned) -> str:
        """D§4, D§24: the monthly disability benefit from the first day of its period."""
        start = day(decision.period_start) if decision.period_start else "—"
        return (
            f"Мүгедектігі бойынша ай сайынғы мемлекеттік әлеуметтік жәрдемақы, {start} бастап / "
            f"Ежемесячное государственное социальное пособие по инвалидности с {start}. {decision_ref(decision)}"
        )


POLICY = DisabilityPayment()
