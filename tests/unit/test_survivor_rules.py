"""Survivor eligibility rules, table-first: each dependant on its own (S§6, S§7, S§24)."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest

from common.dates import add_years
from common.events import ApplicationData
from common.identifiers import make_iin
from services.eligibility.domain.survivor import DependantRecords, SurvivorCase, evaluate

APPLIED = date(2026, 11, 16)
DECEASED = make_iin(date(1975, 1, 1), "M", 11)
MOTHER = make_iin(date(1980, 1, 1), "F", 12)
GRANDMOTHER = make_iin(date(1950, 1, 1), "F", 13)
DEATH_RECORD = {"iin": DECEASED, "date": "2026-09-14"}
Row = dict[str, Any]


def child(born: date, *, birth_record: bool = True, died: bool = False, studies: tuple[Row, ...] = (),
          disabled_on: date | None = None, serial: int = 100, mother: str = MOTHER,
          father: str = DECEASED, adopted_by: str | None = None) -> DependantRecords:
    iin = make_iin(born, "M", serial)
    births = ({"child_iin": iin, "mother_iin": mother, "father_iin": father, "date": born.isoformat()},)
    established = disabled_on.isoformat() if disabled_on else ""
    disabled = {"iin": iin, "group": 2, "cause": "childhood", "established_on": established}
    return DependantRecords(
        iin=iin,
        person={"iin": iin, "birth_date": born.isoformat()},
        death={"iin": iin, "date": "2026-01-01"} if died else None,
        births=births if birth_record else (),
        adoptions=({"child_iin": iin, "parent_iin": adopted_by, "date": "2020-01-01"},) if adopted_by else (),
        disabilities=(disabled,) if disabled_on else (),
        studies=studies,
    )


def case(*dependants: DependantRecords, death: Row | None = DEATH_RECORD, declarations: tuple[Row, ...] = (),
         documents: tuple[Row, ...] = (), deceased_births: tuple[Row, ...] = ()) -> SurvivorCase:
    application = ApplicationData.model_validate({
        "application_id": uuid.uuid4(), "benefit": "survivor", "channel": "state_corp", "status": "registered",
        "received_at": datetime(2026, 11, 16, 5, tzinfo=timezone.utc), "received_on": APPLIED,
        "applicant": {"iin": MOTHER}, "deceased_iin": DECEASED, "dependants": [d.iin for d in dependants],
        "iban": "KZ86125KZT5004100100", "documents": list(documents),
    })
    return SurvivorCase(application, death, declarations, deceased_births, (), dependants, "KZ86125KZT5004100100")


def study(start: str = "2024-09-01", form: str = "full_time", end: str | None = None) -> tuple[Row, ...]:
    return ({"iin": "-", "form": form, "from": start, "to": end},)


def born_aged(years: int, days_after_birthday: int = 0) -> date:
    """A birth date such that on APPLIED the person is `years` old, `days_after_birthday` past the birthday."""
    return add_years(APPLIED - timedelta(days=days_after_birthday), -years)


def one(dep: DependantRecords, **changes: Any) -> Row:
    [judged] = evaluate(case(dep, **changes)).facts["dependants"]
    return judged


def requested(result: Any) -> list[tuple[str, str | None]]:
    return [(d["type"], d["about"]) for d in result.requested_documents]


def certificate(about: str, form: str = "full_time", valid_until: str = "2027-06-30") -> Row:
    return {"type": "education_certificate", "about": about, "facts": {"form": form, "valid_until": valid_until}}


@pytest.mark.law("S7.student-18-23-full-time", "S7.student-upper-bound", "S7.dependant-bases")
@pytest.mark.parametrize(
    ("born", "studies", "disabled_on", "eligible", "basis"),
    [
        (born_aged(17, 364), (), None, True, "minor"),  # the day before the 18th birthday
        (born_aged(18), study(), None, True, "student"),  # on the 18th birthday: needs full-time study
        (born_aged(18), study(form="distance"), None, False, None),  # distance study does not count
        (born_aged(22, 364), study(), None, True, "student"),  # the day before the 23rd birthday
        (born_aged(23), study(), None, False, None),  # on the 23rd birthday: no longer
        (born_aged(30), (), add_years(born_aged(30), 10), True, "disabled_before_18"),  # disabled at 10, now 30
        (born_aged(20), study(end="2026-06-30"), None, False, None),  # the study ended before the application
        (born_aged(20), study(end=APPLIED.isoformat()), None, True, "student"),  # ends on the application day
    ],
)
def test_each_dependant_on_its_own_age_study_disability(born: date, studies: tuple[Row, ...], disabled_on: date | None,
                                                       eligible: bool, basis: str | None) -> None:
    """S§7: under 18; 18 up to the day before the 23rd birthday in full-time study; disabled before 18 at any age."""
    judged = one(child(born, studies=studies, disabled_on=disabled_on))
    assert (judged["eligible"], judged["basis"]) == (eligible, basis)
    assert judged["reason_code"] == (None if eligible else "not_dependant")


@pytest.mark.law("S7.dependant-bases")
@pytest.mark.parametrize(("days_before_18", "eligible"), [(1, True), (0, False)])
def test_disabled_before_the_18th_birthday_not_on_it(days_before_18: int, eligible: bool) -> None:
    """S§7: disability established before 18 keeps a grown dependant eligible; on the 18th birthday it does not."""
    born = born_aged(30)
    judged = one(child(born, disabled_on=add_years(born, 18) - timedelta(days=days_before_18)))
    assert judged["eligible"] is eligible


@pytest.mark.parametrize(
    ("until", "eligible"),
    [
        (None, True),  # still disabled
        (APPLIED, True),  # in force through the application day
        (APPLIED - timedelta(days=1), False),  # the childhood disability ended the day before the application
        (date(2015, 1, 1), False),  # ended long ago: no longer a person with a disability
    ],
)
def test_disabled_before_18_means_disabled_on_the_application_day(until: date | None, eligible: bool) -> None:
    """S§7 (project decision): first established before 18 and a record still in force on the application day."""
    born = born_aged(30)
    dep = child(born, disabled_on=add_years(born, 10), serial=120)
    [record] = dep.disabilities
    judged = one(replace(dep, disabilities=(record | {"until": until.isoformat() if until else None},)))
    assert (judged["eligible"], judged["basis"]) == (eligible, "disabled_before_18" if eligible else None)


def test_a_disability_renewed_as_an_adult_keeps_its_childhood_start() -> None:
    """S§7: the first establishment before 18 counts when a later record (re-examination) is in force now."""
    born = born_aged(25)
    dep = child(born, disabled_on=add_years(born, 12), serial=121)
    [first] = dep.disabilities
    renewed = replace(dep, disabilities=(first | {"until": add_years(born, 19).isoformat()},
                                         first | {"established_on": add_years(born, 19).isoformat(), "until": None}))
    assert one(renewed)["basis"] == "disabled_before_18"


@pytest.mark.law("S6.documents-when-registry-lacks")
def test_a_student_without_any_study_record_is_asked_for_the_certificate() -> None:
    """S§7, Annex 2: the education certificate, issued yearly, when the databases hold no study."""
    dep = child(born_aged(19))
    result = evaluate(case(dep))
    assert requested(result) == [("education_certificate", dep.iin)]
    assert result.eligible is False and result.reasons == ()


@pytest.mark.law("S-Annex2.form-of-study", "S-Annex2.valid-for-academic-year", "S7.student-18-23-full-time")
@pytest.mark.parametrize(
    ("form", "valid_until", "eligible"),
    [
        ("full_time", "2027-06-30", True),
        ("full_time", APPLIED.isoformat(), True),  # valid through the application day
        ("full_time", "2026-06-30", False),  # last academic year's certificate
        ("distance", "2027-06-30", False),  # extramural study does not count
    ],
)
def test_education_certificate_proves_full_time_study(form: str, valid_until: str, eligible: bool) -> None:
    """S§7, Annex 2: the certificate stands in for the databases; it is not asked for again once it came."""
    dep = child(born_aged(19), serial=300)
    result = evaluate(case(dep, documents=(certificate(dep.iin, form, valid_until),)))
    assert result.eligible is eligible and result.requested_documents == ()
    assert [r["code"] for r in result.reasons] == ([] if eligible else ["not_dependant"])


def test_a_certificate_about_someone_else_proves_nothing_for_this_dependant() -> None:
    """S§7: a document counts for the person it is about."""
    dep, other = child(born_aged(19), serial=301), make_iin(date(2006, 1, 1), "F", 302)
    result = evaluate(case(dep, documents=(certificate(other),)))
    assert requested(result) == [("education_certificate", dep.iin)]


@pytest.mark.law("S6.documents-when-registry-lacks", "S6.query.civil.births")
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
    [line] = [line for line in result.explanation if line.rule == "kinship"]
    assert (line.subject, line.facts["before_cutoff"]) == (dep.iin, why == "cut-off")


def test_no_documents_are_asked_for_a_person_no_document_can_make_eligible() -> None:
    """S§7 (project decision): 25, not disabled, no birth record: not a dependant at once, nothing requested."""
    dep = child(born_aged(25), birth_record=False)
    result = evaluate(case(dep))
    assert result.requested_documents == ()
    assert [(r["code"], r["subject"]) for r in result.reasons] == [("not_dependant", dep.iin)]


def test_kinship_and_study_both_missing_are_asked_at_once() -> None:
    """S§7: the citizen learns every missing document in one request."""
    dep = child(born_aged(20), birth_record=False)
    assert requested(evaluate(case(dep))) == [("education_certificate", dep.iin), ("birth_certificate", dep.iin)]


@pytest.mark.law("S7.doc.kinship")
@pytest.mark.parametrize(
    ("facts", "kinship", "eligible"),
    [
        ({"child_iin": "-", "mother_iin": MOTHER, "father_iin": DECEASED}, "child", True),
        ({}, "child", True),  # the operator attached it as the proof of kinship
        ({"kinship": "grandchild", "mother_iin": MOTHER}, "grandchild", True),  # a parent born before the registry
        ({"mother_iin": MOTHER, "father_iin": GRANDMOTHER}, None, False),  # names parents unrelated to the deceased
    ],
)
def test_a_birth_certificate_shows_kinship_where_the_registry_has_none(facts: Row, kinship: str | None,
                                                                      eligible: bool) -> None:
    """S§7: a document proving kinship (birth, paternity) about that dependant."""
    dep = child(born_aged(10), birth_record=False, serial=310)
    judged = one(dep, documents=({"type": "birth_certificate", "about": dep.iin, "facts": facts},))
    assert (judged["kinship"], judged["eligible"]) == (kinship, eligible)


@pytest.mark.law("S7.doc.kinship", "S-Std8.no-documents-when-registries-hold")
def test_kinship_through_the_registries() -> None:
    """S§7: the deceased's child, adopted child, grandchild (through the parent's birth) and sibling."""
    own = child(born_aged(10), serial=320)
    adopted = child(born_aged(11), birth_record=False, adopted_by=DECEASED, serial=321)
    son = make_iin(date(1998, 1, 1), "M", 322)
    grandchild = child(born_aged(3), mother=MOTHER, father=son, serial=323)
    sibling = child(born_aged(16), mother=GRANDMOTHER, father=make_iin(date(1950, 1, 1), "M", 324), serial=325)
    stranger = child(born_aged(5), mother=MOTHER, father=make_iin(date(1979, 1, 1), "M", 326), serial=327)
    deceased_births = (
        {"child_iin": son, "mother_iin": None, "father_iin": DECEASED, "date": "1998-01-01"},
        {"child_iin": DECEASED, "mother_iin": GRANDMOTHER, "father_iin": None, "date": "1975-01-01"},
    )
    result = evaluate(case(own, adopted, grandchild, sibling, stranger, deceased_births=deceased_births))
    kinds = {d["iin"]: d["kinship"] for d in result.facts["dependants"]}
    assert [kinds[d.iin] for d in (own, adopted, grandchild, sibling, stranger)] == [
        "child", "adopted", "grandchild", "sibling", None]
    assert requested(result) == [("birth_certificate", stranger.iin)]


@pytest.mark.law("S6.query.civil.child-deaths", "S-Std9.ground2.requirements-not-met")
def test_a_dead_child_is_not_a_dependant_and_is_named() -> None:
    """S§6: children's death records (after 1 May 2008); the reason names that person."""
    alive, dead = child(born_aged(10), serial=401), child(born_aged(12), died=True, serial=402)
    result = evaluate(case(alive, dead))
    assert result.eligible is True
    assert [(r["code"], r["subject"]) for r in result.reasons] == [("not_dependant", dead.iin)]
    assert result.facts["eligible_dependants"] == [alive.iin]
    assert any(line.subject == dead.iin and line.outcome == "fail" for line in result.explanation)


