"""Survivor eligibility rules, table-first: each dependant on its own (S§6, S§7, S§24)."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timezone
from typing import Any

import pytest

from common.events import ApplicationData
from common.identifiers import make_iin
from services.eligibility.domain.model import add_years
from services.eligibility.domain.survivor import DependantRecords, SurvivorCase, evaluate

APPLIED = date(2026, 11, 16)
DECEASED = make_iin(date(1975, 1, 1), "M", 11)
MOTHER = make_iin(date(1980, 1, 1), "F", 12)


def child(born: date, *, birth_record: bool = True, died: bool = False, studies: tuple[dict[str, Any], ...] = (),
          disabled_on: date | None = None, serial: int = 100) -> DependantRecords:
    iin = make_iin(born, "M", serial)
    births = ({"child_iin": iin, "mother_iin": MOTHER, "father_iin": DECEASED, "date": born.isoformat()},) if birth_record else ()
    disabilities = ({"iin": iin, "group": 2, "cause": "childhood", "established_on": disabled_on.isoformat()},) if disabled_on else ()
    return DependantRecords(
        iin=iin,
        person={"iin": iin, "birth_date": born.isoformat()},
        death={"iin": iin, "date": "2026-01-01"} if died else None,
        births=births,
        adoptions=(),
        disabilities=disabilities,
        studies=studies,
    )


def case(*dependants: DependantRecords, death: dict[str, Any] | None = None, declarations: tuple[dict[str, Any], ...] = (),
         documents: tuple[dict[str, Any], ...] = ()) -> SurvivorCase:
    application = ApplicationData.model_validate({
        "application_id": uuid.uuid4(), "benefit": "survivor", "channel": "state_corp", "status": "registered",
        "received_at": datetime(2026, 11, 16, 5, tzinfo=timezone.utc), "received_on": APPLIED,
        "applicant": {"iin": MOTHER}, "deceased_iin": DECEASED, "dependants": [d.iin for d in dependants],
        "iban": "KZ86125KZT5004100100", "documents": list(documents),
    })
    return SurvivorCase(application, death if death is not None or declarations or documents else {"iin": DECEASED, "date": "2026-09-14"},
                        declarations, (), (), dependants, "KZ86125KZT5004100100")


def full_time(start: str = "2024-09-01", form: str = "full_time") -> tuple[dict[str, Any], ...]:
    return ({"iin": "-", "form": form, "from": start, "to": None},)


def born_aged(years: int, days_after_birthday: int = 0) -> date:
    """A birth date such that on APPLIED the person is `years` old, `days_after_birthday` past the birthday."""
    from datetime import timedelta

    return add_years(APPLIED - timedelta(days=days_after_birthday), -years)


def one(dep: DependantRecords) -> dict[str, Any]:
    [judged] = evaluate(case(dep)).facts["dependants"]
    return judged


@pytest.mark.parametrize(
    ("born", "studies", "disabled_on", "eligible", "basis"),
    [
        (born_aged(17, 364), (), None, True, "minor"),  # the day before the 18th birthday
        (born_aged(18), full_time(), None, True, "student"),  # on the 18th birthday: needs full-time study
        (born_aged(18), full_time(form="distance"), None, False, None),  # distance study does not count
        (born_aged(22, 364), full_time(), None, True, "student"),  # the day before the 23rd birthday
        (born_aged(23), full_time(), None, False, None),  # on the 23rd birthday: no longer
        (born_aged(30), (), add_years(born_aged(30), 10), True, "disabled_before_18"),  # disabled at 10, now 30
    ],
)
def test_each_dependant_on_its_own_age_study_disability(born: date, studies: tuple[dict[str, Any], ...], disabled_on: date | None,
                                                       eligible: bool, basis: str | None) -> None:
    """S§7: under 18; 18 up to the day before the 23rd birthday in full-time study; disabled before 18 at any age."""
    judged = one(child(born, studies=studies, disabled_on=disabled_on))
    assert (judged["eligible"], judged["basis"]) == (eligible, basis)


@pytest.mark.parametrize(("days_before_18", "eligible"), [(1, True), (0, False)])
def test_disabled_before_the_18th_birthday_not_on_it(days_before_18: int, eligible: bool) -> None:
    """S§7: disability established before 18 keeps a grown dependant eligible; on the 18th birthday it does not."""
    from datetime import timedelta

    born = born_aged(30)
    judged = one(child(born, disabled_on=add_years(born, 18) - timedelta(days=days_before_18)))
    assert judged["eligible"] is eligible


def test_a_student_without_any_study_record_is_asked_for_the_certificate() -> None:
    """S§7, Annex 2: the education certificate, issued yearly, when the databases hold no study."""
    dep = child(born_aged(19))
    result = evaluate(case(dep))
    assert [(d["type"], d["about"]) for d in result.requested_documents] == [("education_certificate", dep.iin)]
    assert result.eligible is False and result.reasons == ()


def test_education_certificate_document_proves_study() -> None:
    """S§7: the certificate stands in for the databases."""
    dep = child(born_aged(19), serial=300)
    doc = {"type": "education_certificate", "about": dep.iin, "facts": {"form": "full_time", "valid_until": "2027-06-30"}}
    assert evaluate(case(dep, documents=(doc,), death={"iin": DECEASED, "date": "2026-09-14"})).eligible is True


@pytest.mark.parametrize(
    ("born", "why"),
    [
        (date(2007, 8, 13), "cut-off"),  # born on the cut-off day: the record is not expected in the registry
        (date(2007, 8, 14), "holds no record"),  # after it: simply absent
    ],
)
def test_missing_kinship_record_asks_for_the_birth_certificate(born: date, why: str) -> None:
    """S§6: births registered after 13 Aug 2007 are in the civil registry; otherwise the certificate (S§7)."""
    dep = child(born, birth_record=False, disabled_on=date(2010, 1, 1))
    result = evaluate(case(dep))
    [request] = result.requested_documents
    assert (request["type"], request["about"]) == ("birth_certificate", dep.iin)
    assert why in request["reason"]


def test_a_dead_child_is_not_a_dependant_and_is_named() -> None:
    """S§6: children's death records (after 1 May 2008); the reason names that person."""
    alive, dead = child(born_aged(10), serial=401), child(born_aged(12), died=True, serial=402)
    result = evaluate(case(alive, dead))
    assert result.eligible is True
    assert [(r["code"], r["subject"]) for r in result.reasons] == [("not_dependant", dead.iin)]
    assert result.facts["eligible_dependants"] == [alive.iin]


