"""Eligibility for disability and survivor through the consumer and the worker, asking the real sandbox registries."""

from __future__ import annotations

import uuid
from datetime import date

import pytest
from sqlalchemy import select

from services.eligibility import handlers
from services.eligibility.adapters.orm import Check, messaging
from tests.integration import test_eligibility as _shared
from tests.integration.helpers import IBAN, application_data, application_event, new_iin, outbox_events

# The same database and registries fixtures as test_eligibility.py.
sessions = _shared.sessions
registries = _shared.registries

async def check(sessions, registries, name: str, data: dict) -> dict:
    async with sessions() as session, session.begin():
        handler = handlers.on_application_received if name == "application.received" else handlers.on_documents_provided
        await handler(session, application_event(name, data))
    assert await handlers.run_one_check(sessions, registries) == 1
    events = await outbox_events(sessions, messaging)
    return events[-1].data


@pytest.mark.law("D7.query.disability-db", "D-Std8.no-documents-when-registries-hold")
async def test_disability_on_the_portal_is_automated_with_the_record_as_evidence(sessions, sandbox, registries):
    """D§20-1: general illness via the portal; the ЦБДИ answer is kept as evidence (Annex 11)."""
    applicant = new_iin(date(1985, 4, 12))
    await sandbox.seed(
        persons=[{"iin": applicant, "last_name": "Омаров", "first_name": "Данияр", "birth_date": "1985-04-12"}],
        disabilities=[{"iin": applicant, "group": 2, "cause": "general_illness", "established_on": "2026-09-01"}],
        bank_accounts=[{"iin": applicant, "iban": IBAN}],  # the applicant's own account (payee safety)
    )
    data = application_data(benefit="disability", channel="portal", applicant_iin=applicant)
    result = await check(sessions, registries, "application.received", data)
    assert (result["eligible"], result["automated"], result["round"]) == (True, True, 1)
    assert result["facts"]["cause"] == "general_illness" and result["facts"]["group"] == 2
    assert {"persons", "disabilities", "civil.births"} <= {e["query"] for e in result["evidence"]}
    assert any(line["paragraph"] == "D§4" for line in result["explanation"])


@pytest.mark.law("D7.documents-when-registry-lacks", "D-Std8.doc.disability-certificate")
async def test_disability_at_the_desk_asks_for_the_certificate_then_decides_on_it_in_round_2(
    sessions, sandbox, registries
):
    """D§7: no record → the certificate is asked for; with it attached, the next round decides and keeps it."""
    applicant = new_iin(date(1984, 3, 3))
    await sandbox.seed(persons=[{"iin": applicant, "last_name": "А", "first_name": "Б", "birth_date": "1984-03-03"}])
    data = application_data(benefit="disability", channel="state_corp", applicant_iin=applicant)
    first = await check(sessions, registries, "application.received", data)
    assert first["eligible"] is False and first["reasons"] == []
    assert [(d["type"], d["about"]) for d in first["requested_documents"]] == [("disability_certificate", applicant)]

    certificate = {"type": "disability_certificate", "number": "D-1", "issued_on": "2026-10-02", "about": applicant,
                   "facts": {"group": 2, "cause": "general_illness", "established_on": "2026-10-01"}}
    second = await check(sessions, registries, "application.documents_provided", data | {"documents": [certificate]})
    assert (second["eligible"], second["round"], second["requested_documents"]) == (True, 2, [])
    assert second["facts"]["disability_source"] == "document"
    assert [e["source"] for e in second["evidence"] if e["source"] == "document"] == ["document"]
    async with sessions() as session:
        query = select(Check.round).where(Check.application_id == uuid.UUID(data["application_id"]))
        rounds = (await session.scalars(query)).all()
    assert sorted(rounds) == [1, 2]


@pytest.mark.law("S7.dependant-bases", "S-Std9.ground2.requirements-not-met")
async def test_survivor_judges_each_dependant_and_names_the_one_who_is_not(sessions, sandbox, registries):
    """S§7: a minor child is eligible; a 20-year-old in distance study is not, and the reason names them."""
    deceased, mother = new_iin(date(1970, 1, 1)), new_iin(date(1972, 2, 2), sex="F")
    minor, adult = new_iin(date(2014, 5, 5)), new_iin(date(2006, 1, 10))
    await sandbox.seed(
        persons=[{"iin": i, "last_name": "Х", "first_name": "Y", "birth_date": b} for i, b in
                 ((deceased, "1970-01-01"), (minor, "2014-05-05"), (adult, "2006-01-10"))],
        deaths=[{"iin": deceased, "date": "2026-09-14"}],
        births=[{"child_iin": c, "mother_iin": mother, "father_iin": deceased, "date": d} for c, d in
                ((minor, "2014-05-05"), (adult, "2006-01-10"))],
        studies=[{"iin": adult, "form": "distance", "from": "2024-09-01", "to": None}],
    )
    data = application_data(benefit="survivor", channel="state_corp", applicant_iin=mother, deceased_iin=deceased,
                            dependants=(minor, adult))
    result = await check(sessions, registries, "application.received", data)
    assert (result["eligible"], result["automated"]) == (True, False)
    assert result["facts"]["eligible_dependants"] == [minor]
    assert result["facts"]["right_arose_on"] == "2026-09-14"
    assert [(r["code"], r["subject"]) for r in result["reasons"]] == [("not_dependant", adult)]
    assert any(line.get("subject") == adult and line["outcome"] == "fail" for line in result["explanation"])