@pytest.mark.law("S-Std9.ground2.requirements-not-met")
def test_nobody_eligible_is_a_refusal_naming_each() -> None:
    """S-Std p.9 ground 2: each listed person who is not eligible gets its own reason."""
    a, b = child(born_aged(25), serial=501), child(born_aged(24), serial=502)
    result = evaluate(case(a, b))
    assert result.eligible is False and result.requested_documents == ()
    assert sorted(r["subject"] for r in result.reasons) == sorted([a.iin, b.iin])


def test_one_eligible_and_one_waiting_for_documents_is_not_yet_eligible() -> None:
    """S§7: eligible only when nothing is requested (the decision waits for the documents)."""
    result = evaluate(case(child(born_aged(10), serial=510), child(born_aged(19), serial=511)))
    assert result.eligible is False and result.reasons == ()
    assert [d["eligible"] for d in result.facts["dependants"]] == [True, False]


@pytest.mark.law("S24.right-arises", "S7.doc.death-or-court-decision")
@pytest.mark.parametrize(
    ("death", "declarations", "documents", "arose", "source"),
    [
        (DEATH_RECORD, (), (), "2026-09-14", "death_record"),
        (None, ({"iin": DECEASED, "kind": "missing", "date": "2026-03-01"},), (), "2026-03-01", "court_declaration"),
        (None, ({"iin": DECEASED, "kind": "dead", "date": "2026-04-01"},), (), "2026-04-01", "court_declaration"),
        (None, (), ({"type": "court_decision", "about": DECEASED, "facts": {"date": "2026-02-01"}},), "2026-02-01",
         "document"),
        (None, (), ({"type": "death_certificate", "about": DECEASED, "facts": {"date": "2026-05-01"}},), "2026-05-01",
         "document"),
    ],
)
def test_right_arises_on_death_or_court_declaration(death: Row | None, declarations: tuple[Row, ...],
                                                    documents: tuple[Row, ...], arose: str, source: str) -> None:
    """S§24, domain.md project decision: the date of death, or of the court decision."""
    result = evaluate(case(child(born_aged(10)), death=death, declarations=declarations, documents=documents))
    assert (result.facts["right_arose_on"], result.facts["right_source"]) == (arose, source)
    assert result.eligible is True


