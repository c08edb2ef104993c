"""Disability and survivor decision policies (D§4, D§20-1, D§24, S§24, S-Std p.2; facts.md Amounts, Retroactivity)."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timezone
from typing import Any

import pytest

from common.events import ApplicationData, EligibilityChecked
from common.reasons import reason
from services.decision.domain.drafting import draft, ready_to_draft
from services.decision.domain.model import Case, Draft
from services.decision.domain.periods import age_on, capped_start, months_before
from services.decision.domain.policies import POLICIES

IBAN = "KZ86125KZT5004100100"
APPLICANT = "790303402568"


def case(
    benefit: str,
    facts: dict[str, Any],
    *,
    channel: str = "portal",
    eligible: bool = True,
    automated: bool | None = None,
    reasons: tuple[dict[str, Any], ...] = (),
    iban: str | None = IBAN,
    requested: tuple[dict[str, Any], ...] = (),
) -> Case:
    """A case as intake and eligibility describe it (facts per the eligibility ↔ decision contract)."""
    application_id = uuid.uuid4()
    received_on = date.fromisoformat(facts["received_on"])
    at = datetime(received_on.year, received_on.month, received_on.day, 5, 0, tzinfo=timezone.utc)
    if automated is None:
        automated = benefit != "survivor" and channel in ("portal", "proactive")
    application = ApplicationData.model_validate(
        {"application_id": application_id, "benefit": benefit, "channel": channel, "status": "registered",
         "received_at": at, "received_on": received_on, "applicant": {"iin": APPLICANT}, "iban": iban}
    )
    checks = EligibilityChecked.model_validate(
        {"application_id": application_id, "benefit": benefit, "channel": channel, "eligible": eligible,
         "automated": automated, "reasons": reasons, "facts": facts, "checked_at": at,
         "requested_documents": requested}
    )
    return Case(application=application, checks=checks)


def disability(received_on: str = "2026-05-15", *, cause: str | None = "general_illness", group: int | None = 1,
               established_on: str | None = "2026-05-01", birth: str | None = "1980-01-01",
               owned: bool | None = True, **kw: Any) -> Draft:
    facts = {"received_on": received_on, "applicant_iin": APPLICANT, "applicant_birth_date": birth, "cause": cause,
             "group": group, "established_on": established_on, "until": None, "disability_source": "registry",
             "first_time": True, "payee_iban": None, "payee_account_owned": owned, "also_apply_for": []}
    return draft(case("disability", facts, **kw))


def survivor(dependants: int = 1, *, received_on: str = "2026-05-15", right_arose_on: str = "2026-04-01",
             **kw: Any) -> Draft:
    iins = [f"0{n:011d}" for n in range(dependants)]
    facts = {"received_on": received_on, "deceased_iin": "410707300011", "right_arose_on": right_arose_on,
             "right_source": "death_record", "payee_iban": None, "eligible_dependants": iins,
             "dependants": [{"iin": i, "eligible": True, "basis": "minor", "kinship": "child", "birth_date": None,
                             "reason_code": None} for i in iins]}
    return draft(case("survivor", facts, channel="state_corp", **kw))


def test_the_registry_has_one_policy_per_benefit() -> None:
    """docs/benefits.md: the seam is a registry keyed by benefit name."""
    assert set(POLICIES) == {"burial", "disability", "survivor"}


# --- month arithmetic -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2026, 5, 31), 3, date(2026, 2, 28)),  # clamps to the last day of February
        (date(2024, 5, 31), 3, date(2024, 2, 29)),  # leap year
        (date(2026, 5, 15), 3, date(2026, 2, 15)),
        (date(2026, 1, 31), 3, date(2025, 10, 31)),  # across a year
        (date(2026, 3, 31), 1, date(2026, 2, 28)),
        (date(2026, 5, 31), 12, date(2025, 5, 31)),
        (date(2024, 2, 29), 12, date(2023, 2, 28)),
        (date(2026, 12, 31), 12, date(2025, 12, 31)),
    ],
)
def test_months_before_clamps_to_the_months_last_day(day: date, months: int, expected: date) -> None:
    """facts.md Retroactivity: calendar months back, clamped to the month's last day."""
    assert months_before(day, months) == expected


@pytest.mark.parametrize(
    ("right_from", "expected"),
    [
        (date(2026, 1, 10), date(2026, 2, 28)),  # before the cap: the cap
        (date(2026, 2, 28), date(2026, 2, 28)),  # exactly on the cap
        (date(2026, 3, 1), date(2026, 3, 1)),  # after the cap: the day the right arose
    ],
)
def test_capped_start_is_the_later_of_right_and_cap(right_from: date, expected: date) -> None:
    """D§4, D§24: max(established_on, applied − 3 months)."""
    assert capped_start(right_from, date(2026, 5, 31), 3) == expected


