"""Citizen-facing texts in Kazakh and Russian (receipt B§12, acceptance/rejection B§13/B§16, result Annex 13)."""

from __future__ import annotations

import re

import pytest

from common.reasons import REASONS, reason
from services.notifier.domain.templates import (
    TEMPLATES,
    Message,
    accepted,
    rejected,
    result,
)

APP_ID = "2c324707-4c88-5d08-9fef-185848bf8339"
KAZAKH_LETTERS = set("әғқңөұүһіӘҒҚҢӨҰҮҺІ")
CYRILLIC = re.compile(r"[А-Яа-яЁё]")

SAMPLES = {
    "application.received": {"application_id": APP_ID, "benefit": "burial"},
    "application.registered": {
        "application_id": APP_ID,
        "registered_on": "2026-03-02",
        "registration_number": "B-2026-000123",
        "due_by": "2026-03-03",
    },
    "application.rejected": {"application_id": APP_ID, "reasons": [reason("not_a_recipient")]},
    "decision.signed": {
        "application_id": APP_ID,
        "benefit": "burial",
        "registration_number": "B-2026-000123",
        "outcome": "assign",
        "amount_kzt": 151_375,
        "reasons": [],
    },
}
REFUSE = {**SAMPLES["decision.signed"], "outcome": "refuse", "amount_kzt": 0, "reasons": [reason("deadline_passed")]}


def _cases():
    for event, data in SAMPLES.items():
        yield pytest.param(event, data, id=event)
    yield pytest.param("decision.signed", REFUSE, id="decision.signed-refuse")
    for benefit in ("disability", "survivor"):
        yield pytest.param("application.received", {"application_id": APP_ID, "benefit": benefit}, id=f"receipt-{benefit}")


def test_every_template_has_a_sample() -> None:
    """B§12, B§16, Annex 13: a new template gets a row in SAMPLES, so the language checks below cover it."""
    assert set(SAMPLES) == set(TEMPLATES)


@pytest.mark.parametrize(("event", "data"), list(_cases()))
def test_every_template_speaks_kazakh_and_russian(event: str, data: dict) -> None:
    """B§12, B§16, Annex 13: each message in Kazakh (with Kazakh-only letters) and in Russian (without them)."""
    message = TEMPLATES[event](data)
    assert isinstance(message, Message)
    assert CYRILLIC.search(message.text_kk) and KAZAKH_LETTERS & set(message.text_kk)
    assert CYRILLIC.search(message.text_ru) and not KAZAKH_LETTERS & set(message.text_ru)
    assert message.text_kk != message.text_ru
    assert message.sms_text() == f"{message.text_kk}\n{message.text_ru}"


@pytest.mark.parametrize(
    ("event", "kind"),
    [
        ("application.received", "receipt"),
        ("application.registered", "accepted"),
        ("application.rejected", "rejected"),
        ("decision.signed", "result"),
    ],
)
def test_kind_per_event(event: str, kind: str) -> None:
    """B§12 receipt, B§13 acceptance, B§16 rejection, Annex 13 result."""
    assert TEMPLATES[event](SAMPLES[event]).kind == kind


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
def test_annex13_amount_with_spaces_between_thousands(amount: int, shown: str) -> None:
    """Annex 13: the assigned amount is shown with spaces as thousands separator, in both languages."""
    message = result({**SAMPLES["decision.signed"], "amount_kzt": amount})
    assert f"{shown} теңге" in message.text_kk
    assert f"{shown} тенге" in message.text_ru
    assert "," not in message.text_kk + message.text_ru


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
    message = rejected({"application_id": APP_ID, "reasons": [reason(c) for c in codes]})
    for code in codes:
        assert REASONS[code].kk in message.text_kk
        assert REASONS[code].ru in message.text_ru
        assert REASONS[code].ru not in message.text_kk
        assert REASONS[code].kk not in message.text_ru


def test_annex13_refusal_lists_reasons_and_mentions_appeal() -> None:
    """Annex 13 with D§34/S§34: a refusal names its reasons and says the decision may be appealed."""
    data = {**REFUSE, "reasons": [reason("not_a_recipient"), reason("deadline_passed")]}
    message = result(data)
    for code in ("not_a_recipient", "deadline_passed"):
        assert REASONS[code].kk in message.text_kk
        assert REASONS[code].ru in message.text_ru
    assert "шағымдан" in message.text_kk
    assert "обжаловать" in message.text_ru
    assert "тенге" not in message.text_ru  # no amount in a refusal


def test_annex13_assignment_names_benefit_number_and_amount() -> None:
    """Annex 13: an assignment names the benefit, the registration number and the amount."""
    message = result(SAMPLES["decision.signed"])
    assert "жерлеуге арналған біржолғы төлем" in message.text_kk
    assert "единовременная выплата на погребение" in message.text_ru
    for text in (message.text_kk, message.text_ru):
        assert "B-2026-000123" in text


def test_annex13_without_registration_number_uses_the_application_code() -> None:
    """Annex 13 / B§12: before registration the citizen knows the application by its short code from the receipt."""
    message = result({**SAMPLES["decision.signed"], "registration_number": None})
    assert APP_ID[:8] in message.text_kk and APP_ID[:8] in message.text_ru
    assert APP_ID not in message.text_kk + message.text_ru


def test_b12_receipt_gives_the_short_application_code() -> None:
    """B§12: the receipt gives the first 8 characters of the application id as its code."""
    message = TEMPLATES["application.received"](SAMPLES["application.received"])
    assert f"коды: {APP_ID[:8]}." in message.text_kk
    assert f"Код заявления: {APP_ID[:8]}." in message.text_ru


@pytest.mark.parametrize(
    ("registered_on", "due_by", "shown_registered", "shown_due"),
    [
        ("2026-03-02", "2026-03-03", "02.03.2026", "03.03.2026"),
        ("2025-12-31", "2026-01-05", "31.12.2025", "05.01.2026"),
    ],
)
def test_b13_acceptance_dates_as_dd_mm_yyyy(registered_on: str, due_by: str, shown_registered: str, shown_due: str) -> None:
    """B§13 (Annex 6 journal): registration and due dates shown as DD.MM.YYYY, never ISO."""
    data = {**SAMPLES["application.registered"], "registered_on": registered_on, "due_by": due_by}
    message = accepted(data)
    for text in (message.text_kk, message.text_ru):
        assert shown_registered in text and shown_due in text
        assert registered_on not in text and due_by not in text
        assert "B-2026-000123" in text
