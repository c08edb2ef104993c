"""Personal data masked in logs (architecture.md guarantee 8; masks as common.identifiers / facts.md Identifiers)."""

from __future__ import annotations

import json
import logging
import sys

import pytest

from common.identifiers import mask_phone
from common.logging import JsonFormatter, mask_personal_data, request_id_var

UUID = "2c324707-4c88-5d08-9fef-185848bf8339"


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        # IIN / BIN: only the last 4 digits kept
        ("790303402568", "********2568"),
        ("BIN 940140000385 filed", "BIN ********0385 filed"),
        ("GET /persons/790303402568/death", "GET /persons/********2568/death"),
        ("iin=790303402568&x=1", "iin=********2568&x=1"),
        ("IIN790303402568.", "IIN********2568."),
        ("790303402568,031231500126", "********2568,********0126"),
        # KZ IBAN: country code and last 4 kept
        ("pay to KZ86125KZT5004100100 now", "pay to KZ**************0100 now"),
        ("KZ123456789012345678", "KZ**************5678"),  # an all-digit IBAN is not read as an IIN
        # phones: the same mask as common.identifiers.mask_phone
        ("sms to +77011234567 sent", "sms to +7*******4567 sent"),
        ("+77011234567", "+7*******4567"),
        ("phone=87011234567;", "phone=*******4567;"),
        ("Phone77011234567", "Phone*******4567"),  # glued to a word, still a phone
        ("(+77011234567)", "(+7*******4567)"),
    ],
)
def test_masks_identifiers_inside_text(text: str, masked: str) -> None:
    """Guarantee 8: IINs, BINs, IBANs and phones never reach a log unmasked."""
    assert mask_personal_data(text) == masked


@pytest.mark.parametrize("phone", ["+77011234567", "+77770000001", "87011234567", "77011234567"])
def test_phone_mask_matches_mask_phone(phone: str) -> None:
    """Guarantee 8: a phone in a log line looks exactly as common.identifiers.mask_phone shows it."""
    assert mask_personal_data(f"to {phone}.") == f"to {mask_phone(phone)}."


def test_masks_inside_json() -> None:
    """Guarantee 8: a request body logged as JSON keeps its shape, with every identifier masked."""
    body = json.dumps(
        {
            "applicant": {"iin": "790303402568"},
            "deceased_iin": "031231500126",
            "phone": "+77011234567",
            "bank_account": {"iban": "KZ86125KZT5004100100"},
            "amount_kzt": 151375,
            "id": UUID,
        }
    )
    masked = json.loads(mask_personal_data(body))
    assert masked == {
        "applicant": {"iin": "********2568"},
        "deceased_iin": "********0126",
        "phone": "+7*******4567",
        "bank_account": {"iban": "KZ**************0100"},
        "amount_kzt": 151375,
        "id": UUID,
    }


@pytest.mark.parametrize(
    "text",
    [
        "amount 151375 KZT",
        "amount 137620, year 2026, 35 MCI",
        "due 2026-03-03, registered 02.03.2026",
        UUID,
        f"application {UUID} decided",
        "0f9c8a52-7a55-4d11-9a5e-6f0c2e7d1b33",
        "b1c2d3e4-0000-4000-8000-a12345678901",  # 11 digits inside the last group, next to a letter
        "epoch ms 1767225600000",  # 13 digits: neither an IIN nor a phone
        "7011234567",  # 10 digits
        "registration B-2026-000123",
        "KZ**************0100 and ********2568",  # already masked stays as it is
    ],
)
def test_leaves_other_numbers_intact(text: str) -> None:
    """Guarantee 8: amounts, years, dates, UUIDs and other numbers are not personal data; nothing is eaten."""
    assert mask_personal_data(text) == text


def test_masking_is_idempotent() -> None:
    """Guarantee 8: masking masked text changes nothing (formatters may run twice)."""
    text = "iin 790303402568 phone +77011234567 iban KZ86125KZT5004100100 amount 151375"
    once = mask_personal_data(text)
    assert mask_personal_data(once) == once


def record(msg: str, args: tuple, exc_info=None) -> logging.LogRecord:
    return logging.LogRecord("intake", logging.INFO, __file__, 1, msg, args, exc_info)


def test_json_formatter_masks_the_formatted_message() -> None:
    """Guarantee 8: an IIN passed as a log argument is masked after formatting."""
    line = JsonFormatter("intake").format(record("applicant %s phone %s", ("790303402568", "+77011234567")))
    entry = json.loads(line)
    assert "790303402568" not in line and "7011234567" not in line
    assert entry["msg"] == "applicant ********2568 phone +7*******4567"
    assert (entry["service"], entry["logger"], entry["level"]) == ("intake", "intake", "INFO")


