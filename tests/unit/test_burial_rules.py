"""Burial eligibility rules (Order 256 as amended by Order 509: B§13 checks, B-Std p.9 grounds)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from services.eligibility.domain.rules import (
    BurialFacts,
    RecipientPeriod,
    add_years,
    check_complete,
    check_deadline,
    check_recipient,
    check_reliable,
    evaluate_burial,
    recipient_kind_on,
)

DEATH = date(2023, 5, 10)
PENSION = RecipientPeriod("age_pension", date(2010, 1, 1), None)

# A case that passes every check; each row below changes only what it tests.
ELIGIBLE = BurialFacts(
    received_on=date(2025, 6, 2),
    death_date=DEATH,
    death_certificate_given=False,
    deceased_known=True,
    recipient_periods=(PENSION,),
    payment_account_known=True,
    applicant_entity_known=True,
)


def facts(**changes) -> BurialFacts:
    return replace(ELIGIBLE, **changes)


def test_the_base_case_passes_every_check() -> None:
    """B§13 checks 1, 4, 5 and B-Std p.9 ground 1: the reference case is eligible, so each row tests one change."""
    assert evaluate_burial(ELIGIBLE, within_years=3) == []


@pytest.mark.parametrize(
    ("day", "years", "expected"),
    [
        (date(2023, 5, 10), 3, date(2026, 5, 10)),
        (date(2024, 2, 29), 3, date(2027, 2, 28)),  # no 29 Feb in 2027: the period ends on the 28th
        (date(2024, 2, 29), 4, date(2028, 2, 29)),  # leap year to leap year keeps the 29th
        (date(2023, 2, 28), 1, date(2024, 2, 28)),  # into a leap year: not moved to the 29th
        (date(2023, 3, 1), 1, date(2024, 3, 1)),
        (date(2023, 12, 31), 3, date(2026, 12, 31)),
    ],
)
def test_add_years(day: date, years: int, expected: date) -> None:
    """B§13 check 5 arithmetic: same day and month `years` later; 29 February becomes 28 February."""
    assert add_years(day, years) == expected


@pytest.mark.law("B13.check1.completeness")
@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({}, None),
        # death confirmed by the civil registry, no certificate needed
        ({"death_date": DEATH, "death_certificate_given": False}, None),
        # registry has no record but a certificate is attached: complete (reliability is check_reliable's job)
        ({"death_date": None, "death_certificate_given": True}, None),
        # neither registry record nor certificate: the death is not confirmed
        ({"death_date": None, "death_certificate_given": False}, "incomplete"),
        # no IBAN in the application and none in the registry
        ({"payment_account_known": False}, "incomplete"),
        ({"death_date": None, "death_certificate_given": True, "payment_account_known": False}, "incomplete"),
    ],
)
def test_b13_check1_complete(changes: dict, expected: str | None) -> None:
    """B§13 check 1: the death is confirmed (registry or certificate) and there is an account to pay to."""
    assert check_complete(facts(**changes)) == expected


@pytest.mark.law("B-Std9.ground1.unreliable", "B-Std8.doc.legal-entity-registration")
@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({}, None),
        ({"deceased_known": False}, "data_unreliable"),  # the individuals' database does not know the IIN
        ({"applicant_entity_known": False}, "data_unreliable"),  # BIN applicant: no such legal entity
        ({"deceased_known": False, "applicant_entity_known": False}, "data_unreliable"),
        # a certificate the civil registry cannot confirm is not enough for the automatic path
        ({"death_date": None, "death_certificate_given": True}, "data_unreliable"),
    ],
)
def test_bstd_p9_ground1_reliable(changes: dict, expected: str | None) -> None:
    """B-Std p.9 ground 1: the registries confirm the person, the death and the applicant entity."""
    assert check_reliable(facts(**changes)) == expected


def period(start: date, end: date | None, kind: str = "age_pension") -> RecipientPeriod:
    return RecipientPeriod(kind, start, end)


@pytest.mark.law("B13.check4.recipient-on-date-of-death")
@pytest.mark.parametrize(
    ("periods", "expected"),
    [
        ((period(date(2010, 1, 1), None),), None),  # open-ended: still paid
        ((period(date(2010, 1, 1), DEATH),), None),  # period ends on the day of death: still a recipient
        ((period(date(2010, 1, 1), date(2023, 5, 9)),), "not_a_recipient"),  # ended the day before
        ((period(DEATH, None),), None),  # started on the day of death
        ((period(date(2023, 5, 11), None),), "not_a_recipient"),  # started the day after
        ((period(DEATH, DEATH),), None),  # a one-day period on the day of death
        ((), "not_a_recipient"),  # never a recipient
        # several periods: one covering the day of death is enough, whatever its position
        (
            (
                period(date(2001, 1, 1), date(2005, 1, 1), "social_benefit"),
                period(date(2020, 1, 1), None, "special_benefit"),
            ),
            None,
        ),
        (
            (
                period(date(2001, 1, 1), date(2005, 1, 1), "social_benefit"),
                period(date(2024, 1, 1), None, "basic_pension"),
            ),
            "not_a_recipient",
        ),
    ],
)
def test_b13_check4_recipient_at_date_of_death(periods: tuple, expected: str | None) -> None:
    """B§13 check 4: at the date of death a recipient of a pension or a state social/special benefit."""
    assert check_recipient(facts(recipient_periods=periods)) == expected


def test_b13_check4_without_a_death_date_is_left_to_ground1() -> None:
    """B§13 check 4 needs the date of death; without one, B-Std p.9 ground 1 reports it, not check 4."""
    unknown_death = facts(death_date=None, death_certificate_given=True, recipient_periods=())
    assert check_recipient(unknown_death) is None
    assert check_reliable(unknown_death) == "data_unreliable"


@pytest.mark.law("B13.check5.within-3-years")
@pytest.mark.parametrize(
    ("death", "received", "expected"),
    [
        (date(2023, 5, 10), date(2026, 5, 10), None),  # exactly 3 years later: still allowed
        (date(2023, 5, 10), date(2026, 5, 11), "deadline_passed"),  # one day more
        (date(2023, 5, 10), date(2026, 5, 9), None),
        (date(2023, 5, 10), date(2023, 5, 10), None),  # on the day of death
        (date(2023, 5, 10), date(2023, 5, 9), "data_unreliable"),  # dated before the death
        (date(2023, 5, 10), date(2030, 1, 1), "deadline_passed"),
        (date(2024, 2, 29), date(2027, 2, 28), None),  # 29 Feb death: last day is 28 Feb
        (date(2024, 2, 29), date(2027, 3, 1), "deadline_passed"),
        (date(2023, 12, 31), date(2026, 12, 31), None),  # across year ends
        (date(2023, 12, 31), date(2027, 1, 1), "deadline_passed"),
    ],
)
def test_b13_check5_within_3_years_of_death(death: date, received: date, expected: str | None) -> None:
    """B§13 check 5: applied no later than 3 years after the date of death."""
    assert check_deadline(facts(death_date=death, received_on=received), 3) == expected


@pytest.mark.law("B13.check5.within-3-years")
@pytest.mark.parametrize(
    ("within_years", "received", "expected"),
    [
        (1, date(2024, 5, 10), None),
        (1, date(2024, 5, 11), "deadline_passed"),
        (5, date(2028, 5, 10), None),
        (5, date(2028, 5, 11), "deadline_passed"),
    ],
)
def test_b13_check5_years_come_from_the_parameter(within_years: int, received: date, expected: str | None) -> None:
    """B§13 check 5: the number of years is the caller's dated parameter, not a constant in the rule."""
    assert check_deadline(facts(death_date=DEATH, received_on=received), within_years) == expected


