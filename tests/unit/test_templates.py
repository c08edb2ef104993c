"""Citizen-facing texts in Kazakh and Russian per benefit (receipt B§12, acceptance/rejection B§13/B§16,
documents requested D§7/S§7, result Annex 13 with the appeal D§34/S§34)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from common.documents import DOCUMENT_TYPES
from common.events import (
    ApplicationReceived,
    ApplicationRegistered,
    ApplicationRejected,
    DecisionSigned,
    DocumentsRequested,
)
from common.reasons import REASONS, reason
from services.notifier.domain.templates import (
    TEMPLATES,
    Message,
    accepted,
    documents_requested,
    receipt,
    rejected,
    result,
)

APP_ID = "2c324707-4c88-5d08-9fef-185848bf8339"
DECISION_ID = "7e0d7f9e-1f43-4c59-9c55-1b8f0c3a9d21"
APPLICANT = "860615400046"
CHILD = "120304500029"
OTHER = "090909600037"
KAZAKH_LETTERS = set("әғқңөұүһіӘҒҚҢӨҰҮҺІ")
CYRILLIC = re.compile(r"[А-Яа-яЁё]")
BENEFITS = ("burial", "disability", "survivor")
NAMES = {  # (kk, ru)
    "burial": ("жерлеуге арналған біржолғы төлем", "единовременная выплата на погребение"),
    "disability": ("мүгедектігі бойынша мемлекеттік әлеуметтік жәрдемақы",
                   "государственное социальное пособие по инвалидности"),
    "survivor": ("асыраушысынан айырылу жағдайы бойынша мемлекеттік әлеуметтік жәрдемақы",
                 "государственное социальное пособие по случаю потери кормильца"),
}
APPEAL_KK, APPEAL_RU = "шағымдануға болады", "можно обжаловать"


def application(benefit: str = "burial", **over: Any) -> dict[str, Any]:
    """The `data` of an application.* event (common.events.ApplicationData)."""
    return {
        "application_id": APP_ID,
        "benefit": benefit,
        "channel": "proactive",
        "status": "registered",
        "received_at": "2026-03-02T05:00:00+00:00",
        "received_on": "2026-03-02",
        "applicant": {"iin": APPLICANT},
        "registration_number": "B-2026-000123",
        "registered_on": "2026-03-02",
        "due_by": "2026-03-03",
        "contact": {"channel": "sms", "phone": "+77051234567", "iin": APPLICANT},
    } | over


def decision(benefit: str = "burial", outcome: str = "assign", **over: Any) -> DecisionSigned:
    monthly = benefit != "burial"
    data = {
        "decision_id": DECISION_ID,
        "application_id": APP_ID,
        "benefit": benefit,
        "channel": "proactive",
        "status": "assigned" if outcome == "assign" else "refused",
        "outcome": outcome,
        "proposed_outcome": outcome,
        "amount_kzt": (137_620 if monthly else 151_375) if outcome == "assign" else 0,
        "amount_kind": "monthly" if monthly else "one_time",
        "period_start": "2026-08-02" if monthly and outcome == "assign" else None,
        "reasons": [] if outcome == "assign" else [reason("deadline_passed")],
        "registration_number": "B-2026-000123",
        "contact": {"channel": "sms", "phone": "+77051234567", "iin": APPLICANT},
    }
    return DecisionSigned.model_validate(data | over)


def requested(benefit: str = "disability", documents: tuple[dict[str, Any], ...] = (), **over: Any) -> DocumentsRequested:
    docs = documents or ({"type": "disability_certificate", "about": None, "reason": "no record"},)
    return DocumentsRequested.model_validate(
        application(benefit, status="awaiting_documents", due_by="2026-03-10", requested_documents=list(docs)) | over
    )


def samples(benefit: str) -> dict[str, Any]:
    return {
        "application.received": ApplicationReceived.model_validate(application(benefit, status="received")),
        "application.registered": ApplicationRegistered.model_validate(application(benefit)),
        "application.rejected": ApplicationRejected.model_validate(
            application(benefit, status="rejected", reasons=[reason("not_a_recipient")])
        ),
        "application.documents_requested": requested(benefit),
        "decision.signed": decision(benefit),
    }


def _cases() -> Any:
    for benefit in BENEFITS:
        for event, data in samples(benefit).items():
            yield pytest.param(event, data, id=f"{event}-{benefit}")
        yield pytest.param("decision.signed", decision(benefit, "refuse"), id=f"decision.signed-refuse-{benefit}")


def test_every_template_has_a_sample() -> None:
    """B§12, B§16, D§7, Annex 13: a new template gets a sample, so the language checks below cover it."""
    assert set(samples("burial")) == set(TEMPLATES)


@pytest.mark.parametrize(("event", "data"), list(_cases()))
def test_every_template_speaks_kazakh_and_russian(event: str, data: Any) -> None:
    """B§12, B§16, Annex 13: each message in Kazakh (with Kazakh-only letters) and in Russian (without them)."""
    message = TEMPLATES[event].render(data)
    assert isinstance(message, Message)
    assert CYRILLIC.search(message.text_kk) and KAZAKH_LETTERS & set(message.text_kk)
    assert CYRILLIC.search(message.text_ru) and not KAZAKH_LETTERS & set(message.text_ru)
    assert message.text_kk != message.text_ru
    assert message.sms_text() == f"{message.text_kk}\n{message.text_ru}"


@pytest.mark.law(
    "B12.electronic-receipt", "D15.electronic-receipt", "S14.electronic-receipt", "B-Std5.result-notification",
    "D-Std5.result-notification", "S-Std5.result-notification",
)
@pytest.mark.parametrize(
    ("event", "kind"),
    [
        ("application.received", "receipt"),
        ("application.registered", "accepted"),
        ("application.rejected", "rejected"),
        ("application.documents_requested", "documents_requested"),
        ("decision.signed", "result"),
    ],
)
@pytest.mark.parametrize("benefit", BENEFITS)
def test_kind_per_event(event: str, kind: str, benefit: str) -> None:
    """B§12 receipt, B§13 acceptance, B§16 rejection, D§7/S§7 documents, Annex 13 result."""
    assert TEMPLATES[event].render(samples(benefit)[event]).kind == kind


@pytest.mark.parametrize(("event", "data"), list(_cases()))
def test_every_message_names_its_benefit_in_each_language(event: str, data: Any) -> None:
    """Annex 13, B§12: the citizen learns which benefit the message is about (rejections list reasons only)."""
    if event == "application.rejected" or getattr(data, "outcome", None) == "refuse":
        return  # a refusal names the benefit in its declined form (test below)
    kk, ru = NAMES[data.benefit]
    message = TEMPLATES[event].render(data)
    assert kk in message.text_kk and ru in message.text_ru


@pytest.mark.parametrize(
    ("amount", "shown"),
    [
        (151_375, "151 375"),
        (137_620, "137 620"),
        (1_234_567, "1 234 567"),
        (999, "999"),
        (1_000, "1 000"),
    ],
)
@pytest.mark.parametrize("benefit", BENEFITS)
def test_annex13_amount_with_spaces_between_thousands(amount: int, shown: str, benefit: str) -> None:
    """Annex 13: the assigned amount is shown with spaces as thousands separator, in both languages."""
    message = result(decision(benefit, amount_kzt=amount))
    assert f"{shown} теңге" in message.text_kk
    assert f"{shown} тенге" in message.text_ru
    assert "," not in message.text_kk + message.text_ru


@pytest.mark.law("B-Std5.result-notification")
def test_burial_assignment_is_a_one_time_payment() -> None:
    """B§19-1, Annex 13: burial is one payment of the amount, with no period."""
    message = result(decision("burial"))
    assert "151 375 теңге мөлшеріндегі біржолғы төлем тағайындалды" in message.text_kk
    assert "назначена единовременная выплата в размере 151 375 тенге" in message.text_ru
    assert "ежемесяч" not in message.text_ru and "ай сайын" not in message.text_kk


@pytest.mark.law("D-Std5.result-notification", "S-Std5.result-notification")
@pytest.mark.parametrize(
    ("benefit", "period_start", "shown"),
    [
        ("disability", "2026-08-02", "02.08.2026"),
        ("disability", "2025-12-31", "31.12.2025"),
        ("survivor", "2025-11-02", "02.11.2025"),
        ("survivor", "2026-01-05", "05.01.2026"),
    ],
)
def test_monthly_assignment_gives_amount_and_first_day_as_dd_mm_yyyy(benefit: str, period_start: str, shown: str) -> None:
    """D§4, D§24, S§24: a monthly benefit of the amount from period_start, dated DD.MM.YYYY, never ISO."""
    message = result(decision(benefit, period_start=period_start))
    assert f"{shown} бастап ай сайынғы 137 620 теңге мөлшеріндегі жәрдемақы тағайындалды" in message.text_kk
    assert f"назначено ежемесячное пособие в размере 137 620 тенге с {shown}" in message.text_ru
    assert period_start not in message.text_kk + message.text_ru
    assert APPEAL_RU not in message.text_ru  # nothing refused, nothing to appeal


@pytest.mark.law(
    "B16.failed-checks-auto-rejection", "B-Std9.reapply-after-cause-removed", "D-Std9.reapply-after-cause-removed",
    "S-Std9.reapply-after-cause-removed",
)
@pytest.mark.parametrize(
    "codes",
    [
        ["incomplete"],
        ["not_a_recipient", "deadline_passed"],
        ["incomplete", "data_unreliable", "not_a_recipient", "deadline_passed"],
    ],
)
def test_b16_rejection_lists_each_reason_in_each_language(codes: list[str]) -> None:
    """B§16: the rejection message names every reason, the Kazakh text in Kazakh and the Russian in Russian."""
    message = rejected(ApplicationRejected.model_validate(application(reasons=[reason(c) for c in codes])))
    for code in codes:
        assert REASONS[code].kk in message.text_kk
        assert REASONS[code].ru in message.text_ru
        assert REASONS[code].ru not in message.text_kk
        assert REASONS[code].kk not in message.text_ru
    assert APPEAL_KK in message.text_kk and APPEAL_RU in message.text_ru
    assert "повторно" in message.text_ru


def test_a_reason_without_its_texts_is_read_from_the_catalogue() -> None:
    """Std p.9: a reason carried only by its code is still explained in the citizen's language."""
    message = rejected(ApplicationRejected.model_validate(application(reasons=[{"code": "no_consent"}])))
    assert REASONS["no_consent"].kk in message.text_kk and REASONS["no_consent"].ru in message.text_ru