def test_nobody_eligible_is_a_refusal_naming_each() -> None:
    """S-Std p.9 ground 2: each listed person who is not eligible gets its own reason."""
    a, b = child(born_aged(25), serial=501), child(born_aged(24), serial=502)
    result = evaluate(case(a, b))
    assert result.eligible is False and result.requested_documents == ()
    assert sorted(r["subject"] for r in result.reasons) == sorted([a.iin, b.iin])


@pytest.mark.parametrize(
    ("death", "declarations", "arose", "source"),
    [
        ({"iin": DECEASED, "date": "2026-09-14"}, (), "2026-09-14", "death_record"),
        ({}, ({"iin": DECEASED, "kind": "missing", "date": "2026-03-01"},), "2026-03-01", "court_declaration"),
    ],
)
def test_right_arises_on_death_or_court_declaration(death: dict[str, Any], declarations: tuple[dict[str, Any], ...], arose: str, source: str) -> None:
    """S§24, domain.md project decision: the date of death, or of the court decision."""
    result = evaluate(case(child(born_aged(10)), death=death or None, declarations=declarations))
    assert (result.facts["right_arose_on"], result.facts["right_source"]) == (arose, source)


def test_no_death_and_no_declaration_asks_for_the_certificate() -> None:
    """S§7: the death certificate or the court decision declaring the breadwinner missing or dead."""
    result = evaluate(SurvivorCase(case(child(born_aged(10))).application, None, (), (), (), (child(born_aged(10)),), None))
    assert [d["type"] for d in result.requested_documents] == ["death_certificate"]
    assert result.automated is False
