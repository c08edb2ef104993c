"""Dated legal parameters (facts.md "Indices", "Amounts"; Order 509 terms)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from common.law.params import (
    Parameter,
    ParameterMissing,
    ParameterRegistry,
    UnknownParameter,
    burial_amount_kzt,
    default_registry,
    disability_monthly_kzt,
    disability_multiplier,
    extension_days,
    service_term_days,
    survivor_multiplier,
    value_on,
)

REG = default_registry()


@pytest.mark.parametrize(
    ("name", "on", "value", "source_fragment"),
    [
        ("mci", date(2024, 6, 1), 3692, "republican budget for 2024-2026"),
        ("mci", date(2025, 6, 1), 3932, "republican budget for 2025-2027"),
        ("mci", date(2026, 6, 1), 4325, "republican budget for 2026-2028"),
        ("subsistence_minimum", date(2024, 6, 1), 43407, "republican budget for 2024-2026"),
        ("subsistence_minimum", date(2025, 6, 1), 46228, "republican budget for 2025-2027"),
        ("subsistence_minimum", date(2026, 6, 1), 50851, "republican budget for 2026-2028"),
    ],
)
def test_indices_per_budget_law(name: str, on: date, value: int, source_fragment: str) -> None:
    """facts.md Indices: MCI and subsistence minimum per year, verified, from that year's budget law."""
    p = value_on(name, on)
    assert p.value == value
    assert source_fragment in p.source
    assert p.verified is True
    assert p.valid_from == date(on.year, 1, 1) and p.valid_to == date(on.year, 12, 31)


@pytest.mark.parametrize(
    ("on", "value"),
    [
        (date(2025, 12, 31), 3932),
        (date(2026, 1, 1), 4325),
        (date(2024, 12, 31), 3692),
        (date(2025, 1, 1), 3932),
    ],
)
def test_mci_year_boundaries(on: date, value: int) -> None:
    """facts.md Indices: each MCI is valid for its calendar year, boundaries inclusive."""
    assert value_on("mci", on).value == value


@pytest.mark.parametrize(
    ("name", "on"),
    [
        ("mci", date(2027, 1, 1)),
        ("mci", date(2022, 12, 31)),  # 2023 is loaded (unverified): deaths then are still within B§13 check 5
        ("subsistence_minimum", date(2027, 1, 1)),
        ("disability.multiplier.work_injury.group_1", date(2026, 1, 1)),
        ("disability.multiplier.work_injury.group_3", date(2026, 1, 1)),
        ("disability.multiplier.general_illness.group_1", date(2023, 12, 31)),
    ],
)
def test_missing_value_refuses(name: str, on: date) -> None:
    """facts.md: refuse to compute when no value covers the date (2027 MCI, work injury multiple)."""
    with pytest.raises(ParameterMissing) as info:
        value_on(name, on)
    assert info.value.name == name and info.value.on == on


def test_unknown_name_is_not_confused_with_missing_value() -> None:
    """A typo in a name is a programming error, distinct from a value not loaded yet."""
    with pytest.raises(UnknownParameter):
        value_on("mcii", date(2026, 1, 1))
    assert "disability.multiplier.work_injury.group_2" in REG.names()


@pytest.mark.law("B19-1.amount-35-mci")
def test_burial_multiple_is_35_and_unverified() -> None:
    """facts.md Amounts: burial payment 35 MCI (Order 256 rules; gov.kz life situation 17), marked '?'."""
    p = value_on("burial.mci_multiple", date(2026, 5, 10))
    assert p.value == 35
    assert p.verified is False
    assert "256" in p.source and "life situation 17" in p.source
    assert p.valid_from == date(2023, 6, 27) and p.valid_to is None


@pytest.mark.law("B13.check5.within-3-years")
def test_burial_apply_within_3_years() -> None:
    """B§13 check 5 (Order 509): apply no later than 3 years after death; verified."""
    p = value_on("burial.apply_within_years", date(2026, 1, 1))
    assert p.value == 3 and p.verified is True and "B§13" in p.source


