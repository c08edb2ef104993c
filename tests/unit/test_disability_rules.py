"""Disability eligibility rules, table-first (D§4, D§7, D§20-1, D§21-1, D-Std p.2, p.9)."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timezone
from typing import Any

import pytest

from common.events import ApplicationData
from services.eligibility.domain.disability import (
    DisabilityCase,
    DisabilityRecord,
    certificates,
    evaluate,
    record_in_force,
)

APPLIED = date(2026, 11, 16)
APPLICANT = "850412312456"
CERTIFICATE_FACTS = {"group": 2, "cause": "general_illness", "established_on": "2026-10-01"}


def application(channel: str = "portal", **changes: Any) -> ApplicationData:
    data: dict[str, Any] = {
        "application_id": uuid.uuid4(), "benefit": "disability", "channel": channel, "status": "registered",
        "received_at": datetime(2026, 11, 16, 5, tzinfo=timezone.utc), "received_on": APPLIED,
        "applicant": {"iin": APPLICANT}, "iban": "KZ86125KZT5004100100",
    }
    return ApplicationData.model_validate(data | changes)


def record(cause: str | None = "general_illness", established: date = date(2026, 10, 1), until: date | None = None,
           group: int | None = 2, source: str = "registry") -> DisabilityRecord:
    return DisabilityRecord(group, cause, established, until, source)


def case(*records: DisabilityRecord, channel: str = "portal", deceased: bool = False, known: bool = True,
         iban: str | None = "KZ86125KZT5004100100", owned: bool | None = True, **app: Any) -> DisabilityCase:
    return DisabilityCase(application(channel, **app), known, date(1985, 4, 12), deceased, tuple(records), iban, owned)


def codes(evaluation: Any) -> list[str]:
    return [r["code"] for r in evaluation.reasons]


@pytest.mark.law("D21-1.auto-only-general-illness-work-injury")
@pytest.mark.parametrize(
    ("channel", "cause", "automated"),
    [
        ("portal", "general_illness", True),  # D§20-1
        ("proactive", "work_injury", True),  # D§21-1
        ("portal", "childhood", False),  # another cause: a specialist signs
        ("portal", "child", False),
        ("state_corp", "general_illness", False),  # desk: always a specialist
        ("provider", "general_illness", False),
    ],
)
def test_automated_path_only_for_general_illness_or_work_injury_via_portal_or_proactive(
    channel: str, cause: str, automated: bool
) -> None:
    """D§20-1, D§21-1: the cause and the channel together open the automated path."""
    result = evaluate(case(record(cause), channel=channel))
    assert result.automated is automated
    assert result.eligible is True


@pytest.mark.parametrize(
    ("until", "eligible"),
    [
        (date(2026, 11, 15), False),  # ended the day before the application
        (date(2026, 11, 16), True),  # ends on the application day: still in force
        (None, True),
    ],
)
def test_record_in_force_on_the_application_date(until: date | None, eligible: bool) -> None:
    """D§4: a disability established and in force on the date of application."""
    result = evaluate(case(record(until=until)))
    assert result.eligible is eligible
    if not eligible:
        assert codes(result) == ["no_disability"]


def test_established_after_the_application_does_not_count() -> None:
    """D§4: the right arises from the establishment date."""
    assert codes(evaluate(case(record(established=date(2026, 11, 17))))) == ["no_disability"]


@pytest.mark.law(
    "D21-1.auto-refusal-missing-data", "D20-1.failed-check-auto-refusal", "D-Std9.ground2.requirements-not-met",
)
def test_automated_path_refuses_when_the_record_is_missing() -> None:
    """D§20-1: a refusal when the case file lacks data; no documents are asked on the automated path."""
    result = evaluate(case(channel="proactive"))
    assert (result.eligible, codes(result), result.requested_documents) == (False, ["no_disability"], ())
    assert result.automated is True  # the system signs the refusal


@pytest.mark.law("D7.documents-when-registry-lacks")
@pytest.mark.parametrize("channel", ["state_corp", "provider"])
def test_a_person_deciding_asks_for_the_certificate_instead(channel: str) -> None:
    """D§7: where the registry has no record, the applicant attaches the disability certificate."""
    result = evaluate(case(channel=channel))
    assert result.eligible is False and codes(result) == []
    assert [(d["type"], d["about"]) for d in result.requested_documents] == [("disability_certificate", APPLICANT)]


@pytest.mark.law("D-Std8.doc.disability-certificate")
def test_a_certificate_stands_in_for_the_record() -> None:
    """D§7: the certificate's data decides when the registry is silent."""
    result = evaluate(case(record(source="document"), channel="state_corp"))
    assert result.eligible is True and result.facts["disability_source"] == "document"


