"""Texts the citizen reads, in Kazakh and Russian (receipts B§12, acceptance/rejection B§13/B§16,
result notification Annex 13; for proactive, the result by SMS, B§19-1).

Pure: an event's data in, (kind, text_kk, text_ru) out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

BENEFIT_KK = {
    "burial": "жерлеуге арналған біржолғы төлем",
    "disability": "мүгедектігі бойынша мемлекеттік әлеуметтік жәрдемақы",
    "survivor": "асыраушысынан айырылу жағдайы бойынша мемлекеттік әлеуметтік жәрдемақы",
}
BENEFIT_RU = {
    "burial": "единовременная выплата на погребение",
    "disability": "государственное социальное пособие по инвалидности",
    "survivor": "государственное социальное пособие по случаю потери кормильца",
}


@dataclass(frozen=True)
class Message:
    kind: str  # receipt | accepted | rejected | result
    text_kk: str
    text_ru: str

    def sms_text(self) -> str:
        return f"{self.text_kk}\n{self.text_ru}"


def _d(value: str | None) -> str:
    return date.fromisoformat(value).strftime("%d.%m.%Y") if value else "—"


def _reasons(reasons: list[dict], lang: str) -> str:
    return "; ".join(r.get(f"message_{lang}") or r.get("message", r["code"]) for r in reasons)


def receipt(data: dict) -> Message:
    """B§12: the electronic receipt that the application was received."""
    short = data["application_id"][:8]
    return Message(
        "receipt",
        f"Өтінішіңіз алынды ({BENEFIT_KK[data['benefit']]}). Өтініш коды: {short}.",
        f"Ваше заявление получено ({BENEFIT_RU[data['benefit']]}). Код заявления: {short}.",
    )


def accepted(data: dict) -> Message:
    """B§13/B§16: accepted and registered in the journal (Annex 6)."""
    return Message(
        "accepted",
        f"Өтінішіңіз {_d(data['registered_on'])} тіркелді, тіркеу нөмірі {data['registration_number']}. "
        f"Нәтиже {_d(data['due_by'])} дейін беріледі.",
        f"Ваше заявление зарегистрировано {_d(data['registered_on'])}, регистрационный номер "
        f"{data['registration_number']}. Результат будет не позднее {_d(data['due_by'])}.",
    )


def rejected(data: dict) -> Message:
    """B§16: the automatic message that the application was not accepted, with the reasons."""
    return Message(
        "rejected",
        f"Өтінішіңіз қабылданбады: {_reasons(data['reasons'], 'kk')}. Себебі жойылғаннан кейін қайта жүгінуге болады.",
        f"Заявление не принято: {_reasons(data['reasons'], 'ru')}. После устранения причины можно обратиться повторно.",
    )


def result(data: dict) -> Message:
    """Annex 13: notification of assignment or refusal; appeal is possible (D§34, S§34)."""
    benefit_kk, benefit_ru = BENEFIT_KK[data["benefit"]], BENEFIT_RU[data["benefit"]]
    number = data.get("registration_number") or data["application_id"][:8]
    if data["outcome"] == "assign":
        amount = f"{data['amount_kzt']:,}".replace(",", " ")
        return Message(
            "result",
            f"{number} өтініші бойынша {benefit_kk} тағайындалды: {amount} теңге. Төлем төлемдер дерекқорына жіберілді.",
            f"По заявлению {number} назначена {benefit_ru}: {amount} тенге. Выплата направлена в базу платежей.",
        )
    return Message(
        "result",
        f"{number} өтініші бойынша {benefit_kk} тағайындаудан бас тартылды: {_reasons(data['reasons'], 'kk')}. "
        f"Шешімге шағымдануға болады.",
        f"По заявлению {number} отказано в назначении: {benefit_ru}: {_reasons(data['reasons'], 'ru')}. "
        f"Решение можно обжаловать.",
    )


TEMPLATES = {
    "application.received": receipt,
    "application.registered": accepted,
    "application.rejected": rejected,
    "decision.signed": result,
}