@pytest.mark.parametrize(
    ("birth", "on", "age"),
    [(date(2019, 5, 15), date(2026, 5, 14), 6), (date(2019, 5, 15), date(2026, 5, 15), 7),
     # A 29 February birthday counts on 28 February in other years, as in eligibility (common.dates, one rule).
     (date(2020, 2, 29), date(2027, 2, 27), 6), (date(2020, 2, 29), date(2027, 2, 28), 7), (date(2020, 2, 29), date(2027, 3, 1), 7)],
)
def test_age_counts_full_years(birth: date, on: date, age: int) -> None:
    """A birthday counts from the day itself."""
    assert age_on(birth, on) == age


# --- disability -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("received_on", "cause", "group", "amount"),
    [
        ("2026-05-15", "general_illness", 1, 111_873),  # 50 851 × 2.20, rounded up
        ("2026-05-15", "general_illness", 2, 89_498),  # × 1.76
        ("2026-05-15", "general_illness", 3, 61_022),  # × 1.20
        ("2026-05-15", "childhood", 1, 111_873),  # from childhood × 2.20
        ("2026-05-15", "childhood", 2, 93_058),  # × 1.83
        ("2026-05-15", "childhood", 3, 81_871),  # × 1.61
        ("2025-05-15", "general_illness", 1, 101_702),  # 46 228 × 2.20
        ("2025-05-15", "general_illness", 3, 55_474),
        ("2025-05-15", "childhood", 2, 84_598),
        ("2025-05-15", "childhood", 3, 74_428),
    ],
)
def test_disability_amount_is_pm_on_the_application_day_times_the_multiple(
    received_on: str, cause: str, group: int, amount: int
) -> None:
    """facts.md Amounts: monthly ПМ × multiple(cause, group), ПМ in force on the application day."""
    proposal = disability(received_on, cause=cause, group=group, established_on=received_on)
    assert (proposal.outcome, proposal.amount_kzt, proposal.amount_kind, proposal.amount_known) == (
        "assign", amount, "monthly", True)


@pytest.mark.parametrize(
    ("birth", "amount", "parameter_cause"),
    [
        ("2019-05-16", 81_871, "child_under_7"),  # 7th birthday tomorrow: under 7, 50 851 × 1.61
        ("2019-05-15", 93_058, "from_childhood"),  # 7th birthday today: from childhood, group 2 × 1.83
        ("2015-01-01", 93_058, "from_childhood"),
    ],
)
def test_a_disabled_child_is_paid_by_age_on_the_application_day(birth: str, amount: int, parameter_cause: str) -> None:
    """facts.md Amounts: a child under 7 has its own multiple; 7–18 that of disability from childhood."""
    proposal = disability("2026-05-15", cause="child", group=2, birth=birth, channel="state_corp")
    assert proposal.amount_kzt == amount
    [line] = [x for x in proposal.explanation if x.rule == "amount"]
    assert line.facts["parameter_cause"] == parameter_cause and line.facts["cause"] == "child"


@pytest.mark.law("D21-1.payee-safety")
@pytest.mark.parametrize(
    "kw",
    [
        {"cause": "work_injury", "group": 2},  # declared without a verified value
        {"cause": "general_illness", "group": None},  # group unknown
        {"cause": "child", "group": 1, "birth": None},  # age unknown
    ],
)
def test_an_unknown_amount_is_never_guessed_and_never_auto_signed(kw: dict[str, Any]) -> None:
    """Project decision: no verified parameter → no amount; a specialist decides and enters it (D§20-1)."""
    proposal = disability("2026-05-15", **kw)
    assert (proposal.outcome, proposal.amount_kzt, proposal.amount_known, proposal.auto_sign) == (
        "assign", 0, False, False)
    lines = {x.rule: x for x in proposal.explanation}
    assert lines["amount"].facts["amount_kzt"] is None and lines["who_signs"].facts["signer"] == "specialist"


@pytest.mark.law("D4.period-start-cap")
@pytest.mark.parametrize(
    ("received_on", "established_on", "period_start"),
    [
        ("2026-05-31", "2025-12-01", "2026-02-28"),  # established long ago: capped at 3 months, month end clamped
        ("2026-05-31", "2026-03-15", "2026-03-15"),  # established after the cap
        ("2026-05-15", "2026-02-15", "2026-02-15"),  # exactly 3 months back
        ("2026-05-15", "2026-02-14", "2026-02-15"),  # one day more is capped
    ],
)
def test_disability_period_starts_at_establishment_but_at_most_3_months_back(
    received_on: str, established_on: str, period_start: str
) -> None:
    """D§4, D§24: period_start = max(established_on, received_on − 3 calendar months)."""
    proposal = disability(received_on, established_on=established_on)
    assert proposal.period_start == date.fromisoformat(period_start)
    [line] = [x for x in proposal.explanation if x.rule == "period_start"]
    assert line.paragraph == "D§4, D§24" and line.facts["retro_months"] == 3


