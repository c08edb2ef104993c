"""Burial payment's words (Order 256): a one-time payment (B§19-1, Annex 13)."""

from __future__ import annotations

from common.events import DecisionSigned
from services.notifier.domain.texts import Both, tenge


class BurialNotices:
    name = Both("жерлеуге арналған біржолғы төлем", "единовременная выплата на погребение")
    refused = Both(
        "жерлеуге арналған біржолғы төлемді тағайындаудан бас тартылды",
        "отказано в назначении единовременной выплаты на погребение",
    )

    def award(self, decision: DecisionSigned) -> Both:
        """B§19-1, Annex 13: a one-time payment of the assigned amount."""
        amount = tenge(decision.amount_kzt)
        return Both(
            f"{amount} теңге мөлшеріндегі біржолғы төлем тағайындалды",
            f"назначена единовременная выплата в размере {amount} тенге",
        )


POLICY = BurialNotices()