@pytest.mark.law("S7.doc.death-or-court-decision", "S6.documents-when-registry-lacks")
def test_no_death_and_no_declaration_asks_for_the_certificate_or_the_court_decision() -> None:
    """S§7: the death certificate or the court decision declaring the breadwinner missing or dead."""
    result = evaluate(case(child(born_aged(10)), death=None))
    assert requested(result) == [("death_certificate", DECEASED), ("court_decision", DECEASED)]
    assert all("either" in d["reason"] for d in result.requested_documents)
    assert result.automated is False and result.eligible is False and result.reasons == ()


@pytest.mark.law("S-Std9.ground1.unreliable")
def test_a_death_document_without_a_date_leaves_the_breadwinner_not_deceased() -> None:
    """S§7: after the documents came, a death still unproven is a refusal, not another request."""
    documents = ({"type": "death_certificate", "about": DECEASED, "facts": {}},)
    result = evaluate(case(child(born_aged(10)), death=None, documents=documents))
    assert [r["code"] for r in result.reasons] == ["breadwinner_not_deceased"]
    assert result.requested_documents == () and result.eligible is False


def test_a_refused_breadwinner_death_asks_nothing_more_about_the_dependants() -> None:
    """S§7 (project decision): with the death unproven after its documents, no dependant's document can help."""
    documents = ({"type": "death_certificate", "about": DECEASED, "facts": {}},)
    student = child(born_aged(19), serial=340)
    result = evaluate(case(child(born_aged(10), serial=341), student, death=None, documents=documents))
    assert [r["code"] for r in result.reasons] == ["breadwinner_not_deceased"]
    assert (result.eligible, result.requested_documents) == (False, ())
    [line] = [line for line in result.explanation if line.rule == "documents_not_requested"]
    assert line.facts["withheld"] == [{"type": "education_certificate", "about": student.iin}]


