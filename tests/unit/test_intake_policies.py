"""Intake's benefit policies: registration day, term, claims (B-Std p.3, p.7; D§24, D-Std p.3, p.7; S§24, S-Std p.7)."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from common.calendar import default_calendar
from services.intake.domain.policies import POLICIES, Claim, policy_for
from services.intake.domain.term import due_of, registration_day

CAL = default_calendar()
MONDAY_1830 = datetime(2026, 11, 2, 13, 30, tzinfo=timezone.utc)  # 18:30 in Almaty, a working day
MONDAY_1000 = datetime(2026, 11, 2, 5, 0, tzinfo=timezone.utc)
SATURDAY_1000 = datetime(2026, 11, 7, 5, 0, tzinfo=timezone.utc)
DECEASED, APPLICANT, CHILD_A, CHILD_B = "480301300013", "790303402568", "150101600017", "120505500028"


@pytest.mark.law(
    "B-Std7.portal-around-the-clock", "D-Std7.portal-around-the-clock", "S-Std7.portal-around-the-clock",
    "D-Std7.after-hours-next-working-day", "S-Std7.day-off-next-working-day", "B-Std7.day-off-next-working-day",
)
@pytest.mark.parametrize(
    ("benefit", "received_at", "registered_on"),
    [
        ("disability", MONDAY_1830, date(2026, 11, 3)),  # D-Std p.7: after 18:00 → next working day
        ("burial", MONDAY_1830, date(2026, 11, 2)),  # project decision: the hour does not move it
        ("survivor", MONDAY_1830, date(2026, 11, 2)),  # S-Std p.7: only days off
        ("disability", MONDAY_1000, date(2026, 11, 2)),
        ("disability", SATURDAY_1000, date(2026, 11, 9)),
        ("burial", SATURDAY_1000, date(2026, 11, 9)),
        ("survivor", SATURDAY_1000, date(2026, 11, 9)),
        # facts.md 2025: Sunday 5 Jan was a working day (3 Jan moved off): a Saturday application registers on it.
        ("survivor", datetime(2025, 1, 4, 5, 0, tzinfo=timezone.utc), date(2025, 1, 5)),
        ("disability", datetime(2025, 1, 4, 5, 0, tzinfo=timezone.utc), date(2025, 1, 5)),
    ],
)
def test_registration_day_per_benefit(benefit: str, received_at: datetime, registered_on: date) -> None:
    """Each Std p.7 / domain.md Working time."""
    assert registration_day(CAL, policy_for(benefit), received_at) == registered_on


@pytest.mark.law(
    "B-Std3.term-state-corp-3wd", "B-Std3.term-portal-proactive-1wd", "D24.term-7wd", "D24.term-1wd-auto",
    "S24.term-7wd", "D-Std3.extension-5wd", "S-Std3.extension-5wd",
)
@pytest.mark.parametrize(
    ("benefit", "channel", "automated", "extension", "registered_on", "due_by", "still_automated"),
    [
        ("disability", "portal", True, 0, date(2026, 11, 2), date(2026, 11, 3), True),  # D§24: 1 wd automated
        ("disability", "proactive", True, 0, date(2026, 11, 2), date(2026, 11, 3), True),
        ("disability", "portal", False, 0, date(2026, 11, 2), date(2026, 11, 11), False),  # a person decides: 7 wd
        ("disability", "state_corp", True, 0, date(2026, 11, 2), date(2026, 11, 11), False),  # desk: never automated
        ("disability", "state_corp", False, 5, date(2026, 11, 2), date(2026, 11, 18), False),  # D-Std p.3: +5 wd
        ("survivor", "portal", True, 0, date(2026, 11, 2), date(2026, 11, 11), False),  # S§24: 7 wd, no automation
        ("burial", "state_corp", True, 0, date(2026, 11, 2), date(2026, 11, 5), False),  # B-Std p.3: 3 wd desk
        ("burial", "portal", True, 0, date(2026, 11, 2), date(2026, 11, 3), False),  # 1 wd portal
        ("burial", "state_corp", False, 5, date(2026, 11, 2), date(2026, 11, 12), False),
        # 16 Dec 2026 (Independence Day) is a day off: 7 wd from 10 Dec end on 22 Dec (not 21), +5 on 29 Dec.
        ("disability", "state_corp", False, 0, date(2026, 12, 10), date(2026, 12, 22), False),
        ("survivor", "state_corp", False, 5, date(2026, 12, 10), date(2026, 12, 29), False),
        ("disability", "portal", True, 0, date(2026, 12, 15), date(2026, 12, 17), True),
        # From the working Sunday 5 Jan 2025: 6 Jan, (7 Jan Orthodox Christmas off), 8 Jan, 9 Jan.
        ("burial", "state_corp", False, 0, date(2025, 1, 5), date(2025, 1, 9), False),
    ],
)
def test_due_dates(
    benefit: str, channel: str, automated: bool, extension: int, registered_on: date, due_by: date, still_automated: bool
) -> None:
    """facts.md Deadline arithmetic: N-th working day after registration, N = term + extension."""
    due = due_of(CAL, policy_for(benefit), channel, registered_on=registered_on, automated=automated, extension_days=extension)
    assert (due.due.date, due.automated) == (due_by, still_automated)


@pytest.mark.law(
    "B13.check2.no-payment-assigned", "B13.check3.no-application-filed", "D4.one-benefit-per-person",
    "S7.one-claim-per-dependant",
)
@pytest.mark.parametrize(
    ("benefit", "keys"),
    [
        ("burial", [f"burial:{DECEASED}"]),
        ("disability", [f"disability:{APPLICANT}"]),
        ("survivor", [f"survivor:{DECEASED}:{CHILD_A}", f"survivor:{DECEASED}:{CHILD_B}"]),
    ],
)
def test_claim_keys_per_benefit(benefit: str, keys: list[str]) -> None:
    """benefits.md uniqueness claim: per deceased, per applicant, per (deceased, dependant)."""
    claims = policy_for(benefit).claims(applicant_iin=APPLICANT, deceased_iin=DECEASED, dependants=[CHILD_A, CHILD_B])
    assert [c.key for c in claims] == keys


@pytest.mark.parametrize(
    ("benefit", "assigned", "filed"),
    [
        ("burial", "already_assigned", "duplicate_application"),
        ("disability", "already_receiving", "application_in_progress"),
        ("survivor", "already_receiving", "application_in_progress"),
    ],
)
def test_conflict_reasons_per_benefit(benefit: str, assigned: str, filed: str) -> None:
    policy = policy_for(benefit)
    assert (policy.conflict_assigned, policy.conflict_filed) == (assigned, filed)


@pytest.mark.law("S-Std9.reapply-after-cause-removed", "S-Std9.ground2.requirements-not-met")
@pytest.mark.parametrize(
    ("benefit", "reasons", "released"),
    [
        ("survivor", [("not_dependant", CHILD_B)], [f"survivor:{DECEASED}:{CHILD_B}"]),
        ("survivor", [("not_dependant", None), ("other", CHILD_A)], []),
        ("burial", [("not_dependant", CHILD_B)], []),
        ("disability", [], []),
    ],
)
def test_assignment_releases_only_survivor_non_dependants(benefit: str, reasons: list, released: list[str]) -> None:
    """S-Std p.9 ground 2: a person found not a dependant may be claimed for again; every other claim stays."""
    claims = [Claim(f"survivor:{DECEASED}:{CHILD_A}", CHILD_A), Claim(f"survivor:{DECEASED}:{CHILD_B}", CHILD_B)]
    assert policy_for(benefit).claims_released_on_assignment(claims, reasons) == released


@pytest.mark.law("B16.proactive-auto-registration", "B13.passed-to-incoming-journal", "D20-1.auto-registration")
@pytest.mark.parametrize(
    ("benefit", "channel", "at_once"),
    [
        ("burial", "portal", False),  # B§13 checks first
        ("burial", "proactive", True),
        ("burial", "state_corp", True),
        ("disability", "portal", True),
        ("disability", "provider", True),
        ("survivor", "portal", True),
    ],
)
def test_registration_on_receipt(benefit: str, channel: str, at_once: bool) -> None:
    assert policy_for(benefit).registers_on_receipt(channel) is at_once


def test_number_prefixes() -> None:
    assert {name: p.number_prefix for name, p in POLICIES.items()} == {"burial": "BUR", "disability": "DIS", "survivor": "SUR"}
