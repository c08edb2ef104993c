"""What the notifier's benefit policies provide, and the message they help to build."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from common.events import DecisionSigned
from services.notifier.domain.texts import Both, day, tenge

Kind = Literal["receipt", "accepted", "rejected", "documents_requested", "result"]


@dataclass(frozen=True)
class Message:
    kind: Kind
    text_kk: str
    text_ru: str

    def sms_text(self) -> str:
        return f"{self.text_kk}\n{self.text_ru}"


class NoticePolicy(Protocol):
    """One benefit's words: its name, its name as refused, and what an assignment gives (Annex 13)."""

    @property
    def name(self) -> Both:
        """Nominative: 'мүгедектігі бойынша ... жәрдемақы' / 'государственное социальное пособие ...'."""
        ...

    @property
    def refused(self) -> Both:
        """The refusal's clause: kk accusative + 'тағайындаудан бас тартылды', ru 'отказано в назначении' + genitive."""
        ...

    def award(self, decision: DecisionSigned) -> Both:
        """The sentence of an assignment, e.g. 'назначена единовременная выплата в размере 151 375 тенге'."""
        ...


def monthly_award(decision: DecisionSigned) -> Both:
    """D§4, D§24, S§24: a monthly benefit of the assigned amount from the first day of its period."""
    amount = tenge(decision.amount_kzt)
    if decision.period_start is None:
        return Both(
            f"ай сайынғы {amount} теңге мөлшеріндегі жәрдемақы тағайындалды",
            f"назначено ежемесячное пособие в размере {amount} тенге",
        )
    start = day(decision.period_start)
    return Both(
        f"{start} бастап ай сайынғы {amount} теңге мөлшеріндегі жәрдемақы тағайындалды",
        f"назначено ежемесячное пособие в размере {amount} тенге с {start}",
    )
