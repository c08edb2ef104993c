"""Application body validation (api.md "Applications": 422 naming each bad field; B§5, B-Std p.5, p.8, S§7)."""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import ValidationError

from common.identifiers import make_iin
from services.intake.schemas import BurialApplication, Channel, parse_application

APPLICANT_IIN = "790303402568"
DECEASED_IIN = make_iin(date(1948, 3, 1), "M", 3)
BIN = "940140000385"
IBAN = "KZ86125KZT5004100100"
TODAY = date(2026, 11, 2)

PROACTIVE_BURIAL = {
    "benefit": "burial",
    "channel": "proactive",
    "applicant": {"iin": APPLICANT_IIN},
    "phone": "+77011234567",
    "consents": {"personal_data": True, "proactive": True},
    "bank_account": {"iban": IBAN},
    "deceased_iin": DECEASED_IIN,
    "documents": [{"type": "death_certificate", "number": "AB-123", "issued_on": "2026-01-12"}],
}
PORTAL_BURIAL = {
    "benefit": "burial",
    "channel": "portal",
    "applicant": {"iin": "031231500126"},
    "consents": {"personal_data": True},
    "deceased_iin": DECEASED_IIN,
}
STATE_CORP_BURIAL_BY_ENTITY = {
    "benefit": "burial",
    "channel": "state_corp",
    "applicant": {"bin": BIN},
    "consents": {"personal_data": True},
    "bank_account": {"iban": IBAN},
    "deceased_iin": DECEASED_IIN,
}


def parse(body: dict):
    return parse_application(body, today=TODAY)


def errors_of(body: dict) -> list[dict]:
    with pytest.raises(ValidationError) as caught:
        parse(body)
    return caught.value.errors()


def locs(body: dict) -> set[tuple]:
    return {tuple(e["loc"]) for e in errors_of(body)}


def without(body: dict, *keys: str) -> dict:
    return {k: v for k, v in body.items() if k not in keys}


@pytest.mark.parametrize("body", [PROACTIVE_BURIAL, PORTAL_BURIAL, STATE_CORP_BURIAL_BY_ENTITY], ids=["proactive", "portal", "state_corp-bin"])
def test_valid_burial_bodies_pass(body: dict) -> None:
    """api.md Applications, B§5: a complete burial application is accepted as sent."""
    app = parse(body)
    assert isinstance(app, BurialApplication) and app.benefit == "burial"
    assert app.channel is Channel(body["channel"])
    assert app.deceased_iin == DECEASED_IIN


def test_valid_proactive_body_keeps_its_fields() -> None:
    """B§19-1, B-Std p.8: phone, account and both consents of a proactive application arrive intact."""
    app = parse(PROACTIVE_BURIAL)
    assert app.applicant.iin == APPLICANT_IIN and app.applicant.bin is None
    assert app.phone == "+77011234567"
    assert app.bank_account is not None and app.bank_account.iban == IBAN
    assert (app.consents.personal_data, app.consents.proactive) == (True, True)
    assert app.documents[0].issued_on == date(2026, 1, 12)


def test_every_problem_is_named_at_once() -> None:
    """api.md: a 422 names each bad field: bad IIN check digit, bad IBAN, no phone (B-Std p.5), no deceased IIN."""
    body = without(PROACTIVE_BURIAL, "phone", "deceased_iin")
    body["applicant"] = {"iin": "790303402569"}  # check digit 8 -> 9
    body["bank_account"] = {"iban": "KZ86125KZT5004100101"}  # mod 97 fails
    errors = errors_of(body)
    assert {tuple(e["loc"]) for e in errors} == {
        ("applicant", "iin"),
        ("bank_account", "iban"),
        ("phone",),
        ("deceased_iin",),
    }
    assert len(errors) == 4  # each field once
    by_loc = {tuple(e["loc"]): e["msg"] for e in errors}
    assert "check digit" in by_loc[("applicant", "iin")]
    assert "check digits" in by_loc[("bank_account", "iban")]
    assert "B-Std p.5" in by_loc[("phone",)]


@pytest.mark.parametrize(
    ("change", "loc"),
    [
        ({"applicant": {"iin": "79030340256"}}, ("applicant", "iin")),  # 11 digits
        ({"applicant": {"iin": "790303402568", "name": "x"}}, ("applicant", "name")),  # unknown field in applicant
        ({"deceased_iin": "790303402569"}, ("deceased_iin",)),
        ({"bank_account": {"iban": "kz86125kzt5004100100"}}, ("bank_account", "iban")),
        ({"phone": "87011234567"}, ("phone",)),  # must be +7 and 10 digits
        ({"phone": ""}, ("phone",)),
        ({"consents": {"personal_data": True}}, ("consents", "proactive")),  # proactive needs the SMS consent
        ({"consents": {"proactive": True}}, ("consents", "personal_data")),  # consent must be stated either way
        ({"bank_account": None}, ("bank_account",)),  # B-Std p.8: proactive confirms the account
        ({"benefit": "pension"}, ("benefit",)),
        ({"channel": "fax"}, ("channel",)),
        ({"documents": [{"type": ""}]}, ("documents", 0, "type")),
    ],
)
def test_single_problem_is_named_once(change: dict, loc: tuple) -> None:
    """api.md: malformed input -> 422 with the field named, and only that field."""
    errors = errors_of({**PROACTIVE_BURIAL, **change})
    assert [tuple(e["loc"]) for e in errors] == [loc]


