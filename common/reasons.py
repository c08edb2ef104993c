"""Reason codes of api.md with their legal ground, paragraph and the texts citizens read.

`ground` is the refusal ground of each service standard, p.9: 1 = documents or
data unreliable, 2 = applicant or data do not meet the requirements,
3 = no consent to access restricted personal data; None for pure intake checks.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Reason:
    code: str
    ground: int | None
    paragraph: str
    en: str
    kk: str
    ru: str

    def as_dict(self) -> dict:
        return {
            "code": self.code,
            "ground": self.ground,
            "paragraph": self.paragraph,
            "message": self.en,
            "message_kk": self.kk,
            "message_ru": self.ru,
        }


REASONS: dict[str, Reason] = {
    r.code: r
    for r in (
        Reason(
            "incomplete", None, "B§13 check 1",
            "Required data is missing (death not confirmed by the civil registry and no certificate, or no bank account to pay to).",
            "ұсынылған мәліметтер толық емес",
            "представлены неполные сведения",
        ),
        Reason(
            "already_assigned", None, "B§13 check 2",
            "A burial payment was already assigned for this deceased person.",
            "қайтыс болған адамға жерлеуге арналған төлем бұрын тағайындалған",
            "выплата на погребение по умершему уже назначена",
        ),
        Reason(
            "duplicate_application", None, "B§13 check 3",
            "An application for this deceased person is already filed.",
            "қайтыс болған адамға жерлеуге арналған төлемге өтініш бұрын берілген",
            "заявление на выплату на погребение по умершему уже подано",
        ),
        Reason(
            "not_a_recipient", 2, "B§13 check 4",
            "At the date of death the deceased received no pension or state benefit.",
            "қайтыс болған күні адам зейнетақы немесе мемлекеттік жәрдемақы алушы болмаған",
            "на дату смерти умерший не являлся получателем пенсии или государственного пособия",
        ),
        Reason(
            "deadline_passed", 2, "B§13 check 5",
            "The application was filed more than 3 years after the date of death.",
            "өтініш қайтыс болған күннен бастап үш жылдан кейін берілген",
            "заявление подано позже трёх лет со дня смерти",
        ),
        Reason(
            "no_consent", 3, "B-Std p.9 ground 3",
            "No consent to access restricted personal data (Law on Personal Data, art. 8).",
            "қолжетімділігі шектеулі дербес деректерге қол жеткізуге келісім берілмеген",
            "не дано согласие на доступ к персональным данным ограниченного доступа",
        ),
        Reason(
            "data_unreliable", 1, "B-Std p.9 ground 1",
            "The state registries contradict the application (e.g. no death record, unknown person or entity).",
            "мәліметтер мемлекеттік дерекқорлармен расталмады",
            "сведения не подтверждены государственными базами данных",
        ),
        Reason(
            "no_disability", 2, "D-Std p.9 ground 2",
            "No disability record for the applicant.",
            "өтініш берушіге мүгедектік белгіленбеген",
            "у заявителя не установлена инвалидность",
        ),
        Reason(
            "not_dependant", 2, "S-Std p.9 ground 2",
            "A listed person is not an eligible dependant of the deceased.",
            "көрсетілген адам қайтыс болған адамның асырауындағы адам болып табылмайды",
            "указанное лицо не является иждивенцем умершего",
        ),
    )
}


def reason(code: str) -> dict:
    """The API / event form of a reason code."""
    return REASONS[code].as_dict()
