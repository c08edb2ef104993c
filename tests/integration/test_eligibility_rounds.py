"""Eligibility's facts contract per benefit and its documents rounds, on a fresh database with the real sandbox."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timezone

import pytest
from sqlalchemy import select

from common.envelope import Envelope
from common.events import EligibilityChecked
from services.eligibility import handlers
from services.eligibility.adapters.orm import Check, messaging
from tests.integration import test_eligibility as _shared
from tests.integration.helpers import (
    DIED,
    IBAN,
    application_data,
    application_event,
    deceased_fixtures,
    make_due_now,
    new_iin,
    outbox_events,
)

# The same database and registries fixtures as test_eligibility.py.
sessions = _shared.sessions
registries = _shared.registries
APPLIED = date(2026, 11, 2)  # RECEIVED_AT's day in Almaty


async def deliver(sessions, name: str, data: dict) -> Envelope:
    event = application_event(name, data)
    handler = {
        "application.received": handlers.on_application_received,
        "application.documents_provided": handlers.on_documents_provided,
    }[name]
    async with sessions() as session, session.begin():
        await handler(session, event)
    return event


async def results(sessions) -> list[EligibilityChecked]:
    return [EligibilityChecked.of(e) for e in await outbox_events(sessions, messaging)]


async def rounds(sessions, application_id: str) -> list[tuple[int, str]]:
    async with sessions() as session:
        query = select(Check.round, Check.status).where(Check.application_id == uuid.UUID(application_id))
        rows = await session.execute(query.order_by(Check.round))
    return [(r, s) for r, s in rows.all()]


def person(iin: str, born: str) -> dict:
    return {"iin": iin, "last_name": "Омарова", "first_name": "Айгүл", "birth_date": born}


async def test_disability_facts_contract_on_the_automated_path(sessions, sandbox, registries):
    """D§4, D§7, D§20-1: a record in force from general illness, an account from the banks: eligible, automated."""
    applicant = new_iin(date(1985, 4, 12), "F")
    await sandbox.seed(
        persons=[person(applicant, "1985-04-12")],
        disabilities=[{"iin": applicant, "group": 2, "cause": "general_illness", "established_on": "2026-09-01"}],
        bank_accounts=[{"iin": applicant, "iban": IBAN}],
    )
    data = application_data(benefit="disability", channel="portal", applicant_iin=applicant, iban=None,
                            also_apply_for=("special_state_disability",))
    await deliver(sessions, "application.received", data)

    assert await handlers.run_one_check(sessions, registries) == 1
    [result] = await results(sessions)
    assert (result.benefit, result.round, result.eligible, result.automated) == ("disability", 1, True, True)
    assert result.requested_documents == () and result.reasons == ()
    assert result.facts == {
        "received_on": APPLIED.isoformat(), "applicant_iin": applicant, "applicant_birth_date": "1985-04-12",
        "cause": "general_illness", "group": 2, "established_on": "2026-09-01", "until": None,
        "disability_source": "registry", "first_time": True, "payee_iban": IBAN,
        "payee_account_owned": True, "also_apply_for": ["special_state_disability"],
    }
    asked = {e.query for e in result.evidence}
    assert {"persons", "civil.deaths", "disabilities", "bank_accounts", "civil.births", "civil.marriages",
            "education.guardianships", "civil.adoptions"} <= asked
    assert any(line.paragraph == "D§4" and line.outcome == "pass" for line in result.explanation)


async def test_disability_certificate_round_keeps_the_document_as_evidence_with_its_time(sessions, sandbox, registries):
    """D§7, D-Std p.8: no record → the certificate is requested; with it attached, round 2 is eligible."""
    applicant = new_iin(date(1979, 3, 3), "M")
    await sandbox.seed(persons=[person(applicant, "1979-03-03")])
    data = application_data(benefit="disability", channel="state_corp", applicant_iin=applicant)
    await deliver(sessions, "application.received", data)
    await handlers.run_one_check(sessions, registries)
    [first] = await results(sessions)
    assert (first.round, first.eligible, first.automated, first.reasons) == (1, False, False, ())
    assert [(d.type, d.about) for d in first.requested_documents] == [("disability_certificate", applicant)]

    certificate = {
        "type": "disability_certificate", "number": "MSE-2026-000417", "issued_on": "2026-10-01",
        "about": applicant, "facts": {"group": 3, "cause": "general_illness", "established_on": "2026-10-01"},
        "attached_at": "2026-11-03T05:00:00+00:00", "attached_by": "operator-1",
    }
    await deliver(sessions, "application.documents_provided",
                  data | {"status": "awaiting_documents", "documents": [certificate]})
    assert await handlers.run_one_check(sessions, registries) == 1
    assert await rounds(sessions, data["application_id"]) == [(1, "done"), (2, "done")]
    _, second = await results(sessions)
    assert (second.round, second.eligible, second.automated) == (2, True, False)
    assert second.requested_documents == ()
    assert (second.facts["disability_source"], second.facts["group"]) == ("document", 3)
    [document] = [e for e in second.evidence if e.source == "document"]
    assert document.registry == "document:disability_certificate" and document.answer["number"] == "MSE-2026-000417"
    assert document.received_at == datetime(2026, 11, 3, 5, tzinfo=timezone.utc)


def family(died: str | None = DIED) -> tuple[dict, dict]:
    """A deceased father, the mother applying, a child of 10, a student of 20 and a distance student of 21."""
    father, mother = new_iin(date(1975, 1, 1)), new_iin(date(1978, 2, 2), "F")
    kids = {age: new_iin(date(2026 - age, 3, 3)) for age in (10, 20, 21)}
    fixtures = {
        "persons": [person(father, "1975-01-01"), person(mother, "1978-02-02")]
        + [person(iin, f"{2026 - age}-03-03") for age, iin in kids.items()],
        "births": [
            {"child_iin": iin, "mother_iin": mother, "father_iin": father, "date": f"{2026 - age}-03-03"}
            for age, iin in kids.items()
        ],
        "studies": [
            {"iin": kids[20], "form": "full_time", "from": "2024-09-01", "to": None},
            {"iin": kids[21], "form": "distance", "from": "2024-09-01", "to": None},
        ],
    }
    if died:
        fixtures["deaths"] = [{"iin": father, "date": died}]
    return {"father": father, "mother": mother, "kids": kids}, fixtures


async def test_survivor_facts_contract_and_registries_asked(sessions, sandbox, registries):
    """S§6, S§7, S§24: the death record starts the right; the distance student is named as not a dependant."""
    fam, fixtures = family()
    await sandbox.seed(**fixtures)
    kids = fam["kids"]
    data = application_data(benefit="survivor", channel="portal", applicant_iin=fam["mother"],
                            deceased_iin=fam["father"], dependants=tuple(kids.values()))
    await deliver(sessions, "application.received", data)

    assert await handlers.run_one_check(sessions, registries) == 1
    [result] = await results(sessions)
    assert (result.eligible, result.automated, result.requested_documents) == (True, False, ())
    assert [(r.code, r.subject) for r in result.reasons] == [("not_dependant", kids[21])]
    facts = result.facts
    assert (facts["right_arose_on"], facts["right_source"], facts["payee_iban"]) == (DIED, "death_record", IBAN)
    assert facts["eligible_dependants"] == [kids[10], kids[20]]
    assert [(d["basis"], d["kinship"]) for d in facts["dependants"]] == [("minor", "child"), ("student", "child"),
                                                                          (None, "child")]
    assert any(line.subject == kids[21] and line.outcome == "fail" for line in result.explanation)
    asked = {e.query for e in result.evidence}
    assert {"civil.deaths", "courts.declarations", "persons", "civil.births", "civil.adoptions", "disabilities",
            "education.studies", "education.guardianships"} <= asked


@pytest.mark.law("S7.doc.death-or-court-decision", "S24.right-arises")
async def test_survivor_without_a_death_record_waits_for_the_court_decision(sessions, sandbox, registries):
    """S§7, S§24: no death record nor declaration → documents; the court decision attached starts the right."""
    fam, fixtures = family(died=None)
    await sandbox.seed(**fixtures)
    data = application_data(benefit="survivor", channel="state_corp", applicant_iin=fam["mother"],
                            deceased_iin=fam["father"], dependants=(fam["kids"][10],))
    await deliver(sessions, "application.received", data)
    await handlers.run_one_check(sessions, registries)
    [first] = await results(sessions)
    assert first.eligible is False and first.reasons == ()
    assert {d.type for d in first.requested_documents} == {"death_certificate", "court_decision"}

    decision = {"type": "court_decision", "about": fam["father"], "facts": {"kind": "missing", "date": "2026-06-15"}}
    await deliver(sessions, "application.documents_provided", data | {"documents": [decision]})
    await handlers.run_one_check(sessions, registries)
    _, second = await results(sessions)
    assert (second.round, second.eligible) == (2, True)
    assert (second.facts["right_arose_on"], second.facts["right_source"]) == ("2026-06-15", "document")


@pytest.mark.law("B-Std8.doc.death-certificate-or-foreign")
async def test_burial_at_the_desk_a_death_certificate_round(sessions, sandbox, registries):
    """B-Std p.8: no death record at the desk → the certificate; with it the date of death comes from the document."""
    deceased = new_iin(date(1941, 7, 7))
    fixtures = deceased_fixtures(deceased)
    del fixtures["deaths"]
    await sandbox.seed(**fixtures)
    data = application_data(channel="state_corp", deceased_iin=deceased)
    await deliver(sessions, "application.received", data)
    await handlers.run_one_check(sessions, registries)
    [first] = await results(sessions)
    assert (first.eligible, first.reasons, first.automated) == (False, (), False)
    assert [(d.type, d.about) for d in first.requested_documents] == [("death_certificate", deceased)]

    certificate = {"type": "death_certificate", "foreign": True, "apostille": True, "about": deceased,
                   "facts": {"date": DIED}}
    await deliver(sessions, "application.documents_provided", data | {"documents": [certificate]})
    await handlers.run_one_check(sessions, registries)
    _, second = await results(sessions)
    assert (second.round, second.eligible, second.automated) == (2, True, False)
    assert (second.facts["date_of_death"], second.facts["death_source"]) == (DIED, "document")
    assert second.facts["recipient_kind"] == "age_pension"


async def test_an_outage_during_a_survivor_documents_round_only_delays_it(sessions, sandbox, registries):
    """Guarantee 4: round 2 waits through the outage and then runs; round 1's result stands meanwhile."""
    fam, fixtures = family(died=None)
    await sandbox.seed(**fixtures)
    data = application_data(benefit="survivor", channel="state_corp", applicant_iin=fam["mother"],
                            deceased_iin=fam["father"], dependants=(fam["kids"][10],))
    await deliver(sessions, "application.received", data)
    await handlers.run_one_check(sessions, registries)
    certificate = {"type": "death_certificate", "about": fam["father"], "facts": {"date": "2026-07-01"}}
    await deliver(sessions, "application.documents_provided", data | {"documents": [certificate]})

    await sandbox.fail_next("egov", 3)
    before = datetime.now(timezone.utc)
    assert await handlers.run_one_check(sessions, registries) == 1
    async with sessions() as session:
        check = await session.get(Check, (uuid.UUID(data["application_id"]), 2))
    assert (check.status, check.attempts) == ("pending", 1) and check.next_attempt_at > before
    assert len(await results(sessions)) == 1  # nothing refused, nothing new
    assert await handlers.run_one_check(sessions, registries) == 0

    await sandbox.clear_faults()
    await make_due_now(sessions, Check, application_id=uuid.UUID(data["application_id"]), round=2)
    assert await handlers.run_one_check(sessions, registries) == 1
    _, second = await results(sessions)
    assert (second.round, second.eligible, second.facts["right_arose_on"]) == (2, True, "2026-07-01")