@pytest.mark.parametrize(
    ("death", "amount"),
    [
        (date(2026, 5, 10), 151_375),  # 35 × 4325
        (date(2025, 12, 31), 137_620),  # 35 × 3932
        (date(2026, 1, 1), 151_375),
        (date(2024, 2, 29), 129_220),  # 35 × 3692
    ],
)
def test_burial_amount_uses_mci_on_date_of_death(death: date, amount: int) -> None:
    """facts.md Amounts: 35 × MCI in force on the date of death."""
    assert burial_amount_kzt(death) == amount


def test_burial_amount_refuses_without_mci() -> None:
    """facts.md: MCI for 2027 not loaded -> refuse, never guess."""
    with pytest.raises(ParameterMissing):
        burial_amount_kzt(date(2027, 1, 1))


def test_burial_amount_rounds_up_fractional_tenge() -> None:
    """burial_amount_kzt docstring: a fractional product is rounded up to whole tenge."""
    reg = ParameterRegistry(
        [
            Parameter("mci", 3932, date(2025, 1, 1), date(2025, 12, 31), "test", True),
            Parameter("burial.mci_multiple", Decimal("36.6"), date(2025, 1, 1), None, "test", False),
        ]
    )
    assert burial_amount_kzt(date(2025, 3, 1), reg) == 143_912  # 143 911.2 -> 143 912


@pytest.mark.parametrize(
    ("name", "value", "source_fragment"),
    [
        ("term.burial.state_corp", 3, "B-Std p.3"),
        ("term.burial.portal", 1, "B-Std p.3"),
        ("term.burial.proactive", 1, "B-Std p.3"),
        ("term.disability.default", 7, "D§24"),
        ("term.disability.auto", 1, "D-Std p.3"),
        ("term.survivor.default", 7, "S§24"),
        ("term.extension.documents", 5, "S-Std p.3"),
    ],
)
def test_service_terms_with_sources(name: str, value: int, source_fragment: str) -> None:
    """Order 509: service terms in working days, each with its paragraph; start date is an assumption."""
    p = value_on(name, date(2026, 1, 1))
    assert p.value == value
    assert source_fragment in p.source and "509" in p.source
    assert p.valid_from == date(2025, 1, 1)
    assert "ASSUMPTION" in p.note


def test_terms_before_order_509_are_not_loaded() -> None:
    """Terms are dated from Order 509's (assumed) start; earlier dates refuse."""
    with pytest.raises(ParameterMissing):
        service_term_days("burial", "state_corp", on=date(2024, 12, 31))


@pytest.mark.law(
    "B-Std3.term-state-corp-3wd", "B-Std3.term-portal-proactive-1wd", "D24.term-7wd", "D24.term-1wd-auto",
    "S24.term-7wd",
)
@pytest.mark.parametrize(
    ("benefit", "channel", "auto", "days"),
    [
        ("burial", "state_corp", False, 3),
        ("burial", "portal", False, 1),
        ("burial", "proactive", False, 1),
        ("disability", "state_corp", False, 7),
        ("disability", "provider", False, 7),
        ("disability", "portal", False, 7),
        ("disability", "portal", True, 1),
        ("disability", "proactive", True, 1),
        ("survivor", "state_corp", False, 7),
        ("survivor", "portal", False, 7),
    ],
)
def test_service_term_days(benefit: str, channel: str, auto: bool, days: int) -> None:
    """B-Std p.3; D§24 / D-Std p.3 (1 day: general illness / work injury via portal or proactive); S§24."""
    assert service_term_days(benefit, channel, auto=auto) == days
    assert service_term_days(benefit, channel, auto=auto, on=date(2026, 3, 20)) == days


@pytest.mark.parametrize(
    ("benefit", "channel", "auto", "message"),
    [
        ("pension", "portal", False, "benefit"),
        ("burial", "provider", False, "not a channel"),
        ("disability", "sms", False, "not a channel"),
        ("disability", "state_corp", True, "auto"),
        ("burial", "portal", True, "auto"),
        ("survivor", "portal", True, "auto"),
    ],
)
def test_service_term_days_rejects_impossible_combinations(
    benefit: str, channel: str, auto: bool, message: str
) -> None:
    """D§20-1/D§21-1: the automated path exists only for disability via portal or proactive."""
    with pytest.raises(ValueError, match=message):
        service_term_days(benefit, channel, auto=auto)