@pytest.mark.law("D21-1.auto-only-general-illness-work-injury")
@pytest.mark.parametrize(
    ("kw", "auto_sign"),
    [
        ({}, True),  # portal, general illness, verified amount, account
        ({"channel": "proactive"}, True),
        ({"channel": "state_corp"}, False),  # desk: a specialist
        ({"channel": "provider"}, False),
        ({"cause": "childhood"}, False),  # eligibility: not on the automated path (D§20-1 names two causes)
        ({"iban": None}, False),  # no account to pay to
        ({"automated": True, "channel": "state_corp"}, False),  # a desk case is never the system's to sign
        ({"owned": False}, False),  # project decision (payee safety): not the applicant's own account
        ({"owned": None}, False),  # ... or not shown by the banks' registry (an older event without the fact)
    ],
)
def test_disability_is_signed_by_the_system_only_on_the_automated_path(kw: dict[str, Any], auto_sign: bool) -> None:
    """D§20-1, D§21-1: automated and amount known and a payee IBAN; otherwise a specialist signs."""
    if kw.get("cause") == "childhood":
        kw["automated"] = False
    assert disability(**kw).auto_sign is auto_sign


@pytest.mark.law("D21-1.auto-refusal-missing-data")
def test_a_not_eligible_disability_case_is_refused_with_its_reasons() -> None:
    """D-Std p.9: a refusal carries the grounds; on the automated path the system signs it (D§20-1)."""
    proposal = disability(cause=None, group=None, established_on=None, eligible=False,
                          reasons=(reason("no_disability", subject=APPLICANT),))
    assert (proposal.outcome, proposal.amount_kzt, proposal.period_start, proposal.auto_sign) == (
        "refuse", 0, None, True)
    assert [(r.code, r.subject) for r in proposal.reasons] == [("no_disability", APPLICANT)]


def test_a_case_waiting_for_documents_is_not_drafted() -> None:
    """D§7, S§7: requested documents mean wait, not refuse."""
    facts = {"received_on": "2026-05-15", "cause": None, "group": None, "established_on": None}
    waiting = case("disability", facts, eligible=False,
                   requested=({"type": "disability_certificate", "reason": "no registry record"},))
    assert not ready_to_draft(waiting)


# --- survivor -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dependants", "amount"),
    [(1, 46_783), (2, 86_447), (3, 114_415), (4, 132_213), (5, 139_841), (6, 152_553), (7, 152_553)],
)
def test_survivor_amount_by_eligible_dependants(dependants: int, amount: int) -> None:
    """facts.md Amounts: ПМ 2026 × 0.92 / 1.70 / 2.25 / 2.60 / 2.75 / 3.00 (6 or more share one multiple)."""
    proposal = survivor(dependants)
    assert (proposal.outcome, proposal.amount_kzt, proposal.amount_kind) == ("assign", amount, "monthly")


@pytest.mark.law("S24.period-start-cap", "S24.cap-counted-from-application-day")
@pytest.mark.parametrize(
    ("received_on", "right_arose_on", "period_start"),
    [
        ("2026-05-31", "2024-01-10", "2025-05-31"),  # long ago: 12 months back
        ("2026-05-31", "2025-05-31", "2025-05-31"),  # exactly 12 months
        ("2026-05-31", "2025-06-01", "2025-06-01"),  # after the cap: the day the right arose
        ("2025-02-28", "2023-01-01", "2024-02-28"),
    ],
)
def test_survivor_period_starts_when_the_right_arose_but_at_most_12_months_back(
    received_on: str, right_arose_on: str, period_start: str
) -> None:
    """S§24: period_start = max(right_arose_on, received_on − 12 calendar months)."""
    proposal = survivor(received_on=received_on, right_arose_on=right_arose_on)
    assert proposal.period_start == date.fromisoformat(period_start)


@pytest.mark.law("S-Std2.specialist-signs")
@pytest.mark.parametrize("channel", ["portal", "proactive", "state_corp"])
def test_survivor_is_always_signed_by_a_specialist(channel: str) -> None:
    """S-Std p.2: no automated path, whatever the channel."""
    facts = {"received_on": "2026-05-15", "right_arose_on": "2026-04-01", "eligible_dependants": ["031231500126"]}
    proposal = draft(case("survivor", facts, channel=channel, automated=True))
    assert proposal.auto_sign is False
    assert [x.facts["signer"] for x in proposal.explanation if x.rule == "who_signs"] == ["specialist"]


@pytest.mark.law("S-Std9.ground2.requirements-not-met")
def test_survivor_assigns_for_the_eligible_and_names_the_others() -> None:
    """S-Std p.9 ground 2: each listed person who is not a dependant keeps a reason naming them."""
    others = (reason("not_dependant", subject="000101500011"),)
    proposal = survivor(2, reasons=others)
    assert proposal.outcome == "assign" and proposal.amount_kzt == 86_447
    assert [(r.code, r.subject) for r in proposal.reasons] == [("not_dependant", "000101500011")]
