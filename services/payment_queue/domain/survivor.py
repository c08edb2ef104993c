"""Survivor benefit (Survivor Rules): monthly from period_start (S§24)."""

from __future__ import annotations

from common.events import DecisionSigned
from services.payment_queue.domain.model import AmountKind, monthly_purpose


class SurvivorPayment:
    amount_kind: AmountKind = "monthly"

    def purpose(self, decision: DecisionSigned) -> str:
        """S§24: the monthly benefit for loss of a breadwinner from the first day of its period."""
        return monthly_purpose(
            decision,
            kk="Асыраушысынан айырылу жағдайы бойынша ай сайынғы мемлекеттік әлеуметтік жәрдемақы",
            ru="Ежемесячное государственное социальное пособие по случаю потери кормильца",
        )


POLICY = SurvivorPayment()