def test_unknown_enums_are_named_together() -> None:
    """api.md: an unknown benefit and an unknown channel are both named."""
    assert {("benefit",), ("channel",)} <= locs({**PROACTIVE_BURIAL, "benefit": "pension", "channel": "fax"})


@pytest.mark.law("B5.iin-or-bin")
@pytest.mark.parametrize(
    ("applicant", "channel"),
    [
        ({"iin": APPLICANT_IIN, "bin": BIN}, "state_corp"),  # both
        ({}, "state_corp"),  # neither
        ({"iin": None, "bin": None}, "portal"),
    ],
)
def test_b5_exactly_one_of_iin_or_bin(applicant: dict, channel: str) -> None:
    """B§5: the applicant is an individual (IIN) or a legal entity (BIN), exactly one of them."""
    errors = errors_of({**STATE_CORP_BURIAL_BY_ENTITY, "channel": channel, "applicant": applicant})
    messages = [e["msg"] for e in errors if tuple(e["loc"]) == ("applicant",)]
    assert messages and "exactly one" in messages[0]


@pytest.mark.law("B5.legal-entity-channel")
@pytest.mark.parametrize("channel", ["portal", "proactive"])
def test_b5_legal_entity_applies_only_through_the_state_corporation(channel: str) -> None:
    """B§5: a BIN applicant on the portal or proactive channel is refused at applicant.bin."""
    body = {**PROACTIVE_BURIAL, "channel": channel, "applicant": {"bin": BIN}}
    errors = [e for e in errors_of(body) if tuple(e["loc"]) == ("applicant", "bin")]
    assert len(errors) == 1
    assert "State Corporation" in errors[0]["msg"]


def test_s7_survivor_without_dependants() -> None:
    """S§7: a survivor application says who it is claimed for."""
    body = {**PORTAL_BURIAL, "benefit": "survivor"}
    found = {tuple(e["loc"]): e["msg"] for e in errors_of(body)}
    assert ("dependants",) in found
    assert "S§7" in found[("dependants",)]


def test_dependants_with_a_bad_iin() -> None:
    """api.md: a dependant's IIN is checked like any IIN."""
    body = {**PORTAL_BURIAL, "benefit": "survivor", "dependants": [make_iin(date(2015, 1, 1), "F", 0), "123"]}
    assert ("dependants", 1) in locs(body)  # names which one


@pytest.mark.law("B5.applicant-who-buried")
def test_legal_entity_claims_only_burial() -> None:
    """B§5: only a burial payment may be claimed by a legal entity."""
    body = {**STATE_CORP_BURIAL_BY_ENTITY, "benefit": "disability"}
    found = {tuple(e["loc"]): e["msg"] for e in errors_of(body)}
    assert "only a burial payment" in found[("applicant", "bin")]
    assert ("benefit",) not in found  # disability is taken now (issue 5)


@pytest.mark.law(
    "B-Std8.proactive-consent-and-account", "D-Std8.proactive-consent-and-account", "S-Std10.proactive-consent",
    "B-Std5.proactive-sms", "D-Std5.proactive-sms", "S-Std5.proactive-sms",
)
@pytest.mark.parametrize(
    ("channel", "needed"),
    [
        ("proactive", {("phone",), ("bank_account",), ("consents", "proactive"), ("deceased_iin",), ("consents", "personal_data")}),
        ("portal", {("deceased_iin",), ("consents", "personal_data")}),
        ("state_corp", {("deceased_iin",), ("consents", "personal_data")}),
    ],
)
def test_required_fields_per_channel(channel: str, needed: set) -> None:
    """B-Std p.5, p.8: proactive needs phone, account and SMS consent; every burial needs the deceased."""
    body = {"benefit": "burial", "channel": channel, "applicant": {"iin": APPLICANT_IIN}}
    assert locs(body) == needed


def test_unknown_top_level_fields_are_ignored() -> None:
    """api.md: the contract may grow; an unknown top-level field does not fail an otherwise valid body."""
    app = parse({**PORTAL_BURIAL, "client_version": "3.1"})
    assert not hasattr(app, "client_version")