@pytest.mark.parametrize(
    ("benefit", "kk", "ru"),
    [
        ("burial", "жерлеуге арналған біржолғы төлемді тағайындаудан бас тартылды",
         "отказано в назначении единовременной выплаты на погребение"),
        ("disability", "мүгедектігі бойынша мемлекеттік әлеуметтік жәрдемақыны тағайындаудан бас тартылды",
         "отказано в назначении государственного социального пособия по инвалидности"),
        ("survivor", "асыраушысынан айырылу жағдайы бойынша мемлекеттік әлеуметтік жәрдемақыны тағайындаудан бас тартылды",
         "отказано в назначении государственного социального пособия по случаю потери кормильца"),
    ],
)
def test_annex13_refusal_names_the_refused_benefit(benefit: str, kk: str, ru: str) -> None:
    """Annex 13: the refusal says which benefit was refused, in each language's grammatical form."""
    message = result(decision(benefit, "refuse"))
    assert kk in message.text_kk and ru in message.text_ru


@pytest.mark.law(
    "D34.appeal", "S34.appeal", "B-Std5.result-notification", "D-Std5.result-notification",
    "S-Std5.result-notification",
)
@pytest.mark.parametrize("benefit", BENEFITS)
def test_annex13_refusal_lists_reasons_and_mentions_appeal(benefit: str) -> None:
    """Annex 13 with D§34/S§34: a refusal names its reasons and says the decision may be appealed."""
    message = result(decision(benefit, "refuse", reasons=[reason("not_a_recipient"), reason("deadline_passed")]))
    for code in ("not_a_recipient", "deadline_passed"):
        assert REASONS[code].kk in message.text_kk
        assert REASONS[code].ru in message.text_ru
    assert APPEAL_KK in message.text_kk
    assert APPEAL_RU in message.text_ru
    assert "тенге" not in message.text_ru  # no amount in a refusal