@pytest.mark.law("D-Std3.extension-5wd", "S-Std3.extension-5wd", "B-Std3.extension-5wd")
def test_extension_days() -> None:
    """D-Std p.3, S§24: +5 working days when additional documents are requested."""
    assert extension_days() == 5
    assert extension_days(date(2026, 6, 1)) == 5


@pytest.mark.parametrize(
    ("cause", "group", "multiplier"),
    [
        ("general_illness", 1, "2.20"),
        ("general_illness", 2, "1.76"),
        ("general_illness", 3, "1.20"),
        ("from_childhood", 1, "2.20"),
        ("from_childhood", 2, "1.83"),
        ("from_childhood", 3, "1.61"),
        ("child_under_7", 1, "1.61"),
        ("child_under_7", 2, "1.61"),
        ("child_under_7", 3, "1.61"),
    ],
)
def test_disability_multipliers(cause: str, group: int, multiplier: str) -> None:
    """facts.md Amounts, disability table (Social Code art. 177 as reported), verified."""
    p = disability_multiplier(cause, group, date(2026, 1, 1))
    assert p.value == Decimal(multiplier)
    assert p.verified is True and "177" in p.source


def test_work_injury_multiplier_refuses() -> None:
    """facts.md Amounts: work injury / occupational disease not verified -> refuses until set."""
    with pytest.raises(ParameterMissing):
        disability_monthly_kzt("work_injury", 1, date(2026, 1, 1))


@pytest.mark.parametrize(
    ("cause", "group", "on", "amount"),
    [
        ("general_illness", 1, date(2026, 1, 1), 111_873),  # 50 851 × 2.20 = 111 872.2 -> up
        ("general_illness", 2, date(2025, 1, 1), 81_362),  # 46 228 × 1.76 = 81 361.28 -> up
        ("from_childhood", 3, date(2024, 1, 1), 69_886),  # 43 407 × 1.61 = 69 885.27 -> up
    ],
)
def test_disability_monthly_rounds_up(cause: str, group: int, on: date, amount: int) -> None:
    """facts.md Amounts: ПМ × multiple rounded up to whole tenge."""
    assert disability_monthly_kzt(cause, group, on) == amount


@pytest.mark.parametrize(
    ("dependants", "multiplier"),
    [(1, "0.92"), (2, "1.70"), (3, "2.25"), (4, "2.60"), (5, "2.75"), (6, "3.00"), (9, "3.00")],
)
def test_survivor_multipliers(dependants: int, multiplier: str) -> None:
    """facts.md Amounts: loss-of-breadwinner multiple by number of dependants, 6 or more -> 3.00."""
    assert survivor_multiplier(dependants, date(2026, 1, 1)).value == Decimal(multiplier)


def test_survivor_needs_a_dependant() -> None:
    """No dependant, no benefit multiple."""
    with pytest.raises(ValueError):
        survivor_multiplier(0, date(2026, 1, 1))


@pytest.mark.parametrize(
    "parameters",
    [
        [
            Parameter("x", 1, date(2025, 1, 1), date(2025, 12, 31), "s", True),
            Parameter("x", 2, date(2025, 12, 31), None, "s", True),
        ],
        [
            Parameter("x", 1, date(2025, 1, 1), None, "s", True),
            Parameter("x", 2, date(2026, 1, 1), None, "s", True),
        ],
        [Parameter("x", 1, date(2025, 1, 1), date(2024, 1, 1), "s", True)],
    ],
)
def test_registry_rejects_overlaps_and_inverted_intervals(parameters: list[Parameter]) -> None:
    """One value per name per date: overlapping or inverted validity is a data error."""
    with pytest.raises(ValueError):
        ParameterRegistry(parameters)


def test_registry_latest_open_refuses_when_last_value_ended() -> None:
    """Without a date, only an open-ended value is used; an ended one refuses."""
    reg = ParameterRegistry([Parameter("x", 1, date(2025, 1, 1), date(2025, 12, 31), "s", True)])
    with pytest.raises(ParameterMissing) as info:
        reg.latest_open("x")
    assert info.value.on == date(2026, 1, 1)


def test_every_loaded_parameter_has_a_source() -> None:
    """facts.md: each parameter carries its source; unverified ones are marked."""
    for name in REG.names():
        for p in REG.history(name):
            assert p.source.strip(), name
            assert isinstance(p.value, (int, Decimal, date)) and not isinstance(p.value, bool), name