def test_b13_check5_without_a_death_date_is_left_to_other_checks() -> None:
    """B§13 check 5 counts from the date of death; with none, checks 1 / ground 1 report the gap."""
    assert check_deadline(facts(death_date=None, death_certificate_given=True, received_on=date(2099, 1, 1)), 3) is None


@pytest.mark.law("B-Std9.ground2.requirements-not-met")
@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({}, []),
        # B§13 order: check 1, ground 1, check 4, check 5
        ({"payment_account_known": False}, ["incomplete"]),
        ({"recipient_periods": ()}, ["not_a_recipient"]),
        ({"received_on": date(2026, 5, 11)}, ["deadline_passed"]),
        (
            {"recipient_periods": (), "received_on": date(2026, 5, 11)},
            ["not_a_recipient", "deadline_passed"],
        ),
        (
            {"payment_account_known": False, "recipient_periods": (), "received_on": date(2026, 5, 11)},
            ["incomplete", "not_a_recipient", "deadline_passed"],
        ),
        (
            {
                "payment_account_known": False,
                "deceased_known": False,
                "recipient_periods": (),
                "received_on": date(2026, 5, 11),
            },
            ["incomplete", "data_unreliable", "not_a_recipient", "deadline_passed"],
        ),
        # no death record and a certificate: check 4 and check 5 cannot run, ground 1 says why
        ({"death_date": None, "death_certificate_given": True, "recipient_periods": ()}, ["data_unreliable"]),
        # the same code from two checks is reported once, at its first place
        ({"deceased_known": False, "received_on": date(2023, 5, 9)}, ["data_unreliable"]),
        (
            {"deceased_known": False, "recipient_periods": (), "received_on": date(2023, 5, 9)},
            ["data_unreliable", "not_a_recipient"],
        ),
        # an application dated before the death, otherwise fine: one ground-1 reason from check 5
        ({"received_on": date(2023, 5, 9)}, ["data_unreliable"]),
    ],
)
def test_b13_evaluate_burial_lists_every_reason_once_in_order(changes: dict, expected: list[str]) -> None:
    """B§13/B§16: every failed check at once, in B§13 order, each reason code once."""
    assert evaluate_burial(facts(**changes), within_years=3) == expected