def test_a_reason_about_one_person_names_them_by_masked_iin_only() -> None:
    """S§7, api.md Decisions: a per-person reason names its person by the last 4 digits of the IIN."""
    refusal = decision("survivor", "refuse", reasons=[reason("not_dependant", subject=CHILD)])
    message = result(refusal)
    assert f"ЖСН ********0029: {REASONS['not_dependant'].kk}" in message.text_kk
    assert f"ИИН ********0029: {REASONS['not_dependant'].ru}" in message.text_ru
    assert CHILD not in message.text_kk + message.text_ru


@pytest.mark.law("S34.appeal", "S-Std5.result-notification")
def test_survivor_assignment_says_who_it_does_not_cover_and_that_it_may_be_appealed() -> None:
    """S§24, S§34: an assignment that leaves out listed persons names each (masked) with its reason, and the appeal."""
    message = result(decision("survivor", reasons=[reason("not_dependant", subject=CHILD),
                                                   reason("not_dependant", subject=OTHER)]))
    assert "назначено ежемесячное пособие в размере 137 620 тенге с 02.08.2026" in message.text_ru
    assert "Не включены в назначение: ИИН ********0029" in message.text_ru and "ИИН ********0037" in message.text_ru
    assert "Тағайындауға енгізілмегендер: ЖСН ********0029" in message.text_kk and "ЖСН ********0037" in message.text_kk
    assert APPEAL_KK in message.text_kk and APPEAL_RU in message.text_ru
    for iin in (CHILD, OTHER):
        assert iin not in message.text_kk + message.text_ru


