"""The loss-of-breadwinner (survivor) benefit end to end through the gateway (Order 257 as amended by 509)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from common.law.params import survivor_monthly_kzt
from tests.e2e.conftest import (
    almaty_day,
    assert_read_model_consistent,
    decision_detail,
    draft_for,
    months_back,
    new_iin,
    new_phone,
    person,
    post_documents,
    sign,
    submit_as_channel,
    survivor_body,
    wait_for,
    working_days_after,
    years_back,
)

pytestmark = pytest.mark.e2e

FATHER_BORN = date(1978, 9, 2)
MOTHER_BORN = date(1982, 4, 17)


def _family(*, children_aged: list[int], died: date | None, with_birth_records: bool = True) -> tuple[dict, dict]:
    """A deceased father, the applicant mother and children of the given ages today (each born ~3 months before
    that birthday, so the age holds for a while), with ГБД ФЛ and ЗАГС records."""
    today = date.today()
    father, mother = new_iin(FATHER_BORN, "M"), new_iin(MOTHER_BORN, "F")
    kids = []
    for age in children_aged:
        born = years_back(today, age, days=90)
        kids.append((new_iin(born, "M" if age % 2 else "F"), born))
    fixtures: dict = {
        "persons": [person(father, FATHER_BORN, first_name="Қайрат", last_name="Сейітов"), person(mother, MOTHER_BORN)]
        + [person(iin, born, first_name="Бала") for iin, born in kids],
        "marriages": [{"iin_a": father, "iin_b": mother, "date": "2004-06-12", "dissolved_on": None}],
    }
    if with_birth_records:
        fixtures["births"] = [
            {"child_iin": iin, "mother_iin": mother, "father_iin": father, "date": born.isoformat()}
            for iin, born in kids
        ]
    if died is not None:
        fixtures["deaths"] = [{"iin": father, "date": died.isoformat()}]
    people = {"father": father, "mother": mother, "kids": [iin for iin, _ in kids], "born": [b for _, b in kids]}
    return people, fixtures


@pytest.mark.law("S-Std2.specialist-signs", "S-Std4.form")
async def test_portal_two_minor_children_wait_for_a_specialist_and_are_paid_after_signing(api):
    """S-Std p.2 (no automated path), S§6, S§24: 7 wd; amount for 2 dependants; period capped at 12 months."""
    died = months_back(date.today(), 14)
    fam, fixtures = _family(children_aged=[9, 13], died=died)
    await api.seed(**fixtures)
    body = survivor_body(
        channel="portal", applicant_iin=fam["mother"], deceased_iin=fam["father"], dependants=fam["kids"]
    )
    r = await submit_as_channel(api, body)
    assert r.status_code == 202, r.text
    app = await api.wait_status(r.json()["id"], {"awaiting_signature", "payment_queued", "refused"})
    assert app["status"] == "awaiting_signature"  # never automatic (S-Std p.2)
    assert app["due_by"] == working_days_after(app["registered_on"], 7)

    draft = await draft_for(api, app["id"], benefit="survivor")
    applied = almaty_day(app["received_at"])
    amount = survivor_monthly_kzt(2, applied)
    if applied.year == 2026:
        assert amount == 86_447  # ПМ 2026 (50 851) × 1.70
    assert draft["outcome"] == "assign" and draft["amount_kzt"] == amount
    assert draft["period_start"] == max(died, months_back(applied, 12)).isoformat()
    detail = await decision_detail(api, draft["id"])
    assert any(line["paragraph"].startswith("S§") for line in detail["explanation"]), detail["explanation"]

    signed = await sign(api, draft["id"], {"outcome": "assign", "reasons": []}, sub="specialist-21")
    assert signed.status_code == 200, signed.text
    app = await api.wait_status(app["id"], {"payment_queued"})
    assert_read_model_consistent(app)
    assert app["decision"]["amount_kzt"] == amount
    assert app["decision"]["period_start"] == max(died, months_back(applied, 12)).isoformat()
    assert app["decision"]["signed_by"] == "specialist:specialist-21"
    payments = await api.payments_for({app["id"]})
    assert len(payments) == 1 and payments[0]["amount_kzt"] == amount and payments[0]["iin"] == fam["mother"]
    result = await wait_for(lambda: api.cabinet(fam["mother"]), lambda ms: any(m["kind"] == "result" for m in ms))
    assert [m["kind"] for m in result].count("result") == 1


@pytest.mark.law("S7.student-18-23-full-time", "S-Std9.ground2.requirements-not-met")
async def test_students_are_judged_one_by_one(api):
    """S§7: 18–23 only in full-time study; a distance learner is not a dependant, named by a not_dependant reason."""
    today = date.today()
    fam, fixtures = _family(children_aged=[12, 19, 20], died=months_back(today, 2))
    _, nineteen, twenty = fam["kids"]
    term_from = (today - timedelta(days=80)).isoformat()
    fixtures["studies"] = [
        {"iin": nineteen, "form": "full_time", "from": term_from, "to": None},
        {"iin": twenty, "form": "distance", "from": term_from, "to": None},
    ]
    await api.seed(**fixtures)
    body = survivor_body(
        channel="portal", applicant_iin=fam["mother"], deceased_iin=fam["father"], dependants=fam["kids"]
    )
    r = await submit_as_channel(api, body)
    assert r.status_code == 202, r.text
    app = await api.wait_status(r.json()["id"], {"awaiting_signature", "refused", "payment_queued"})
    assert app["status"] == "awaiting_signature"

    draft = await draft_for(api, app["id"], benefit="survivor")
    applied = almaty_day(app["received_at"])
    assert draft["outcome"] == "assign"
    assert draft["amount_kzt"] == survivor_monthly_kzt(2, applied)
    not_dependant = [x for x in draft["reasons"] if x["code"] == "not_dependant"]
    assert [x.get("subject") for x in not_dependant] == [twenty]
    assert not_dependant[0]["ground"] == 2

    detail = await decision_detail(api, draft["id"])

    def outcomes(iin: str) -> set[str]:
        return {line["outcome"] for line in detail["explanation"] if line.get("subject") == iin}

    assert "fail" in outcomes(twenty), detail["explanation"]  # each dependant judged on its own line(s)
    assert outcomes(nineteen) and "fail" not in outcomes(nineteen), detail["explanation"]

    assert (await sign(api, draft["id"], {"outcome": "assign", "reasons": []})).status_code == 200
    app = await api.wait_status(app["id"], {"payment_queued"})
    assert_read_model_consistent(app)
    assert app["decision"]["amount_kzt"] == survivor_monthly_kzt(2, applied)


@pytest.mark.law("S6.documents-when-registry-lacks", "S7.doc.kinship")
async def test_a_child_without_a_birth_record_needs_the_certificate_then_resumes(api):
    """S§6, S§7, S§24: no ЗАГС birth record → birth certificate about that child, +5 wd; the case resumes with it."""
    fam, fixtures = _family(children_aged=[17], died=months_back(date.today(), 3), with_birth_records=False)
    [child], [born] = fam["kids"], fam["born"]
    await api.seed(**fixtures)
    phone = new_phone()
    body = survivor_body(
        channel="state_corp", applicant_iin=fam["mother"], deceased_iin=fam["father"], dependants=[child], phone=phone
    )
    r = await submit_as_channel(api, body)
    assert r.status_code == 202, r.text
    app = await api.wait_status(r.json()["id"], {"awaiting_documents", "awaiting_signature", "refused"})
    assert app["status"] == "awaiting_documents"
    assert [(d["type"], d["about"]) for d in app["requested_documents"]] == [("birth_certificate", child)]
    assert app["due_by"] == working_days_after(working_days_after(app["registered_on"], 7), 5)

    certificate = {
        "type": "birth_certificate",
        "number": "I-АЛ 0654321",
        "issued_on": born.isoformat(),
        "issued_by": "ЗАГС Алматы",
        "about": child,
        "facts": {
            "child_iin": child,
            "mother_iin": fam["mother"],
            "father_iin": fam["father"],
            "date": born.isoformat(),
        },
    }
    attached = await post_documents(api, app["id"], [certificate])
    assert attached.status_code in (200, 202), attached.text
    app = await api.wait_status(app["id"], {"awaiting_signature", "refused", "payment_queued"})
    assert app["status"] == "awaiting_signature"

    draft = await draft_for(api, app["id"], benefit="survivor")
    assert draft["outcome"] == "assign"
    assert draft["amount_kzt"] == survivor_monthly_kzt(1, almaty_day(app["received_at"]))
    assert not [x for x in draft["reasons"] if x["code"] == "not_dependant"]
    assert (await sign(api, draft["id"], {"outcome": "assign", "reasons": []})).status_code == 200
    app = await api.wait_status(app["id"], {"payment_queued"})
    assert_read_model_consistent(app)
    assert [h["status"] for h in app["history"]][:4] == ["received", "registered", "awaiting_documents", "registered"]


@pytest.mark.law("S24.right-arises", "S7.doc.death-or-court-decision")
async def test_a_court_declaration_of_a_missing_breadwinner_starts_the_right_on_its_date(api):
    """S§7 (court decision declaring missing / dead), S§24; domain.md project decision: right arises on its date."""
    today = date.today()
    declared = months_back(today, 4)
    fam, fixtures = _family(children_aged=[6], died=None)
    fixtures["court_declarations"] = [{"iin": fam["father"], "kind": "missing", "date": declared.isoformat()}]
    await api.seed(**fixtures)
    body = survivor_body(
        channel="portal", applicant_iin=fam["mother"], deceased_iin=fam["father"], dependants=fam["kids"]
    )
    r = await submit_as_channel(api, body)
    assert r.status_code == 202, r.text
    app = await api.wait_status(r.json()["id"], {"awaiting_signature", "awaiting_documents", "refused"})
    assert app["status"] == "awaiting_signature"
    draft = await draft_for(api, app["id"], benefit="survivor")
    assert draft["outcome"] == "assign"
    assert draft["period_start"] == declared.isoformat()
    assert draft["amount_kzt"] == survivor_monthly_kzt(1, almaty_day(app["received_at"]))


@pytest.mark.law("S-Std4.form", "S-Std5.proactive-sms", "S-Std10.proactive-consent")
async def test_proactive_survivor_still_waits_for_a_specialist_and_tells_the_result_by_sms(api):
    """S-Std p.2: the mobile channel takes the application, but a specialist signs every survivor decision."""
    fam, fixtures = _family(children_aged=[4], died=months_back(date.today(), 1))
    await api.seed(**fixtures)
    phone = new_phone()
    body = survivor_body(
        channel="proactive",
        applicant_iin=fam["mother"],
        deceased_iin=fam["father"],
        dependants=fam["kids"],
        phone=phone,
    )
    r = await submit_as_channel(api, body)
    assert r.status_code == 202, r.text
    app = await api.wait_status(r.json()["id"], {"awaiting_signature", "payment_queued", "refused"})
    assert app["status"] == "awaiting_signature"
    assert app["due_by"] == working_days_after(app["registered_on"], 7)
    draft = await draft_for(api, app["id"], benefit="survivor")
    assert (await sign(api, draft["id"], {"outcome": "assign", "reasons": []})).status_code == 200
    app = await api.wait_status(app["id"], {"payment_queued"})
    assert_read_model_consistent(app)
    sms = await wait_for(lambda: api.sms(phone), lambda items: any(m["kind"] == "result" for m in items))
    assert [m["kind"] for m in sms].count("result") == 1


async def test_a_guardian_applies_for_an_orphaned_grandchild(api):
    """S§6 (education DB: guardianship), S§7: the child's guardian applies; the child is the deceased's dependant."""
    today = date.today()
    fam, fixtures = _family(children_aged=[11], died=months_back(today, 5))
    [child] = fam["kids"]
    grandmother_born = date(1956, 2, 9)
    grandmother = new_iin(grandmother_born, "F")
    fixtures["persons"].append(person(grandmother, grandmother_born, first_name="Бибігүл"))
    fixtures["deaths"].append({"iin": fam["mother"], "date": months_back(today, 5).isoformat()})  # both parents
    fixtures["guardianships"] = [
        {"child_iin": child, "guardian_iin": grandmother, "from": months_back(today, 4).isoformat(), "to": None}
    ]
    await api.seed(**fixtures)
    body = survivor_body(channel="portal", applicant_iin=grandmother, deceased_iin=fam["father"], dependants=[child])
    r = await submit_as_channel(api, body)
    assert r.status_code == 202, r.text
    app = await api.wait_status(r.json()["id"], {"awaiting_signature", "awaiting_documents", "refused"})
    assert app["status"] == "awaiting_signature", app
    draft = await draft_for(api, app["id"], benefit="survivor")
    assert draft["outcome"] == "assign"
    assert draft["amount_kzt"] == survivor_monthly_kzt(1, almaty_day(app["received_at"]))
    assert (await sign(api, draft["id"], {"outcome": "assign", "reasons": []})).status_code == 200
    app = await api.wait_status(app["id"], {"payment_queued"})
    assert_read_model_consistent(app)
    [order] = await api.payments_for({app["id"]})
    assert order["iin"] == grandmother and order["amount_kzt"] == draft["amount_kzt"]


@pytest.mark.parametrize("case", ["listed_twice", "applicant_as_dependant", "no_dependants", "born_in_the_future"])
async def test_bad_survivor_input_is_422_and_nothing_is_stored(api, case):
    """api.md Applications, S§7: who the benefit is claimed for must be a list of distinct other living persons."""
    today = date.today()
    mother, father = new_iin(MOTHER_BORN, "F"), new_iin(FATHER_BORN, "M")
    child = new_iin(years_back(today, 8), "M")
    dependants = {
        "listed_twice": [child, child],
        "applicant_as_dependant": [mother],
        "no_dependants": [],
        "born_in_the_future": [new_iin(date(today.year + 1, 1, 15), "F")],
    }[case]
    body = survivor_body(channel="portal", applicant_iin=mother, deceased_iin=father, dependants=dependants)
    r = await submit_as_channel(api, body)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    fields = {e["field"] for e in r.json()["errors"]}
    assert any(f.startswith("dependants") for f in fields), fields
    assert await api.db_scalar("SELECT count(*) FROM intake.applications WHERE applicant_iin = $1", mother) == 0
