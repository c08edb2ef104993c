"""Survivor benefit's words (Survivor Rules): a monthly benefit for the family from period_start (S§24)."""

from __future__ import annotations

from common.events import DecisionSigned
from services.notifier.domain.model import monthly_award
from services.notifier.domain.texts import Both


class SurvivorNotices:
    name = Both(
        "асыраушысынан айырылу жағдайы бойынша мемлекеттік әлеуметтік жәрдемақы",
        "государственное социальное пособие по случаю потери кормильца",
    )
    refused = Both(
        "асыраушысынан айырылу жағдайы бойынша мемлекеттік әлеуметтік жәрдемақыны тағайындаудан бас тартылды",
        "отказано в назначении государственного социального пособия по случаю потери кормильца",
    )

    def award(self, decision: DecisionSigned) -> Both:
        """S§24: monthly for the eligible dependants, from max(right arose, applied − 12 months)."""
        return monthly_award(decision)


POLICY = SurvivorNotices()