@pytest.mark.parametrize("benefit", BENEFITS)
def test_annex13_assignment_names_benefit_and_number(benefit: str) -> None:
    """Annex 13: an assignment names the benefit and the registration number."""
    message = result(decision(benefit))
    kk, ru = NAMES[benefit]
    assert kk in message.text_kk and ru in message.text_ru
    for text in (message.text_kk, message.text_ru):
        assert "B-2026-000123" in text


@pytest.mark.parametrize(
    ("iban", "kk", "ru"),
    [
        ("KZ86125KZT5004100100", "банк шотыңызға аударылады", "перечислена на ваш банковский счёт"),
        (None, "банк шотыңыздың нөмірін", "сообщите номер банковского счёта"),
    ],
)
def test_assignment_says_where_the_money_goes_or_asks_for_an_account(iban: str | None, kk: str, ru: str) -> None:
    """B-Std p.8, D-Std p.8: paid to the account; with none on file the citizen is told to give one."""
    message = result(decision("disability", payment={"payee_iin": APPLICANT, "iban": iban}))
    assert kk in message.text_kk and ru in message.text_ru


def test_annex13_without_registration_number_uses_the_application_code() -> None:
    """Annex 13 / B§12: before registration the citizen knows the application by its short code from the receipt."""
    message = result(decision(registration_number=None))
    assert APP_ID[:8] in message.text_kk and APP_ID[:8] in message.text_ru
    assert APP_ID not in message.text_kk + message.text_ru


@pytest.mark.law("B12.electronic-receipt")
def test_b12_receipt_gives_the_short_application_code() -> None:
    """B§12: the receipt gives the first 8 characters of the application id as its code."""
    message = receipt(ApplicationReceived.model_validate(application(status="received")))
    assert f"коды: {APP_ID[:8]}." in message.text_kk
    assert f"Код заявления: {APP_ID[:8]}." in message.text_ru


@pytest.mark.law("B13.acceptance-message-cabinet")
@pytest.mark.parametrize(
    ("registered_on", "due_by", "shown_registered", "shown_due"),
    [
        ("2026-03-02", "2026-03-03", "02.03.2026", "03.03.2026"),
        ("2025-12-31", "2026-01-05", "31.12.2025", "05.01.2026"),
    ],
)
def test_b13_acceptance_dates_as_dd_mm_yyyy(registered_on: str, due_by: str, shown_registered: str, shown_due: str) -> None:
    """B§13 (Annex 6 journal): registration and due dates shown as DD.MM.YYYY, never ISO."""
    message = accepted(ApplicationRegistered.model_validate(application(registered_on=registered_on, due_by=due_by)))
    for text in (message.text_kk, message.text_ru):
        assert shown_registered in text and shown_due in text
        assert registered_on not in text and due_by not in text
        assert "B-2026-000123" in text


