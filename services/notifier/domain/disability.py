"""State disability benefit's words (Order 257): a monthly benefit from period_start (D§4, D§24)."""

from __future__ import annotations

from common.events import DecisionSigned
from services.notifier.domain.model import monthly_award
from services.notifier.domain.texts import Both


class DisabilityNotices:
    name = Both(
        "мүгедектігі бойынша мемлекеттік әлеуметтік жәрдемақы",
        "государственное социальное пособие по инвалидности",
    )
    refused = Both(
        "мүгедектігі бойынша мемлекеттік әлеуметтік жәрдемақыны тағайындаудан бас тартылды",
        "отказано в назначении государственного социального пособия по инвалидности",
    )

    def award(self, decision: DecisionSigned) -> Both:
        """D§4, D§24: monthly, from max(established, applied − 3 months)."""
        return monthly_award(decision)


POLICY = DisabilityNotices()