def test_facts_follow_the_contract() -> None:
    """facts_contract survivor: the keys the decision service reads."""
    dep = child(born_aged(10), serial=601)
    facts = evaluate(case(dep)).facts
    assert set(facts) == {"received_on", "deceased_iin", "right_arose_on", "right_source", "dependants",
                          "eligible_dependants", "payee_iban", "payee_account_owned"}
    assert facts["dependants"] == [{"iin": dep.iin, "eligible": True, "basis": "minor", "kinship": "child",
                                    "birth_date": born_aged(10).isoformat(), "reason_code": None}]


@pytest.mark.parametrize(
    ("dep", "rule"),
    [
        (child(born_aged(10), serial=701), "minor"),
        (child(born_aged(20), studies=study(), serial=702), "full_time_study"),
        (child(born_aged(30), disabled_on=add_years(born_aged(30), 5), serial=703), "disabled_before_18"),
    ],
)
def test_an_eligible_dependant_shows_one_basis_line_and_no_failed_line(dep: DependantRecords, rule: str) -> None:
    """S§7: one line for the basis that holds, so the specialist sees no failed line for an eligible person."""
    lines = [line for line in evaluate(case(dep)).explanation if line.subject == dep.iin]
    assert {line.outcome for line in lines} == {"pass"}
    assert [line.rule for line in lines if line.rule in ("minor", "full_time_study", "disabled_before_18")] == [rule]


def test_no_basis_is_one_failed_line_saying_what_was_looked_at() -> None:
    """S§7: the distance student's line names the form of study found and the one that counts."""
    dep = child(born_aged(20), studies=study(form="distance"), serial=704)
    [line] = [line for line in evaluate(case(dep)).explanation if line.subject == dep.iin and line.outcome == "fail"]
    assert (line.rule, line.facts["study_forms_on_application_day"], line.facts["counted_form"]) == (
        "dependant_basis", ["distance"], "full_time")
