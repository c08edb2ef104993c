"""Application bodies of the three benefits (api.md Applications; B§5, D-Std p.2, p.4, p.10, S§7): 422 naming the field."""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import ValidationError

from common.identifiers import make_bin, make_iin
from services.intake.schemas import (
    BurialApplication,
    DisabilityApplication,
    SurvivorApplication,
    parse_application,
)

TODAY = date(2026, 11, 2)
APPLICANT = make_iin(date(1979, 3, 3), "F", 1)
DECEASED = make_iin(date(1948, 3, 1), "M", 3)
CHILD_A = make_iin(date(2015, 1, 1), "F", 0)
CHILD_B = make_iin(date(2012, 5, 5), "M", 2)
UNBORN = make_iin(date(2027, 1, 1), "M", 1)  # a birth date after TODAY
BIN = make_bin(date(2010, 5, 1), 1)
IBAN = "KZ86125KZT5004100100"

BURIAL = {"benefit": "burial", "channel": "state_corp", "applicant": {"iin": APPLICANT},
          "consents": {"personal_data": True}, "deceased_iin": DECEASED, "bank_account": {"iban": IBAN}}
DISABILITY = {"benefit": "disability", "channel": "portal", "applicant": {"iin": APPLICANT},
              "consents": {"personal_data": True}, "bank_account": {"iban": IBAN}}
SURVIVOR = {"benefit": "survivor", "channel": "state_corp", "applicant": {"iin": APPLICANT},
            "consents": {"personal_data": True}, "deceased_iin": DECEASED, "dependants": [CHILD_A, CHILD_B],
            "bank_account": {"iban": IBAN}}


def locs(body: dict) -> list[tuple]:
    with pytest.raises(ValidationError) as caught:
        parse_application(body, today=TODAY)
    return [tuple(e["loc"]) for e in caught.value.errors()]


@pytest.mark.law("D-Std2.channels", "B5.applicant-who-buried")
@pytest.mark.parametrize(
    ("body", "model"),
    [
        (BURIAL, BurialApplication),
        (DISABILITY, DisabilityApplication),
        (DISABILITY | {"channel": "provider"}, DisabilityApplication),  # D-Std p.2
        (DISABILITY | {"also_apply_for": ["special_state_disability", "child_with_disability_carer"]}, DisabilityApplication),
        (SURVIVOR, SurvivorApplication),
        (BURIAL | {"applicant": {"bin": BIN}}, BurialApplication),  # B§5
    ],
    ids=["burial", "disability", "disability-provider", "disability-one-application", "survivor", "burial-bin"],
)
def test_valid_bodies_become_their_benefits_model(body: dict, model: type) -> None:
    """Request union keyed on benefit: each body is validated by its benefit's model."""
    parsed = parse_application(body, today=TODAY)
    assert type(parsed) is model
    assert parsed.model_dump(mode="json")["benefit"] == body["benefit"]


@pytest.mark.law("B-Std2.channels", "S-Std2.channels")
@pytest.mark.parametrize(
    ("body", "field"),
    [
        (SURVIVOR | {"dependants": [CHILD_A, CHILD_B, CHILD_A]}, ("dependants", 2)),  # listed twice
        (SURVIVOR | {"dependants": [CHILD_A, APPLICANT]}, ("dependants", 1)),  # the applicant
        (SURVIVOR | {"dependants": [DECEASED, CHILD_A]}, ("dependants", 0)),  # the deceased
        (SURVIVOR | {"dependants": [CHILD_A, UNBORN]}, ("dependants", 1)),  # born in the future
        (BURIAL | {"applicant": {"iin": UNBORN}}, ("applicant", "iin")),
        (BURIAL | {"deceased_iin": UNBORN}, ("deceased_iin",)),
        (BURIAL | {"deceased_iin": APPLICANT}, ("deceased_iin",)),  # applicant equal to the deceased
        (DISABILITY | {"deceased_iin": DECEASED}, ("deceased_iin",)),  # a field of another benefit
        (DISABILITY | {"dependants": [CHILD_A]}, ("dependants",)),
        (SURVIVOR | {"dependants": []}, ("dependants",)),  # S§7: who it is claimed for
        (SURVIVOR | {"also_apply_for": ["special_state_disability"]}, ("also_apply_for",)),
        (BURIAL | {"dependants": [CHILD_A]}, ("dependants",)),
        (BURIAL | {"also_apply_for": ["special_state_disability"]}, ("also_apply_for",)),
        (DISABILITY | {"also_apply_for": ["pension"]}, ("also_apply_for", 0)),  # only the three of D-Std p.4
        (DISABILITY | {"also_apply_for": ["special_state_disability"] * 2}, ("also_apply_for", 1)),  # unique
        (DISABILITY | {"channel": "state_corp", "applicant": {"bin": BIN}}, ("applicant", "bin")),  # B§5
        (SURVIVOR | {"applicant": {"bin": BIN}}, ("applicant", "bin")),
        (BURIAL | {"channel": "provider"}, ("channel",)),  # B-Std p.2
        (SURVIVOR | {"channel": "provider"}, ("channel",)),  # S-Std p.2
    ],
)
def test_bad_input_names_exactly_that_field(body: dict, field: tuple) -> None:
    """api.md: malformed input → 422 naming the field, and only that field."""
    assert locs(body) == [field]


def test_every_rule_and_shape_error_is_named_at_once() -> None:
    """api.md: one answer names each bad field, the benefit's rules and the shapes together."""
    body = SURVIVOR | {"dependants": [CHILD_A, CHILD_A, "123"], "also_apply_for": ["x"], "channel": "provider"}
    body["bank_account"] = {"iban": "KZ00125KZT5004100100"}
    assert set(locs(body)) == {("dependants", 1), ("dependants", 2), ("also_apply_for",), ("channel",), ("bank_account", "iban")}