@pytest.mark.law("D-Std9.ground1.unreliable", "D-Std8.doc.identity")
@pytest.mark.parametrize(
    ("known", "deceased", "expected"),
    [(False, False, "data_unreliable"), (True, True, "applicant_deceased")],
)
def test_applicant_must_be_known_and_alive(known: bool, deceased: bool, expected: str) -> None:
    """D-Std p.9 ground 1: the registries contradict the application."""
    assert expected in codes(evaluate(case(record(), known=known, deceased=deceased)))


@pytest.mark.parametrize(
    ("channel", "known", "deceased", "expected"),
    [
        ("state_corp", True, True, ["applicant_deceased"]),
        ("provider", True, True, ["applicant_deceased"]),
        ("state_corp", False, False, ["data_unreliable"]),
    ],
)
def test_no_certificate_is_asked_when_the_applicant_checks_fail(channel: str, known: bool, deceased: bool,
                                                                expected: list[str]) -> None:
    """D-Std p.9 ground 1 (project decision): a refusal at once, not a wait for a document that cannot help."""
    result = evaluate(case(channel=channel, known=known, deceased=deceased))
    assert (result.eligible, codes(result), result.requested_documents) == (False, expected, ())


@pytest.mark.law("D-Std2.provider-first-establishment", "D-Std9.ground2.requirements-not-met")
def test_provider_only_for_a_first_establishment() -> None:
    """D-Std p.2: the service provider accepts only when disability is established for the first time."""
    earlier = record(established=date(2020, 1, 1), until=date(2025, 1, 1))
    assert codes(evaluate(case(earlier, record(), channel="provider"))) == ["provider_not_first_time"]
    assert evaluate(case(record(), channel="provider")).eligible is True


@pytest.mark.law("D-Std9.ground2.requirements-not-met")
def test_automated_path_needs_an_account() -> None:
    """D-Std p.8: an account to pay to (the application's or the registry's)."""
    assert codes(evaluate(case(record(), iban=None, channel="portal"))) == ["no_payable_account"]


def test_facts_carry_what_the_decision_computes_from() -> None:
    """Facts contract (docs/events.md): cause, group, establishment, the choices of the one application."""
    result = evaluate(case(record("childhood", group=1), also_apply_for=["special_state_disability"]))
    assert result.facts["cause"] == "childhood" and result.facts["group"] == 1
    assert result.facts["established_on"] == "2026-10-01" and result.facts["applicant_birth_date"] == "1985-04-12"
    assert result.facts["also_apply_for"] == ["special_state_disability"]
    assert any(line.paragraph == "D§4" for line in result.explanation)


@pytest.mark.parametrize(
    ("records", "expected"),
    [
        # the latest establishment in force wins
        ((record(established=date(2024, 1, 1)), record(established=date(2026, 1, 1))), date(2026, 1, 1)),
        # a later one not yet in force does not
        ((record(established=date(2024, 1, 1)), record(established=date(2026, 12, 1))), date(2024, 1, 1)),
        # the registry's record before a certificate's, even an older one
        ((record(established=date(2024, 1, 1)), record(established=date(2026, 1, 1), source="document")),
         date(2024, 1, 1)),
        # a certificate where the registry has nothing in force
        ((record(established=date(2020, 1, 1), until=date(2021, 1, 1)), record(source="document")), date(2026, 10, 1)),
        ((), None),
    ],
)
def test_the_record_in_force(records: tuple[DisabilityRecord, ...], expected: date | None) -> None:
    """D§4, D§7: the establishment in force on the application date; a certificate only where the registry is silent."""
    found = record_in_force(records, APPLIED)
    assert (found.established_on if found else None) == expected


