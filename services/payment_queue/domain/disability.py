"""State disability benefit (Order 257): monthly from period_start (D§4, D§24)."""

from __future__ import annotations

from common.events import DecisionSigned
from services.payment_queue.domain.model import AmountKind, monthly_purpose


class DisabilityPayment:
    amount_kind: AmountKind = "monthly"

    def purpose(self, decision: DecisionSigned) -> str:
        """D§4, D§24: the monthly disability benefit from the first day of its period."""
        return monthly_purpose(
            decision,
            kk="Мүгедектігі бойынша ай сайынғы мемлекеттік әлеуметтік жәрдемақы",
            ru="Ежемесячное государственное социальное пособие по инвалидности",
        )


POLICY = DisabilityPayment()
