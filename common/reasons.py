"""Reason codes of api.md with their legal ground, paragraph and the texts citizens read.

`ground` is the refusal ground of each service standard, p.9: 1 = documents or
data unreliable, 2 = applicant or data do not meet the requirements,
3 = no consent to access restricted personal data; None for pure intake checks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Reason:
    code: str
    ground: int | None
    paragraph: str
    en: str
    kk: str
    ru: str

    def as_dict(self, subject: str | None = None) -> dict[str, Any]:
        """The API / event form; ``subject`` names the one person the reason concerns (api.md Decisions)."""
        return ({"subject": subject} if subject else {}) | {
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
        Reason(
            "breadwinner_not_deceased", 1, "S§7",
            "Neither a death record nor a court decision declaring the breadwinner missing or dead was found.",
            "асыраушының қайтыс болғаны немесе хабар-ошарсыз кеткені расталмады",
            "смерть или безвестное отсутствие кормильца не подтверждены",
        ),
        Reason(
            "applicant_deceased", 1, "D-Std p.9 ground 1",
            "The civil registry holds a death record for the applicant.",
            "өтініш берушінің қайтыс болғаны туралы жазба бар",
            "в регистре есть запись о смерти заявителя",
        ),
        Reason(
            "no_payable_account", 2, "B-Std p.8, D-Std p.8",
            "There is no bank account the payment can be made to.",
            "төлем аударылатын банк шоты жоқ",
            "нет банковского счёта для перечисления выплаты",
        ),
        Reason(
            # Project decisions D4.one-benefit-per-person, S7.one-claim-per-dependant: the seed's D§4 and S§7 do
            # not say it; the paragraph names where the project records the choice.
            "already_receiving", 2, "D§4, S§7 (project decision)",
            "This benefit is already assigned for this person.",
            "бұл жәрдемақы осы адамға бұрын тағайындалған",
            "это пособие этому лицу уже назначено",
        ),
        Reason(
            # The same project decisions (one application in progress per person / per dependant); no Std p.9 ground.
            "application_in_progress", None, "D§4, S§7 (project decision)",
            "An application for this benefit and person is already being processed.",
            "осы адамға осы жәрдемақыға өтініш қаралуда",
            "заявление на это пособие по этому лицу уже рассматривается",
        ),
        Reason(
            "provider_not_first_time", 2, "D-Std p.2",
            "The service provider takes an application only when disability is established for the first time.",
            "көрсетілетін қызметті беруші мүгедектік алғаш белгіленген кезде ғана өтініш қабылдайды",
            "услугодатель принимает заявление только при первичном установлении инвалидности",
        ),
        Reason(
            "documents_not_provided", 1, "D§7, S§7",
            "The requested documents were not provided.",
            "сұралған құжаттар ұсынылмады",
            "запрошенные документы не представлены",
        ),
    )
}


def reason(code: str, subject: str | None = None) -> dict[str, Any]:
    """The API / event form of a reason code, optionally about one person (``subject``)."""
    return REASONS[code].as_dict(subject)
