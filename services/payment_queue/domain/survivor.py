"""Survivor benefit (Survivor Rules): monthly from period_start (S§24)."""

from __future__ import annotations

from common.events import DecisionSigned
from services.payment_queue.domain.model import AmountKind, day, decision_ref


class SurvivorPayment:
    amount_kind: AmountKind = "monthly"

    def purpose(self, decision: DecisionSigned) -> str:
        """S§24: the monthly benefit for loss of a breadwinner from the first day of its period."""
        start = day(decision.period_start) if decision.period_start else "—"
        return (
            f"Асыраушысынан айырылу жағдайы бойынша ай сайынғы мемлекеттік әлеуметтік жәрдемақы, {start} бастап / "
            f"Ежемесячное государственное социальное пособие по случаю потери кормильца с {start}. "
            f"{decision_ref(decision)}"
        )


POLICY = SurvivorPayment()
