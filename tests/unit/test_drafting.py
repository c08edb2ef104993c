"""Drafting a burial decision (B§19-1; facts.md Amounts: 35 MCI at the MCI in force on the date of death)."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timezone

import pytest

from common.events import ApplicationData, EligibilityChecked
from common.law.params import AUTO_CHANNELS, ParameterMissing
from common.reasons import reason
from services.decision.domain.drafting import draft
from services.decision.domain.model import Case as DecisionCase
from services.decision.domain.model import Draft

AUTO_SIGN_CHANNELS = AUTO_CHANNELS


def draft_burial(*, channel: str, eligible: bool, reasons: list[dict], date_of_death: date | None,
                 owned: bool | None = True, kinship: str | None = "child") -> Draft:
    """The burial draft for a case as intake and eligibility describe it (automated: portal, proactive)."""
    application_id = uuid.uuid4()
    at = datetime(2026, 11, 2, 5, 0, tzinfo=timezone.utc)
    application = ApplicationData(
        application_id=application_id, benefit="burial", channel=channel, status="registered",
        received_at=at, received_on=at.date(), applicant={"iin": "790303402568"}, iban="KZ86125KZT5004100100",
    )
    checks = EligibilityChecked(
        application_id=application_id, benefit="burial", channel=channel, eligible=eligible,
        automated=channel in ("portal", "proactive"), reasons=reasons, checked_at=at,
        facts={"date_of_death": date_of_death.isoformat() if date_of_death else None, "received_on": "2026-11-02",
               "payee_account_owned": owned, "applicant_kinship": kinship},
    )
    return draft(DecisionCase(application=application, checks=checks))


@pytest.mark.law("B19-1.amount-35-mci", "B19-1.auto-draft-decision")
@pytest.mark.parametrize(
    ("date_of_death", "amount"),
    [
        (date(2025, 3, 14), 137_620),  # 35 × 3 932
        (date(2025, 12, 31), 137_620),  # last day of the 2025 MCI
        (date(2026, 1, 1), 151_375),  # 35 × 4 325 from the first day of 2026
        (date(2026, 7, 1), 151_375),
        (date(2024, 2, 29), 129_220),  # 35 × 3 692
        (date(2023, 12, 15), 120_750),  # 35 × 3 450: the 2023 MCI is loaded but unverified
    ],
)
def test_assign_35_mci_at_the_mci_on_the_date_of_death(date_of_death: date, amount: int) -> None:
    """facts.md Amounts (B§19-1 draft): assign 35 MCI at the MCI in force on the date of death, no reasons."""
    draft = draft_burial(channel="portal", eligible=True, reasons=[], date_of_death=date_of_death)
    assert draft.outcome == "assign"
    assert draft.amount_kzt == amount
    assert (draft.amount_kind, draft.period_start, draft.amount_known) == ("one_time", None, True)
    assert draft.reasons == ()


def test_amount_follows_the_date_of_death_not_the_date_of_drafting() -> None:
    """facts.md Amounts: a death on 31 Dec 2025 drafted in 2026 is paid at the 2025 MCI."""
    late = draft_burial(channel="portal", eligible=True, reasons=[], date_of_death=date(2025, 12, 31))
    early = draft_burial(channel="portal", eligible=True, reasons=[], date_of_death=date(2026, 1, 1))
    assert (late.amount_kzt, early.amount_kzt) == (137_620, 151_375)


@pytest.mark.parametrize("date_of_death", [date(2027, 2, 1), date(2022, 6, 1)])
def test_no_mci_loaded_for_the_year_refuses_to_compute(date_of_death: date) -> None:
    """facts.md Amounts / params: a year with no MCI loaded raises ParameterMissing, never a guessed amount."""
    with pytest.raises(ParameterMissing):
        draft_burial(channel="proactive", eligible=True, reasons=[], date_of_death=date_of_death)


@pytest.mark.law("B19-1.auto-refusal-missing-data")
@pytest.mark.parametrize(
    "codes",
    [
        ["not_a_recipient"],
        ["deadline_passed"],
        ["incomplete", "data_unreliable", "not_a_recipient", "deadline_passed"],
    ],
)
def test_refusal_carries_the_reasons_and_amount_zero(codes: list[str]) -> None:
    """B§19-1: a refusal is formed when the data is missing or wrong; it carries every reason and pays nothing."""
    reasons = [reason(code) for code in codes]
    draft = draft_burial(channel="proactive", eligible=False, reasons=reasons, date_of_death=date(2026, 1, 10))
    assert draft.outcome == "refuse"
    assert draft.amount_kzt == 0
    assert [r.code for r in draft.reasons] == codes


def test_refusal_needs_no_mci() -> None:
    """B§19-1: refusing does not compute an amount, so a year with no MCI does not block a refusal."""
    draft = draft_burial(
        channel="portal", eligible=False, reasons=[reason("deadline_passed")], date_of_death=date(2027, 2, 1)
    )
    assert (draft.outcome, draft.amount_kzt) == ("refuse", 0)


@pytest.mark.law("B19-1.auto-only-portal-proactive")
@pytest.mark.parametrize(
    ("channel", "auto_sign"),
    [
        ("portal", True),
        ("proactive", True),
        ("state_corp", False),  # waits for the service provider's specialist
        ("provider", False),
    ],
)
@pytest.mark.parametrize("eligible", [True, False])
def test_b19_1_auto_sign_only_for_portal_and_proactive(channel: str, auto_sign: bool, eligible: bool) -> None:
    """B§19-1: portal and proactive drafts are approved automatically, for assignments and refusals alike."""
    reasons = [] if eligible else [reason("not_a_recipient")]
    draft = draft_burial(channel=channel, eligible=eligible, reasons=reasons, date_of_death=date(2026, 2, 1))
    assert draft.auto_sign is auto_sign


@pytest.mark.law("B19-1.auto-only-portal-proactive")
def test_b19_1_auto_sign_channels_are_exactly_portal_and_proactive() -> None:
    """B§19-1: no other channel is signed automatically."""
    assert AUTO_SIGN_CHANNELS == {"portal", "proactive"}


def test_b19_1_amount_line_explains_the_mci_and_who_signs() -> None:
    """api.md Decisions: the explanation names the MCI, the multiple, their sources and who signs."""
    explained = draft_burial(channel="state_corp", eligible=True, reasons=[], date_of_death=date(2026, 2, 1))
    lines = {line.rule: line for line in explained.explanation}
    assert lines["amount"].facts["mci_kzt"] == 4325 and lines["amount"].facts["multiple"] == "35"
    assert lines["amount"].paragraph == "B§19-1" and lines["amount"].facts["sources"]
    assert lines["who_signs"].facts["signer"] == "specialist"


def test_b19_1_eligible_case_without_a_date_of_death_is_an_error_not_a_silent_refusal() -> None:
    """B§19-1: an assignment needs the date of death for the MCI; a broken event must fail loudly."""
    with pytest.raises(ValueError):
        draft_burial(channel="portal", eligible=True, reasons=[], date_of_death=None)


@pytest.mark.law("B19-1.payee-safety")
@pytest.mark.parametrize(
    ("owned", "kinship", "why"),
    [
        (False, None, "not the applicant's own in the banks' registry; the registries show no kinship"),
        (False, "spouse", "not the applicant's own in the banks' registry"),
        (True, None, "no kinship of the applicant to the deceased"),
        (None, "child", "not the applicant's own in the banks' registry"),  # an older event without the fact
    ],
)
@pytest.mark.parametrize("channel", ["portal", "proactive"])
def test_payee_safety_sends_a_strangers_or_a_foreign_account_assignment_to_a_specialist(
    channel: str, owned: bool | None, kinship: str | None, why: str
) -> None:
    """Project decision (payee safety): the system assigns only to the applicant's own account and, for burial, to a
    relative; otherwise the eligible draft waits for a specialist, and who_signs says why."""
    proposal = draft_burial(channel=channel, eligible=True, reasons=[], date_of_death=date(2026, 2, 1), owned=owned,
                            kinship=kinship)
    assert (proposal.outcome, proposal.auto_sign) == ("assign", False)
    [line] = [x for x in proposal.explanation if x.rule == "who_signs"]
    assert line.facts["signer"] == "specialist" and why in line.facts["why"]
    assert "project decision" in line.paragraph


def test_payee_safety_does_not_hold_back_an_automatic_refusal() -> None:
    """B§19-1: a refusal pays nobody, so the system still signs it whoever applied."""
    proposal = draft_burial(channel="portal", eligible=False, reasons=[reason("not_a_recipient")],
                            date_of_death=date(2026, 2, 1), owned=False, kinship=None)
    assert (proposal.outcome, proposal.auto_sign) == ("refuse", True)