def test_json_formatter_masks_exceptions() -> None:
    """Guarantee 8: a traceback that carries an IIN is masked too."""
    try:
        raise LookupError("no record for 031231500126")
    except LookupError:
        exc_info = sys.exc_info()
    line = JsonFormatter("eligibility").format(record("lookup failed for %s", ("031231500126",), exc_info))
    entry = json.loads(line)
    assert "031231500126" not in line
    assert "********0126" in entry["exc"] and "LookupError" in entry["exc"]


def test_json_formatter_keeps_the_request_id_intact() -> None:
    """Guarantee 8: the correlation id (a UUID) is logged as it is, so ops can follow a request."""
    token = request_id_var.set(UUID)
    try:
        entry = json.loads(JsonFormatter("gateway").format(record("ok %s", ("790303402568",))))
    finally:
        request_id_var.reset(token)
    assert entry["request_id"] == UUID
    assert entry["msg"] == "ok ********2568"


def test_uuid_with_an_all_digit_last_group_stays_intact() -> None:
    """Guarantee 8: a request id is not personal data, even when its last group happens to be all digits."""
    uuid = "0f9c8a52-7a55-4d11-9a5e-123456789012"
    assert mask_personal_data(f"request {uuid}") == f"request {uuid}"


def test_guarantee_8_audit_line_names_the_caller_with_the_iin_masked(caplog) -> None:
    """architecture.md guarantee 8: every read is attributable, and the IIN stays masked in the log."""
    import logging

    from common.caller import Caller, audit
    from common.logging import JsonFormatter

    with caplog.at_level(logging.INFO, logger="audit"):
        audit(Caller(role="citizen", sub="790303402568"), "read application", "app-1")
    line = JsonFormatter("intake").format(caplog.records[-1])
    assert "citizen:********2568" in line and "790303402568" not in line and "app-1" in line


# --- names (issue 6 point 8) -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        # values of personal keys: JSON, dict repr, model repr, query strings and key=value text
        ('{"first_name": "Серік", "last_name": "Ахметов", "middle_name": "Болатұлы"}',
         '{"first_name": "***", "last_name": "***", "middle_name": "***"}'),
        ("{'patronymic': 'Болатұлы', 'full_name': \"O'Brien John\"}", "{'patronymic': '***', 'full_name': \"***\"}"),
        ("Payee(iin='********2568', payee_name='Aigerim Zhumabekova', surname=None)",
         "Payee(iin='********2568', payee_name='***', surname=None)"),
        ("GET /x?lastName=%D0%90%D1%85&firstName=Serik&page=2", "GET /x?lastName=***&firstName=***&page=2"),
        ("holder_name=Zhumabekova, fio: Әйгерім", "holder_name=***, fio: ***"),
        ('{"name": "Серік Ахметов", "deceased_name": "Айгүл"}', '{"name": "***", "deceased_name": "***"}'),
        # free text: Фамилия Имя [Отчество], each word to its initial
        ("payee Ахметов Серік Болатұлы on 2026-11-02", "payee А*** С*** Б*** on 2026-11-02"),
        ("от Жұмабекова-Сейітова Әйгерім получено", "от Ж*** Ә*** получено"),
        # what asyncpg and pydantic echo of a refused value
        ("invalid input for query argument $2: 'Серік' (expected str, got int)",
         "invalid input for query argument $2: *** (expected str, got int)"),
        ("[type=string_type, input_value='Серік', input_type=int]", "[type=string_type, input_value='***', input_type=int]"),
    ],
)
def test_masks_names(text: str, masked: str) -> None:
    """Guarantee 8: citizens' names never reach a log as they are."""
    assert mask_personal_data(text) == masked


def test_masks_names_in_a_pydantic_model_repr() -> None:
    """Guarantee 8: a model logged with %r (its repr) keeps its shape, the names masked."""
    from pydantic import BaseModel

    class Person(BaseModel):
        iin: str
        last_name: str
        first_name: str
        patronymic: str | None = None

    line = mask_personal_data(repr(Person(iin="790303402568", last_name="Ахметов", first_name="Серік", patronymic="Болатұлы")))
    assert line == "Person(iin='********2568', last_name='***', first_name='***', patronymic='***')"


@pytest.mark.parametrize(
    "text",
    [
        '{"name": "application.registered", "rule": "recipient_on_date_of_death"}',  # an event's, a rule's name
        "name='ГБД ФЛ' query='persons'",  # a registry's name
        "evidence from ГБД ФЛ and ИС ЗАГС",
        "B§13 check 5: apply within 3 years of death; D§24; п. 13 Правил",
        "Ваше заявление зарегистрировано 02.03.2026",  # one capitalised word starts a sentence
        f"request {UUID} on 2026-11-02T10:00:00+05:00",
        '{"first_name": null, "last_name": ""}',
        "А*** С*** Б*** and first_name='***'",  # already masked stays as it is
    ],
)
def test_leaves_what_is_not_a_name_intact(text: str) -> None:
    """Guarantee 8: event, rule and registry names, citations, dates and UUIDs stay readable."""
    assert mask_personal_data(text) == text
