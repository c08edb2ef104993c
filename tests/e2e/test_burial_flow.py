"""The burial payment end to end through the gateway, on the real stack (Order 256 as amended by 509)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date

import pytest

from tests.e2e.conftest import burial_body, new_iin, new_phone, seed_deceased

pytestmark = pytest.mark.e2e


@pytest.mark.law("B-Std4.form", "B-Std5.proactive-sms", "B19-1.auto-place-in-payments-db")
async def test_proactive_happy_path_reaches_payment_queued_with_one_order_and_one_result_sms(api):
    """B§19-1: consent + account by phone → case file, signed decision, payments database, result by SMS."""
    deceased, fixtures = seed_deceased(died="2026-10-02")
    await api.seed(**fixtures)
    phone, applicant = new_phone(), new_iin()
    r = await api.submit(burial_body(channel="proactive", applicant_iin=applicant, deceased_iin=deceased, phone=phone), role="mobile")
    assert r.status_code == 202, r.text
    assert r.headers["location"] == f"/api/v1/applications/{r.json()['id']}"
    app = await api.wait_status(r.json()["id"], {"payment_queued"})

    assert app["registration_number"].startswith("BUR-")
    assert app["decision"]["outcome"] == "assign"
    assert app["decision"]["amount_kzt"] == 35 * 4325  # 35 MCI at the 2026 MCI (date of death)
    assert [h["status"] for h in app["history"]] == ["received", "registered", "assigned", "payment_queued"]
    assert app["due_by"] > app["registered_on"]  # 1 working day after registration (B-Std p.3)

    payments = await api.payments_for({app["id"]})
    assert len(payments) == 1
    assert payments[0]["amount_kzt"] == 151375 and payments[0]["iban"] == "KZ86125KZT5004100100"
    assert payments[0]["iin"] == applicant

    sms = await _wait_sms(api, phone, 3)
    assert sorted(m["kind"] for m in sms) == ["accepted", "receipt", "result"]
    result = next(m for m in sms if m["kind"] == "result")
    assert "151 375" in result["text"] and "тағайындалды" in result["text"] and "назначена" in result["text"]


@pytest.mark.law("B19-1.auto-case-file", "B19-1.auto-approve-eds")
async def test_signed_decision_verifies_and_its_case_file_keeps_the_registry_answers(api):
    """B§19-1 / Annex 7: the case file snapshots every registry answer; the signature checks out later."""
    deceased, fixtures = seed_deceased(died="2026-09-10")
    await api.seed(**fixtures)
    r = await api.submit(burial_body(channel="proactive", applicant_iin=new_iin(), deceased_iin=deceased, phone=new_phone()), role="mobile")
    app = await api.wait_status(r.json()["id"], {"payment_queued"})
    decision_id = app["decision"]["id"]
    headers = await api.auth("specialist", "spec-1")

    detail = (await api.gw.get(f"/api/v1/decisions/{decision_id}", headers=headers)).json()
    registries = {a["query"] for a in detail["case_file"]["registry_answers"]}
    assert {"persons", "civil.deaths", "pensions.recipients"} <= registries
    verification = (await api.gw.get(f"/api/v1/decisions/{decision_id}/verification", headers=headers)).json()
    assert verification["valid"] is True
    assert verification["signed_document"]["case_file_sha256"] == detail["case_file_sha256"]


@pytest.mark.law("B13.passed-to-incoming-journal", "B13.acceptance-message-cabinet", "B-Std8.portal-status-in-cabinet")
async def test_portal_happy_path_is_registered_after_the_checks_and_told_in_the_cabinet(api):
    """B§13: checks pass → journal (Annex 6) → acceptance in the personal cabinet; result there too."""
    deceased, fixtures = seed_deceased(died="2026-11-01")
    await api.seed(**fixtures)
    citizen = new_iin(sex="F")
    r = await api.submit(burial_body(channel="portal", applicant_iin=citizen, deceased_iin=deceased), role="citizen", sub=citizen)
    assert r.status_code == 202, r.text
    assert r.json()["status"] == "received"  # portal: registered only after the B§13 checks
    app = await api.wait_status(r.json()["id"], {"payment_queued"})
    assert app["registered_on"] is not None
    messages = await _wait_cabinet(api, citizen, 3)
    assert sorted(m["kind"] for m in messages) == ["accepted", "receipt", "result"]
    assert all(m["text_kk"] and m["text_ru"] for m in messages)

    mine = await api.gw.get("/api/v1/applications", headers=await api.auth("citizen", citizen))
    assert [a["id"] for a in mine.json()["items"]] == [app["id"]]
    other = new_iin()
    theirs = await api.gw.get(f"/api/v1/applications/{app['id']}", headers=await api.auth("citizen", other))
    assert theirs.status_code == 404  # a citizen reads only their own


@pytest.mark.law("B16.failed-checks-auto-rejection")
@pytest.mark.parametrize(
    ("case", "code"),
    [
        ("no_death_record", "incomplete"),  # B§13 check 1
        ("not_a_recipient", "not_a_recipient"),  # B§13 check 4
        ("late", "deadline_passed"),  # B§13 check 5
    ],
)
async def test_portal_pre_registration_checks_reject_with_the_reason(api, case, code):
    """B§13 checks 1, 4, 5 → automatic rejection message to the cabinet (B§16); never registered."""
    if case == "no_death_record":
        deceased, fixtures = seed_deceased(died="2026-10-01", death_record=False)
    elif case == "not_a_recipient":
        deceased, fixtures = seed_deceased(died="2026-10-01", pension_to="2026-09-30")
    else:
        deceased, fixtures = seed_deceased(died="2023-11-01")
    await api.seed(**fixtures)
    citizen = new_iin()
    r = await api.submit(burial_body(channel="portal", applicant_iin=citizen, deceased_iin=deceased), role="citizen", sub=citizen)
    app = await api.wait_status(r.json()["id"], {"rejected", "registered", "payment_queued"})
    assert app["status"] == "rejected"
    assert [x["code"] for x in app["reasons"]] == [code]
    assert app["registration_number"] is None
    rejected = [m for m in await _wait_cabinet(api, citizen, 2) if m["kind"] == "rejected"]
    assert len(rejected) == 1


@pytest.mark.law("B13.check2.no-payment-assigned")
async def test_portal_check_2_already_assigned(api):
    """B§13 check 2: a burial payment is already assigned for this deceased."""
    deceased, fixtures = seed_deceased(died="2026-10-05")
    await api.seed(**fixtures)
    first = await api.submit(burial_body(channel="proactive", applicant_iin=new_iin(), deceased_iin=deceased, phone=new_phone()), role="mobile")
    await api.wait_status(first.json()["id"], {"payment_queued"})
    citizen = new_iin()
    r = await api.submit(burial_body(channel="portal", applicant_iin=citizen, deceased_iin=deceased), role="citizen", sub=citizen)
    assert r.status_code == 202
    assert r.json()["status"] == "rejected"
    assert [x["code"] for x in r.json()["reasons"]] == ["already_assigned"]
    assert [m["kind"] for m in await _wait_cabinet(api, citizen, 1)] == ["rejected"]


@pytest.mark.law("B13.check3.no-application-filed")
async def test_portal_check_3_duplicate_application_then_state_corp_path_with_specialist(api):
    """B§13 check 3 while another application waits for a specialist; then the specialist signs it."""
    deceased, fixtures = seed_deceased(died="2026-10-06")
    await api.seed(**fixtures)
    visitor = new_iin()
    desk = await api.submit(
        burial_body(channel="state_corp", applicant_iin=visitor, deceased_iin=deceased, phone=new_phone()),
        role="operator", sub="operator-7",
    )
    assert desk.status_code == 202, desk.text
    desk_id = desk.json()["id"]
    await api.wait_status(desk_id, {"awaiting_signature"})

    citizen = new_iin()
    r = await api.submit(burial_body(channel="portal", applicant_iin=citizen, deceased_iin=deceased), role="citizen", sub=citizen)
    assert [x["code"] for x in r.json()["reasons"]] == ["duplicate_application"]

    headers = await api.auth("specialist", "specialist-3")
    waiting = (await api.gw.get("/api/v1/decisions", params={"status": "awaiting_signature"}, headers=headers)).json()["items"]
    draft = next(d for d in waiting if d["application_id"] == desk_id)
    assert draft["outcome"] == "assign" and draft["amount_kzt"] == 151375
    signed = await api.gw.post(f"/api/v1/decisions/{draft['id']}/sign", json={"outcome": "assign", "reasons": []}, headers=headers)
    assert signed.status_code == 200, signed.text
    app = await api.wait_status(desk_id, {"payment_queued"})
    assert app["decision"]["signed_by"] == "specialist:specialist-3"
    again = await api.gw.post(f"/api/v1/decisions/{draft['id']}/sign", json={"outcome": "refuse", "reasons": ["data_unreliable"]}, headers=headers)
    assert again.status_code == 409
    assert len(await api.payments_for({desk_id})) == 1


@pytest.mark.law("B-Std9.ground1.unreliable", "B13.checks-on-every-channel")
async def test_proactive_refusal_when_the_registries_do_not_confirm(api):
    """B§19-1: data missing or wrong in the case file → a signed refusal, told by SMS; nothing paid."""
    deceased, fixtures = seed_deceased(died="2026-10-01", pension_to="2020-01-01")
    await api.seed(**fixtures)
    phone = new_phone()
    r = await api.submit(burial_body(channel="proactive", applicant_iin=new_iin(), deceased_iin=deceased, phone=phone), role="mobile")
    app = await api.wait_status(r.json()["id"], {"refused"})
    assert [x["code"] for x in app["reasons"]] == ["not_a_recipient"]
    assert app["reasons"][0]["ground"] == 2
    assert app["decision"]["outcome"] == "refuse"
    assert await api.payments_for({app["id"]}) == []
    result = [m for m in await _wait_sms(api, phone, 3) if m["kind"] == "result"]
    assert len(result) == 1 and "бас тартылды" in result[0]["text"]


@pytest.mark.law("B-Std9.ground3.no-consent", "B-Std8.proactive-consent-and-account")
async def test_no_consent_is_rejected_without_asking_any_registry(api):
    """Std p.9 ground 3 (Law on Personal Data art. 8): no consent → rejected; the registries are not asked."""
    deceased, fixtures = seed_deceased(died="2026-10-01")
    await api.seed(**fixtures)
    citizen = new_iin()
    body = burial_body(channel="portal", applicant_iin=citizen, deceased_iin=deceased)
    body["consents"]["personal_data"] = False
    r = await api.submit(body, role="citizen", sub=citizen)
    assert r.json()["status"] == "rejected"
    assert r.json()["reasons"][0]["code"] == "no_consent" and r.json()["reasons"][0]["ground"] == 3
    await asyncio.sleep(1.0)  # time enough for a check to be queued, were the application ever sent on
    checks = await api.db_scalar("SELECT count(*) FROM eligibility.checks WHERE application_id = $1", uuid.UUID(r.json()["id"]))
    assert checks == 0


async def test_idempotency_same_key_same_application_different_body_409(api):
    """api.md: same key + same body → same application; same key + other body → 409; nothing doubled."""
    deceased, fixtures = seed_deceased(died="2026-10-03")
    await api.seed(**fixtures)
    body = burial_body(channel="proactive", applicant_iin=new_iin(), deceased_iin=deceased, phone=new_phone())
    key = f"retry-{uuid.uuid4()}"
    first = await api.submit(body, role="mobile", key=key)
    second = await api.submit(body, role="mobile", key=key)
    assert first.status_code == second.status_code == 202
    assert first.json()["id"] == second.json()["id"]
    changed = body | {"phone": new_phone()}
    conflict = await api.submit(changed, role="mobile", key=key)
    assert conflict.status_code == 409
    assert conflict.headers["content-type"].startswith("application/problem+json")
    count = await api.db_scalar("SELECT count(*) FROM intake.applications WHERE deceased_iin = $1", deceased)
    assert count == 1


async def _wait_sms(api, phone: str, n: int, timeout: float = 30.0) -> list[dict]:
    return await _wait_list(lambda: api.sms(phone), n, timeout)


async def _wait_cabinet(api, iin: str, n: int, timeout: float = 30.0) -> list[dict]:
    return await _wait_list(lambda: api.cabinet(iin), n, timeout)


async def _wait_list(fetch, n: int, timeout: float) -> list[dict]:
    import asyncio
    import time

    deadline = time.monotonic() + timeout
    while True:
        items = await fetch()
        if len(items) >= n or time.monotonic() > deadline:
            # A short extra wait shows up anything sent twice.
            await asyncio.sleep(0.5)
            return await fetch()
        await asyncio.sleep(0.2)


async def test_payments_database_acknowledgement_moves_the_application_to_paid(api):
    """api.md status `paid`: once the payments database confirms, the citizen sees it."""
    deceased, fixtures = seed_deceased(died="2026-10-07")
    await api.seed(**fixtures)
    r = await api.submit(burial_body(channel="proactive", applicant_iin=new_iin(), deceased_iin=deceased, phone=new_phone()), role="mobile")
    app = await api.wait_status(r.json()["id"], {"payment_queued"})
    confirmed = await api.sandbox.post(f"/sandbox/payments/{app['decision']['id']}/paid")
    assert confirmed.status_code == 200, confirmed.text
    paid = await api.wait_status(app["id"], {"paid"})
    assert [h["status"] for h in paid["history"]][-2:] == ["payment_queued", "paid"]


@pytest.mark.law("B5.applicant-who-buried", "B-Std8.doc.legal-entity-registration")
async def test_legal_entity_at_the_state_corporation_desk_is_paid_after_a_specialist_signs(api):
    """B§5: a legal entity that carried out the burial applies with its BIN through the State Corporation."""
    from common.identifiers import make_bin

    deceased, fixtures = seed_deceased(died="2026-10-08")
    company = make_bin(date(2015, 4, 1), 7)
    await api.seed(**fixtures, legal_entities=[{"bin": company, "name": "ТОО «Ритуал-Сервис»"}])
    body = {
        "benefit": "burial",
        "channel": "state_corp",
        "applicant": {"bin": company},
        "consents": {"personal_data": True},
        "bank_account": {"iban": "KZ86125KZT5004100100"},
        "deceased_iin": deceased,
        "documents": [{"type": "legal_entity_registration", "number": "123-1900-ТОО", "issued_on": "2015-04-01"}],
    }
    r = await api.submit(body, role="operator", sub="operator-2")
    assert r.status_code == 202, r.text
    app = await api.wait_status(r.json()["id"], {"awaiting_signature"})
    assert app["due_by"] is not None  # 3 working days at the State Corporation (B-Std p.3)

    headers = await api.auth("specialist", "specialist-9")
    waiting = (await api.gw.get("/api/v1/decisions", params={"status": "awaiting_signature"}, headers=headers)).json()["items"]
    draft = next(d for d in waiting if d["application_id"] == app["id"])
    assert (await api.gw.post(f"/api/v1/decisions/{draft['id']}/sign", json={"outcome": "assign"}, headers=headers)).status_code == 200
    await api.wait_status(app["id"], {"payment_queued"})
    [order] = await api.payments_for({app["id"]})
    assert order["iin"] == company and order["amount_kzt"] == 151375