@pytest.mark.parametrize(
    ("benefit", "documents"),
    [
        ("disability", [("disability_certificate", None)]),
        ("disability", [("disability_certificate", None), ("birth_certificate", CHILD)]),
        ("survivor", [("death_certificate", None), ("birth_certificate", CHILD), ("education_certificate", OTHER)]),
        ("survivor", [("court_decision", None), ("marriage_certificate", None)]),
        ("burial", [("death_certificate", None)]),
    ],
)
def test_documents_requested_names_each_document_in_each_language(benefit: str, documents: list[tuple[str, str | None]]) -> None:
    """D§7, S§7: every requested document by its catalogue name, Kazakh in Kazakh and Russian in Russian."""
    docs = tuple({"type": code, "about": about, "reason": "registry has no record"} for code, about in documents)
    message = documents_requested(requested(benefit, docs))
    for code, _ in documents:
        assert DOCUMENT_TYPES[code].kk in message.text_kk
        assert DOCUMENT_TYPES[code].ru in message.text_ru
        assert DOCUMENT_TYPES[code].ru not in message.text_kk


def test_documents_about_another_person_name_them_by_masked_iin() -> None:
    """D§7, S§7: a document about a dependant names that person by the last 4 digits of the IIN only."""
    docs = ({"type": "birth_certificate", "about": CHILD, "reason": "no birth record"},
            {"type": "disability_certificate", "about": APPLICANT, "reason": "no record"})
    message = documents_requested(requested("survivor", docs))
    assert f"{DOCUMENT_TYPES['birth_certificate'].ru} (ИИН ********0029)" in message.text_ru
    assert f"{DOCUMENT_TYPES['birth_certificate'].kk} (ЖСН ********0029)" in message.text_kk
    assert CHILD not in message.text_kk + message.text_ru
    # about the applicant: the citizen's own document, no person named
    assert f"{DOCUMENT_TYPES['disability_certificate'].ru}." in message.text_ru
    assert APPLICANT[-4:] not in message.text_kk + message.text_ru


def test_the_same_document_about_the_same_person_is_listed_once() -> None:
    """D§7: one line per document and person, however many checks found it missing."""
    docs = ({"type": "birth_certificate", "about": CHILD, "reason": "no birth record"},
            {"type": "birth_certificate", "about": CHILD, "reason": "kinship"})
    message = documents_requested(requested("survivor", docs))
    assert message.text_ru.count(DOCUMENT_TYPES["birth_certificate"].ru) == 1


@pytest.mark.law("D-Std3.extension-5wd", "S-Std3.extension-5wd")
@pytest.mark.parametrize(("due_by", "shown"), [("2026-03-10", "10.03.2026"), ("2027-01-04", "04.01.2027")])
def test_documents_requested_gives_the_new_due_date(due_by: str, shown: str) -> None:
    """D-Std p.3, S§24: the term moves by 5 working days; the message gives the new date as DD.MM.YYYY."""
    message = documents_requested(requested(due_by=due_by))
    assert f"{shown} дейін ұзартылды" in message.text_kk
    assert f"продлён до {shown}" in message.text_ru
    assert due_by not in message.text_kk + message.text_ru


@pytest.mark.parametrize(
    ("channel", "kk", "ru"),
    [
        ("proactive", "Мемлекеттік корпорацияға", "в Государственную корпорацию"),
        ("state_corp", "Мемлекеттік корпорацияға", "в Государственную корпорацию"),
        ("provider", "көрсетілетін қызметті берушіге", "услугодателю"),
    ],
)
def test_documents_requested_says_where_to_bring_them(channel: str, kk: str, ru: str) -> None:
    """D-Std p.2, p.3: documents go where the application is handled (project decision: provider or State Corporation)."""
    message = documents_requested(requested(channel=channel))
    assert kk in message.text_kk and ru in message.text_ru


def test_dates_are_never_iso_in_any_message() -> None:
    """House rule for citizen texts: DD.MM.YYYY."""
    iso = re.compile(r"\d{4}-\d{2}-\d{2}")
    for benefit in BENEFITS:
        for event, data in samples(benefit).items():
            message = TEMPLATES[event].render(data)
            assert not iso.search(message.text_kk + message.text_ru), (event, benefit)
