"""The documents the three service standards name, with their texts in Kazakh and Russian.

One catalogue for every service: intake checks an attached document's type
against it, eligibility asks for documents by these codes, the notifier names
them to the citizen. Sources: B-Std p.8, D-Std p.8, S§7 / S-Std p.8 (Order 509).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DocumentType:
    code: str
    paragraph: str
    en: str
    kk: str
    ru: str


DOCUMENT_TYPES: dict[str, DocumentType] = {
    d.code: d
    for d in (
        DocumentType("identity_document", "B-Std p.8, D-Std p.8, S-Std p.8", "identity document",
                     "жеке басын куәландыратын құжат", "документ, удостоверяющий личность"),
        DocumentType("death_certificate", "B-Std p.8, S§7", "death certificate (a foreign one only apostilled or legalised)",
                     "қайтыс болуы туралы куәлік", "свидетельство о смерти"),
        DocumentType("court_decision", "S§7", "court decision declaring the person missing or dead",
                     "адамды хабар-ошарсыз кетті немесе қайтыс болды деп жариялау туралы сот шешімі",
                     "решение суда о признании лица безвестно отсутствующим или объявлении умершим"),
        DocumentType("legal_entity_registration", "B-Std p.8", "legal entity's registration data",
                     "заңды тұлғаның тіркеу деректері", "регистрационные данные юридического лица"),
        DocumentType("sole_proprietor_patent", "B-Std p.8", "sole proprietor's patent",
                     "дара кәсіпкердің патенті", "патент индивидуального предпринимателя"),
        DocumentType("power_of_attorney", "B-Std p.5", "notarised power of attorney",
                     "нотариат куәландырған сенімхат", "нотариально удостоверенная доверенность"),
        DocumentType("disability_certificate", "D-Std p.8", "certificate of disability",
                     "мүгедектік туралы анықтама", "справка об инвалидности"),
        DocumentType("radiation_council_decision", "D-Std p.8", "radiation council decision",
                     "радиациялық кеңестің шешімі", "решение радиационного совета"),
        DocumentType("military_medical_decision", "D-Std p.8", "central military-medical commission decision",
                     "орталық әскери-дәрігерлік комиссияның шешімі", "решение центральной военно-врачебной комиссии"),
        DocumentType("hospital_certificate", "D-Std p.8", "hospital illness certificate or military-medical conclusion",
                     "госпитальдің ауру туралы куәлігі", "свидетельство о болезни госпиталя"),
        DocumentType("birth_certificate", "D-Std p.8, S§7", "birth certificate",
                     "туу туралы куәлік", "свидетельство о рождении"),
        DocumentType("marriage_certificate", "D-Std p.8, S§7", "marriage or divorce certificate",
                     "неке қию немесе бұзу туралы куәлік", "свидетельство о заключении или расторжении брака"),
        DocumentType("adoption_decision", "S§7", "court decision on adoption",
                     "бала асырап алу туралы сот шешімі", "решение суда об усыновлении"),
        DocumentType("paternity_certificate", "S§7", "certificate of paternity",
                     "әкелікті анықтау туралы куәлік", "свидетельство об установлении отцовства"),
        DocumentType("guardianship_document", "D-Std p.8, S§7", "guardianship document",
                     "қорғаншылық туралы құжат", "документ об опеке"),
        DocumentType("education_certificate", "S§7, Annex 2", "education organisation's certificate of full-time study (Annex 2), valid one academic year",
                     "білім беру ұйымының күндізгі оқу туралы анықтамасы", "справка организации образования об очном обучении"),
        DocumentType("work_book", "S-Std p.8", "work book with the termination entry",
                     "еңбек кітапшасы", "трудовая книжка"),
        DocumentType("military_card", "S§7", "the deceased's military card",
                     "әскери билет", "военный билет"),
        DocumentType("death_in_service_certificate", "S§7", "certificate of death in service",
                     "қызмет өткеру кезінде қаза тапқаны туралы анықтама", "справка о гибели при прохождении службы"),
    )
}


# S§7: kinship is proved by a birth, adoption or paternity document; a request for one is answered by any of them.
ANSWERS: dict[str, frozenset[str]] = {
    "birth_certificate": frozenset({"birth_certificate", "adoption_decision", "paternity_certificate"}),
}


def answering(requested: str) -> frozenset[str]:
    """The document types that answer a request for ``requested`` (itself, and its equivalents under S§7)."""
    return ANSWERS.get(requested, frozenset({requested}))


def document_name(code: str, lang: str) -> str:
    """The document's name in 'en', 'kk' or 'ru'; the code itself when the catalogue lacks it."""
    doc = DOCUMENT_TYPES.get(code)
    return getattr(doc, lang) if doc else code