def test_b13_evaluate_burial_passes_within_years_to_check5() -> None:
    """B§13 check 5 via evaluate_burial: the years parameter reaches the deadline check."""
    late_for_one_year = facts(received_on=date(2024, 5, 11))
    assert evaluate_burial(late_for_one_year, within_years=1) == ["deadline_passed"]
    assert evaluate_burial(late_for_one_year, within_years=3) == []


@pytest.mark.law("B13.check4.recipient-on-date-of-death")
@pytest.mark.parametrize(
    ("kind", "counted"),
    [
        ("age_pension", True),
        ("basic_pension", True),
        ("social_benefit", True),
        ("special_benefit", True),
        ("disability_benefit", False),  # a payment of another kind: not one of the four
        ("survivor_benefit", False),
        ("housing_assistance", False),
    ],
)
def test_b13_check4_counts_only_the_four_kinds(kind: str, counted: bool) -> None:
    """B§13 check 4: an age pension, the basic pension, a state social or special benefit, and nothing else."""
    period = RecipientPeriod(kind, date(2010, 1, 1), None)
    assert recipient_kind_on(facts(recipient_periods=(period,)), DEATH) == (kind if counted else None)
    assert check_recipient(facts(recipient_periods=(period,))) == (None if counted else "not_a_recipient")


def test_b13_check4_another_kind_beside_one_of_the_four_names_the_counted_one() -> None:
    """B§13 check 4: the kind reported is one of the four, even when another payment is listed first."""
    other = RecipientPeriod("housing_assistance", date(2000, 1, 1), None)
    assert recipient_kind_on(facts(recipient_periods=(other, PENSION)), DEATH) == "age_pension"


@pytest.mark.law("B13.check4.recipient-on-date-of-death")
@pytest.mark.parametrize(
    ("start", "end", "counted"),
    [
        (date(2010, 1, 1), DEATH, True),  # ended on the date of death: still received on it
        (date(2010, 1, 1), date(2023, 5, 9), False),  # ended the day before
        (DEATH, None, True),  # began on the date of death
        (date(2023, 5, 11), None, False),  # began the day after
    ],
)
def test_b13_check4_on_the_date_of_death(start: date, end: date | None, counted: bool) -> None:
    """B§13 check 4: the period covers the date of death, both ends inclusive."""
    period = RecipientPeriod("social_benefit", start, end)
    assert (check_recipient(facts(recipient_periods=(period,))) is None) is counted