@pytest.mark.law("D-Std8.doc.disability-certificate")
@pytest.mark.parametrize(
    ("facts", "about", "counted"),
    [
        (CERTIFICATE_FACTS, APPLICANT, True),
        (CERTIFICATE_FACTS, None, True),  # about nobody named: the applicant
        (CERTIFICATE_FACTS, "990101300123", False),  # about another person
        ({"group": 2, "established_on": "2026-10-01"}, APPLICANT, False),  # no cause: the amount cannot follow
        ({"cause": "child", "established_on": "2026-10-01"}, APPLICANT, True),  # a child's disability has no group
        ({"group": 2, "cause": "general_illness"}, APPLICANT, False),  # no establishment date
    ],
)
def test_a_certificate_counts_with_its_cause_and_date(facts: dict[str, Any], about: str | None, counted: bool) -> None:
    """D§7, D-Std p.8 (project decision): the certificate's cause and establishment date stand in for the record."""
    doc = {"type": "disability_certificate", "about": about, "facts": facts}
    assert bool(certificates(application("state_corp", documents=[doc]))) is counted


def test_a_certificate_that_shows_nothing_in_force_is_refused_not_asked_again() -> None:
    """D§7 (project decision): the documents came; the specialist refuses instead of asking once more."""
    doc = {"type": "disability_certificate", "about": APPLICANT,
           "facts": {"group": 2, "cause": "general_illness", "established_on": "2020-01-01", "until": "2021-01-01"}}
    app = application("state_corp", documents=[doc])
    result = evaluate(DisabilityCase(app, True, date(1985, 4, 12), False, certificates(app), None))
    assert (codes(result), result.requested_documents, result.automated) == (["no_disability"], (), False)


@pytest.mark.law("D-Std2.provider-first-establishment")
@pytest.mark.parametrize(
    ("records", "first_time"),
    [
        ((record(),), True),
        ((record(established=date(2020, 1, 1), until=date(2025, 1, 1)), record()), False),
        # a re-examination the same day is not an earlier establishment
        ((record(until=date(2026, 10, 31)), record()), True),
    ],
)
def test_first_time_is_no_earlier_establishment(records: tuple[DisabilityRecord, ...], first_time: bool) -> None:
    """D-Std p.2: the provider takes a first establishment only; the fact travels to the decision."""
    assert evaluate(case(*records, channel="state_corp")).facts["first_time"] is first_time


def test_provider_without_a_record_asks_for_the_certificate() -> None:
    """D§7, D-Std p.2: the provider's specialist asks for the certificate; first time is judged when it comes."""
    result = evaluate(case(channel="provider"))
    assert codes(result) == [] and [d["type"] for d in result.requested_documents] == ["disability_certificate"]


@pytest.mark.law("D21-1.auto-only-general-illness-work-injury")
def test_occupational_disease_does_not_widen_the_automated_path() -> None:
    """D§20-1, D§21-1: only general illness or work injury; any other cause goes to a specialist."""
    result = evaluate(case(record("occupational_disease"), channel="portal"))
    assert result.automated is False and result.eligible is True


def test_a_person_deciding_needs_no_account_check() -> None:
    """D-Std p.8: the account is checked on the automated path; a specialist sees payee_iban null."""
    result = evaluate(case(record(), iban=None, channel="state_corp"))
    assert result.eligible is True and result.facts["payee_iban"] is None


@pytest.mark.law("D4.apply-any-time")
def test_there_is_no_deadline_to_apply() -> None:
    """D§4: the application may come any time after the right arises: an establishment of long ago, still in force,
    counts, and no rule refuses for the time passed (the arrears are capped by the decision instead, D4.period-start-cap)."""
    result = evaluate(case(record(established=date(2001, 3, 1))))
    assert result.eligible is True and codes(result) == []
    assert all(line.outcome != "fail" for line in result.explanation)
    assert "D4.apply-any-time" in {oid for line in result.explanation for oid in line.obligations}
