"""Building blocks of the citizen's texts, in Kazakh and Russian: amounts, dates, persons, reasons, documents.

Pure: no I/O. A person is named only by a masked IIN (last 4 digits), never by the whole number.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from common.documents import document_name
from common.events import ReasonRef, RequestedDocument
from common.identifiers import mask_iin
from common.reasons import REASONS


@dataclass(frozen=True)
class Both:
    """One text in both languages."""

    kk: str
    ru: str


# D§34, S§34 (the burial Rules in the seed have no appeal paragraph; burial texts name it by project choice).
# law: D34.appeal, S34.appeal
APPEAL = Both(
    "Шешімге мемлекеттік қызметтер көрсету сапасын бағалау және бақылау жөніндегі уәкілетті органға шағымдануға болады.",
    "Решение можно обжаловать в уполномоченном органе по оценке и контролю за качеством оказания государственных услуг.",
)
# law: B-Std9.reapply-after-cause-removed, D-Std9.reapply-after-cause-removed, S-Std9.reapply-after-cause-removed
REAPPLY = Both("Себебі жойылғаннан кейін қайта жүгінуге болады.", "После устранения причины можно обратиться повторно.")
_IIN_WORD = Both("ЖСН", "ИИН")


def tenge(amount_kzt: int) -> str:
    """Annex 13: an amount with spaces between thousands ('151 375')."""
    return f"{amount_kzt:,}".replace(",", " ")


def day(value: date | None) -> str:
    """Dates as citizens read them: DD.MM.YYYY; a dash when there is none."""
    return value.strftime("%d.%m.%Y") if value else "—"


def person(iin: str) -> Both:
    """A person named only by a masked IIN ('ЖСН ********2568' / 'ИИН ********2568')."""
    masked = mask_iin(iin)
    return Both(f"{_IIN_WORD.kk} {masked}", f"{_IIN_WORD.ru} {masked}")


def reason_text(ref: ReasonRef) -> Both:
    """A reason in each language, the catalogue's text when the event lacks one; prefixed by its person, if any."""
    known = REASONS.get(ref.code)
    kk = ref.message_kk or (known.kk if known else ref.message or ref.code)
    ru = ref.message_ru or (known.ru if known else ref.message or ref.code)
    if ref.subject:
        who = person(ref.subject)
        kk, ru = f"{who.kk}: {kk}", f"{who.ru}: {ru}"
    return Both(kk, ru)


def reasons_text(refs: Iterable[ReasonRef]) -> Both:
    """Every reason, '; '-separated, the Kazakh text in Kazakh and the Russian in Russian."""
    texts = [reason_text(r) for r in refs]
    return Both("; ".join(t.kk for t in texts), "; ".join(t.ru for t in texts))


def documents_text(documents: Iterable[RequestedDocument], applicant_iin: str | None) -> Both:
    """D§7, S§7: each document by its catalogue name, with the person it is about.

    Project decision: a document about the applicant names nobody (the citizen reads "you"), and the
    same document about the same person is listed once.
    """
    kk: list[str] = []
    ru: list[str] = []
    for doc in dict.fromkeys((d.type, d.about) for d in documents):
        code, about = doc
        name = Both(document_name(code, "kk"), document_name(code, "ru"))
        if about and about != applicant_iin:
            who = person(about)
            name = Both(f"{name.kk} ({who.kk})", f"{name.ru} ({who.ru})")
        kk.append(name.kk)
        ru.append(name.ru)
    return Both("; ".join(kk), "; ".join(ru))


_STATE_CORPORATION = Both("Мемлекеттік корпорацияға", "в Государственную корпорацию")
_BRING_TO = {"provider": Both("көрсетілетін қызметті берушіге", "услугодателю")}


def bring_to(channel: str) -> Both:
    """D-Std p.3, S-Std p.3: where the citizen brings requested documents.

    Project decision: to the service provider when the application was filed there, otherwise to a
    State Corporation branch (the operator there attaches them, api.md Documents).
    """
    return _BRING_TO.get(channel, _STATE_CORPORATION)
