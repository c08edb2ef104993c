"""The state disability benefit end to end through the gateway, on the real stack (Order 257 as amended by 509)."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import date

import pytest

from common.law.params import disability_monthly_kzt
from tests.e2e.conftest import (
    IBAN,
    almaty_day,
    assert_read_model_consistent,
    decision_detail,
    disability_body,
    draft_for,
    months_back,
    new_iin,
    new_phone,
    person,
    post_documents,
    sign,
    submit_as_channel,
    wait_cabinet,
    wait_for,
    working_days_after,
)

pytestmark = pytest.mark.e2e

ADULT = date(1980, 3, 14)


def _tenge(amount: int) -> str:
    """How the notices write an amount: '89 498'."""
    return f"{amount:,}".replace(",", " ")


async def _seed_disabled(
    api, *, cause: str | None, group: int = 2, established_on: date | None = None, born: date = ADULT
) -> str:
    """A fresh adult in ГБД ФЛ and, when ``cause`` is given, in ЦБДИ with one establishment record."""
    iin = new_iin(born, "F")
    fixtures: dict = {"persons": [person(iin, born)]}
    if cause is not None:
        fixtures["disabilities"] = [
            {"iin": iin, "group": group, "cause": cause, "established_on": established_on.isoformat(), "until": None}
        ]
    await api.seed(**fixtures)
    return iin


@pytest.mark.law("D-Std4.form", "D21-1.auto-draft-approve-eds", "D21-1.auto-place-in-payments-db")
async def test_proactive_general_illness_is_assigned_and_queued_automatically(api):
    """D§20-1, D§21-1, D§4, D-Std p.3: general illness via the mobile service → signed by the system within 1 wd."""
    established = months_back(date.today(), 2)
    applicant = await _seed_disabled(api, cause="general_illness", group=2, established_on=established)
    phone = new_phone()
    r = await submit_as_channel(api, disability_body(channel="proactive", applicant_iin=applicant, phone=phone))
    assert r.status_code == 202, r.text
    app = await api.wait_status(r.json()["id"], {"payment_queued"})
    assert_read_model_consistent(app)

    applied = almaty_day(app["received_at"])
    amount = disability_monthly_kzt("general_illness", 2, applied)
    if applied.year == 2026:
        assert amount == 89_498  # ПМ 2026 (50 851) × 1.76, rounded up
    assert app["decision"]["outcome"] == "assign"
    assert app["decision"]["amount_kzt"] == amount
    assert app["decision"]["period_start"] == established.isoformat()  # within 3 months: from establishment (D§4)
    assert [h["status"] for h in app["history"]] == ["received", "registered", "assigned", "payment_queued"]
    assert app["due_by"] == working_days_after(app["registered_on"], 1)  # D-Std p.3: 1 wd on the automated path
    assert app["decision"]["signed_by"] and not app["decision"]["signed_by"].startswith("specialist:")

    payments = await api.payments_for({app["id"]})
    assert len(payments) == 1
    assert payments[0]["amount_kzt"] == amount and payments[0]["iin"] == applicant and payments[0]["iban"] == IBAN

    sms = await wait_for(lambda: api.sms(phone), lambda items: any(m["kind"] == "result" for m in items))
    result = [m for m in sms if m["kind"] == "result"]
    assert len(result) == 1
    assert _tenge(amount) in result[0]["text"]


@pytest.mark.law("D4.apply-any-time", "D4.period-start-cap", "D-Std10.portal-with-eds")
async def test_portal_general_illness_established_long_ago_runs_from_three_months_before_the_application(api):
    """D§4, D§24: period_start = max(established_on, application date − 3 calendar months)."""
    established = months_back(date.today(), 8)
    applicant = await _seed_disabled(api, cause="general_illness", group=3, established_on=established)
    r = await submit_as_channel(api, disability_body(channel="portal", applicant_iin=applicant))
    assert r.status_code == 202, r.text
    app = await api.wait_status(r.json()["id"], {"payment_queued"})
    assert_read_model_consistent(app)
    applied = almaty_day(app["received_at"])
    assert app["decision"]["period_start"] == months_back(applied, 3).isoformat()
    assert app["decision"]["amount_kzt"] == disability_monthly_kzt("general_illness", 3, applied)
    kinds = [
        m["kind"]
        for m in await wait_for(lambda: api.cabinet(applicant), lambda ms: any(m["kind"] == "result" for m in ms))
    ]
    assert kinds.count("result") == 1


@pytest.mark.law("D21-1.auto-refusal-missing-data")
async def test_portal_without_a_disability_record_is_refused_and_nothing_is_paid(api):
    """D§20-1 (refusal when data is missing), D-Std p.9 ground 2: no ЦБДИ record → no_disability."""
    applicant = await _seed_disabled(api, cause=None)
    r = await submit_as_channel(api, disability_body(channel="portal", applicant_iin=applicant))
    assert r.status_code == 202, r.text
    app = await api.wait_status(r.json()["id"], {"refused", "rejected", "payment_queued", "awaiting_signature"})
    assert app["status"] == "refused"
    assert_read_model_consistent(app)
    assert [x["code"] for x in app["reasons"]] == ["no_disability"]
    assert app["reasons"][0]["ground"] == 2
    assert app["decision"]["outcome"] == "refuse"
    assert await api.payments_for({app["id"]}) == []
    messages = await wait_for(lambda: api.cabinet(applicant), lambda ms: any(m["kind"] == "result" for m in ms))
    result = [m for m in messages if m["kind"] == "result"]
    assert len(result) == 1 and result[0]["text_kk"] and result[0]["text_ru"]


async def test_disability_from_childhood_waits_for_a_specialist_who_signs_it(api):
    """D§20-1, D§21-1: only general illness / work injury is automated; D§24: 7 wd; D§4 in the explanation."""
    established = months_back(date.today(), 1)
    applicant = await _seed_disabled(api, cause="childhood", group=2, established_on=established, born=date(2005, 6, 1))
    r = await submit_as_channel(api, disability_body(channel="portal", applicant_iin=applicant))
    assert r.status_code == 202, r.text
    app = await api.wait_status(r.json()["id"], {"awaiting_signature", "payment_queued", "refused"})
    assert app["status"] == "awaiting_signature"
    assert app["due_by"] == working_days_after(app["registered_on"], 7)

    draft = await draft_for(api, app["id"], benefit="disability")
    applied = almaty_day(app["received_at"])
    assert draft["benefit"] == "disability" and draft["outcome"] == "assign"
    assert draft["amount_kzt"] == disability_monthly_kzt("from_childhood", 2, applied)  # ЦБДИ "childhood"
    assert draft["period_start"] == established.isoformat()

    detail = await decision_detail(api, draft["id"])
    assert any("D§4" in line["paragraph"] for line in detail["explanation"]), detail["explanation"]
    assert all(line["paragraph"] for line in detail["explanation"])
    assert detail["evidence"], "the decision names the registry answers it relied on"
    assert all(e["source"] and e["received_at"] for e in detail["evidence"])

    signed = await sign(api, draft["id"], {"outcome": "assign", "reasons": []}, sub="specialist-11")
    assert signed.status_code == 200, signed.text
    app = await api.wait_status(app["id"], {"payment_queued"})
    assert_read_model_consistent(app)
    assert app["decision"]["signed_by"] == "specialist:specialist-11"
    assert [p["amount_kzt"] for p in await api.payments_for({app["id"]})] == [draft["amount_kzt"]]


async def test_work_injury_needs_the_specialist_to_enter_the_amount(api):
    """D§21-1 + facts.md Amounts: the work-injury multiple is not verified → a specialist enters amount_kzt."""
    applicant = await _seed_disabled(api, cause="work_injury", group=2, established_on=months_back(date.today(), 1))
    r = await submit_as_channel(api, disability_body(channel="portal", applicant_iin=applicant))
    app = await api.wait_status(r.json()["id"], {"awaiting_signature", "payment_queued", "refused"})
    assert app["status"] == "awaiting_signature"
    draft = await draft_for(api, app["id"], benefit="disability")

    without = await sign(api, draft["id"], {"outcome": "assign", "reasons": []})
    assert without.status_code == 422, without.text
    assert "amount_kzt" in {e["field"] for e in without.json()["errors"]}
    assert (await api.get(app["id"]))["status"] == "awaiting_signature"

    entered = await sign(api, draft["id"], {"outcome": "assign", "reasons": [], "amount_kzt": 91_000})
    assert entered.status_code == 200, entered.text
    app = await api.wait_status(app["id"], {"assigned", "payment_queued"})
    assert_read_model_consistent(app)
    assert app["decision"]["amount_kzt"] == 91_000
    app = await api.wait_status(app["id"], {"payment_queued"})
    assert_read_model_consistent(app)


async def test_also_applied_benefits_are_recorded_as_follow_ups(api):
    """D-Std p.4, p.10 ("one application"): the choice is recorded and routed, never dropped."""
    applicant = await _seed_disabled(api, cause="general_illness", group=1, established_on=months_back(date.today(), 1))
    body = disability_body(
        channel="proactive", applicant_iin=applicant, phone=new_phone(), also_apply_for=["special_state_disability"]
    )
    r = await submit_as_channel(api, body)
    assert r.status_code == 202, r.text
    app = await api.wait_status(r.json()["id"], {"payment_queued"})
    assert_read_model_consistent(app)

    headers = await api.auth("specialist", "specialist-e2e")

    async def follow_ups() -> list[dict]:
        res = await api.gw.get("/api/v1/decisions/follow-ups", params={"limit": 500}, headers=headers)
        res.raise_for_status()
        return [f for f in res.json()["items"] if f["application_id"] == app["id"]]

    mine = await wait_for(follow_ups, bool)
    assert [f["benefit"] for f in mine] == ["special_state_disability"]
    assert mine[0]["decision_id"] == app["decision"]["id"] and mine[0]["status"] == "open"


@pytest.mark.law("D7.documents-when-registry-lacks", "D-Std8.doc.disability-certificate")
async def test_state_corporation_without_a_record_asks_for_the_certificate_then_a_specialist_signs(api):
    """D§7, D-Std p.3, p.8: no ЦБДИ record → disability certificate requested, +5 wd; the case resumes with it."""
    applicant = await _seed_disabled(api, cause=None)
    phone = new_phone()
    r = await submit_as_channel(api, disability_body(channel="state_corp", applicant_iin=applicant, phone=phone))
    assert r.status_code == 202, r.text
    app = await api.wait_status(r.json()["id"], {"awaiting_documents", "awaiting_signature", "refused"})
    assert app["status"] == "awaiting_documents"
    assert [(d["type"], d.get("about")) for d in app["requested_documents"]] in (
        [("disability_certificate", None)],
        [("disability_certificate", applicant)],
    )
    assert app["due_by"] == working_days_after(working_days_after(app["registered_on"], 7), 5)

    established = months_back(date.today(), 1)
    certificate = {
        "type": "disability_certificate",
        "number": "MSE-2026-000417",
        "issued_on": established.isoformat(),
        "issued_by": "МСЭ Алматы",
        "about": applicant,
        "facts": {"group": 2, "cause": "general_illness", "established_on": established.isoformat()},
    }
    attached = await post_documents(api, app["id"], [certificate])
    assert attached.status_code in (200, 202), attached.text
    app = await api.wait_status(app["id"], {"awaiting_signature", "refused", "payment_queued"})
    assert app["status"] == "awaiting_signature"  # a desk application is signed by a specialist

    draft = await draft_for(api, app["id"], benefit="disability")
    applied = almaty_day(app["received_at"])
    assert draft["amount_kzt"] == disability_monthly_kzt("general_illness", 2, applied)
    detail = await decision_detail(api, draft["id"])
    assert any(e["source"] == "document" for e in detail["evidence"]), detail["evidence"]
    assert (await sign(api, draft["id"], {"outcome": "assign", "reasons": []})).status_code == 200
    app = await api.wait_status(app["id"], {"payment_queued"})
    assert_read_model_consistent(app)
    statuses = [h["status"] for h in app["history"]]
    assert statuses[:3] == ["received", "registered", "awaiting_documents"]
    assert len(await api.payments_for({app["id"]})) == 1


@pytest.mark.law("D-Std2.channels", "D-Std2.provider-first-establishment")
async def test_provider_channel_takes_a_first_establishment(api):
    """D-Std p.2: the service provider accepts an application when disability is established for the first time."""
    applicant = await _seed_disabled(api, cause="general_illness", group=3, established_on=months_back(date.today(), 0))
    r = await submit_as_channel(api, disability_body(channel="provider", applicant_iin=applicant))
    assert r.status_code == 202, r.text
    assert r.json()["channel"] == "provider"
    app = await api.wait_status(r.json()["id"], {"awaiting_signature", "payment_queued", "refused"})
    assert app["status"] == "awaiting_signature"  # any provider application is signed by a specialist (D§20-1)
    draft = await draft_for(api, app["id"], benefit="disability")
    assert draft["outcome"] == "assign"


@pytest.mark.parametrize(
    ("case", "field"),
    [
        ("disability_with_deceased", "deceased_iin"),  # api.md: deceased_iin is for burial and survivor only
        ("burial_by_provider", "channel"),  # B-Std p.2: no provider channel for the burial payment
    ],
)
async def test_bad_input_is_422_naming_the_field_and_nothing_is_stored(api, case, field):
    """api.md Applications: a field not allowed for that benefit and channel → 422 naming it; nothing stored."""
    applicant = new_iin(ADULT)
    if case == "disability_with_deceased":
        body = disability_body(channel="portal", applicant_iin=applicant, deceased_iin=new_iin(date(1950, 1, 1)))
    else:
        body = {
            "benefit": "burial",
            "channel": "provider",
            "applicant": {"iin": applicant},
            "consents": {"personal_data": True},
            "deceased_iin": new_iin(date(1940, 1, 1)),
            "bank_account": {"iban": IBAN},
        }
    r = await submit_as_channel(api, body)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert field in {e["field"] for e in r.json()["errors"]}
    assert await api.db_scalar("SELECT count(*) FROM intake.applications WHERE applicant_iin = $1", applicant) == 0


@pytest.mark.law("D-Std10.status-remote")
async def test_the_read_model_never_shows_payment_queued_before_assigned(api):
    """benefits.md States: every snapshot a citizen can read has the history that leads to its status."""
    applicant = await _seed_disabled(api, cause="general_illness", group=2, established_on=months_back(date.today(), 1))
    r = await submit_as_channel(api, disability_body(channel="proactive", applicant_iin=applicant, phone=new_phone()))
    app_id = r.json()["id"]
    seen: list[str] = []
    deadline = time.monotonic() + 30
    while True:
        app = await api.get(app_id)
        assert_read_model_consistent(app)
        seen.append(app["status"])
        if app["status"] in ("payment_queued", "paid") or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.05)
    assert seen[-1] == "payment_queued", seen
    decision = await decision_detail(api, app["decision"]["id"])
    assert decision["status"] == "assigned" and decision["application_id"] == app_id
    assert uuid.UUID(decision["id"]) == uuid.UUID(app["decision"]["id"])


@pytest.mark.law("D-Std8.portal-status-in-cabinet", "D-Std5.result-notification")
async def test_portal_acceptance_and_result_reach_the_cabinet_in_kazakh_and_russian(api):
    """D-Std p.5, Std p.10: the portal result is in the personal cabinet, in kk and ru."""
    applicant = await _seed_disabled(api, cause="general_illness", group=2, established_on=months_back(date.today(), 1))
    r = await submit_as_channel(api, disability_body(channel="portal", applicant_iin=applicant))
    app = await api.wait_status(r.json()["id"], {"payment_queued"})
    assert_read_model_consistent(app)
    messages = await wait_cabinet(api, applicant, 2)
    assert "result" in {m["kind"] for m in messages}
    assert all(m["text_kk"] and m["text_ru"] for m in messages)
