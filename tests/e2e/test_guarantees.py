"""architecture.md guarantees on the running stack: uniqueness under concurrency, crashes at the
worst lines, registry outages, and bad input that changes nothing."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.conftest import burial_body, new_iin, new_phone, seed_deceased

pytestmark = pytest.mark.e2e


@pytest.mark.law("B13.check2.no-payment-assigned", "B13.check3.no-application-filed")
async def test_twenty_concurrent_applications_for_one_deceased_register_and_pay_once(api):
    """B§13 checks 2-3 held by the database: exactly one registered, exactly one payment order."""
    deceased, fixtures = seed_deceased(died="2026-10-20")
    await api.seed(**fixtures)
    citizens = [new_iin() for _ in range(10)]
    requests = [
        api.submit(burial_body(channel="portal", applicant_iin=c, deceased_iin=deceased), role="citizen", sub=c)
        for c in citizens
    ] + [
        api.submit(burial_body(channel="proactive", applicant_iin=new_iin(), deceased_iin=deceased, phone=new_phone()), role="mobile")
        for _ in range(10)
    ]
    responses = await asyncio.gather(*requests)
    assert all(r.status_code == 202 for r in responses), [r.text for r in responses if r.status_code != 202]
    ids = {r.json()["id"] for r in responses}
    assert len(ids) == 20

    finals = [await api.wait_status(i, {"rejected", "payment_queued", "refused"}) for i in ids]
    winners = [a for a in finals if a["status"] == "payment_queued"]
    losers = [a for a in finals if a["status"] == "rejected"]
    assert len(winners) == 1 and len(losers) == 19
    assert {x["reasons"][0]["code"] for x in losers} <= {"duplicate_application", "already_assigned"}
    registered = await api.db_scalar(
        "SELECT count(*) FROM intake.journal j JOIN intake.applications a ON a.id = j.application_id WHERE a.deceased_iin = $1",
        deceased,
    )
    assert registered == 1
    await asyncio.sleep(1.0)  # anything paid twice would show up by now
    assert len(await api.payments_for(ids)) == 1


async def _file_proactive(api):
    deceased, fixtures = seed_deceased(died="2026-11-02")
    await api.seed(**fixtures)
    body = burial_body(channel="proactive", applicant_iin=new_iin(), deceased_iin=deceased, phone=new_phone())
    key = f"crash-{uuid.uuid4()}"
    try:
        response = await api.submit(body, role="mobile", key=key)
    except httpx.HTTPError:
        response = None  # the process may die before it answers: the mobile backend retries with the same key
    return body, key, response


async def _assert_exactly_once(api, app_id: str, phone: str) -> None:
    app = await api.wait_status(app_id, {"payment_queued"}, timeout=45)
    await asyncio.sleep(1.5)  # give any duplicate the time to appear
    assert len(await api.payments_for({app_id})) == 1
    kinds = sorted(m["kind"] for m in await api.sms(phone))
    assert kinds == ["accepted", "receipt", "result"], kinds
    statuses = [h["status"] for h in (await api.get(app["id"]))["history"]]
    assert statuses == ["received", "registered", "assigned", "payment_queued"], statuses


async def test_intake_killed_after_commit_before_publishing_loses_nothing(api, stack):
    """Guarantee 1: the outbox row committed with the application survives the crash and is sent after restart."""
    stack.restart("intake", {"CRASH_POINT": "relay.before_publish"})
    body, key, response = await _file_proactive(api)
    assert await asyncio.to_thread(stack.wait_exit, "intake", 30) == 86
    stack.start_process("intake")
    replay = await api.submit(body, role="mobile", key=key)  # the caller's retry finds the stored application
    assert replay.status_code == 202
    if response is not None and response.status_code == 202:
        assert replay.json()["id"] == response.json()["id"]
    await _assert_exactly_once(api, replay.json()["id"], body["phone"])


@pytest.mark.parametrize(
    ("service", "crash_point"),
    [
        # a re-sent decision.signed is deduplicated: one payment order, one result SMS
        ("decision", "relay.after_publish"),
        # redelivery after a crash between the consumer's commit and its offset commit is harmless
        ("payment_queue", "consumer.after_commit"),
    ],
    ids=["decision-killed-after-publishing-before-marking", "payment_queue-killed-after-commit-before-offset"],
)
async def test_a_crash_after_the_effect_doubles_nothing(api, stack, service, crash_point):
    """Guarantee 1: whatever is delivered again after the crash has its effect once."""
    stack.restart(service, {"CRASH_POINT": crash_point})
    body, key, response = await _file_proactive(api)
    assert await asyncio.to_thread(stack.wait_exit, service, 45) == 86
    stack.start_process(service)
    await _assert_exactly_once(api, response.json()["id"], body["phone"])


async def test_registry_outage_delays_the_case_and_never_refuses_it(api):
    """Guarantee 4: the e-gov gateway failing answers 503s; the check is retried until it answers."""
    deceased, fixtures = seed_deceased(died="2026-11-03")
    await api.seed(**fixtures)
    await api.sandbox.post("/sandbox/faults", json={"system": "egov", "fail_next": 5})
    try:
        phone = new_phone()
        r = await api.submit(burial_body(channel="proactive", applicant_iin=new_iin(), deceased_iin=deceased, phone=phone), role="mobile")
        app = await api.wait_status(r.json()["id"], {"payment_queued", "refused", "rejected"}, timeout=60)
    finally:
        await api.sandbox.delete("/sandbox/faults")
    assert app["status"] == "payment_queued"
    calls = (await api.sandbox.get("/sandbox/calls", params={"system": "egov"})).json()["items"]
    assert sum(1 for c in calls if c["status"] == 503) >= 5


@pytest.mark.parametrize(
    ("mutate", "fields"),
    [
        (lambda b: b["applicant"].update(iin="790303402569"), {"applicant.iin"}),
        (lambda b: b.update(bank_account={"iban": "KZ86125KZT5004100101"}), {"bank_account.iban"}),
        (lambda b: b.update(benefit="funeral"), {"benefit"}),
        (lambda b: b.update(channel="fax"), {"channel"}),
        (lambda b: (b.pop("phone"), b.pop("deceased_iin")), {"phone", "deceased_iin"}),
        (lambda b: b.update(deceased_iin="12345"), {"deceased_iin"}),
        (lambda b: b.update(documents=[{"type": "death_certificate", "issued_on": "not-a-date"}]), {"documents[0].issued_on"}),
    ],
)
async def test_bad_input_is_422_naming_each_field_and_stores_nothing(api, mutate, fields):
    """api.md: malformed input → 422 problem details with every bad field; nothing stored."""
    deceased = new_iin()
    body = burial_body(channel="proactive", applicant_iin=new_iin(), deceased_iin=deceased, phone=new_phone())
    mutate(body)
    before = await api.db_scalar("SELECT count(*) FROM intake.applications")
    r = await api.submit(body, role="mobile")
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    problem = r.json()
    assert {e["field"] for e in problem["errors"]} == fields
    assert await api.db_scalar("SELECT count(*) FROM intake.applications") == before


async def test_oversized_and_non_json_bodies_are_422_and_store_nothing(api):
    headers = await api.auth("mobile") | {"Idempotency-Key": str(uuid.uuid4()), "content-type": "application/json"}
    before = await api.db_scalar("SELECT count(*) FROM intake.applications")
    big = await api.gw.post("/api/v1/applications", content=b'{"x": "' + b"a" * 100_000 + b'"}', headers=headers)
    assert big.status_code == 422 and big.json()["errors"][0]["field"] == "body"
    broken = await api.gw.post("/api/v1/applications", content=b"{not json", headers=headers)
    assert broken.status_code == 422 and broken.json()["errors"][0]["field"] == "body"
    assert await api.db_scalar("SELECT count(*) FROM intake.applications") == before


async def test_auth_roles_and_channels(api):
    """api.md Auth: 401 without a valid token; 403 when the role may not; role ↔ channel; own IIN only."""
    citizen, other = new_iin(), new_iin()
    body = burial_body(channel="portal", applicant_iin=citizen, deceased_iin=new_iin())
    assert (await api.gw.post("/api/v1/applications", json=body)).status_code == 401
    bad = await api.gw.post("/api/v1/applications", json=body, headers={"Authorization": "Bearer not-a-jwt"})
    assert bad.status_code == 401
    assert (await api.submit(body, role="citizen", sub=other)).status_code == 403  # not their own IIN
    assert (await api.submit(body, role="mobile")).status_code == 403  # mobile files proactive only
    assert (await api.submit(body, role="ops")).status_code == 403
    sign = await api.gw.post(f"/api/v1/decisions/{uuid.uuid4()}/sign", json={"outcome": "assign"}, headers=await api.auth("citizen", citizen))
    assert sign.status_code == 403


async def test_metrics_show_backlogs_and_carry_no_personal_data(api, stack):
    """Guarantee 8: metric labels carry only the service; ops see outbox, dead letters, queues."""
    import re

    for name in ("intake", "eligibility", "decision", "payment_queue", "notifier"):
        r = await api.gw.get(f"{stack.url(name)}/metrics")
        assert r.status_code == 200
        assert "emaket_outbox_backlog{" in r.text and "emaket_dead_letters_open{" in r.text
        # No IIN in a label (a latency's sum may well have twelve digits after the point).
        labels = [v for f in text_string_to_metric_families(r.text) for s in f.samples for v in s.labels.values()]
        assert not [v for v in labels if re.search(r"\d{12}", v)]
        assert not re.search(r"\d{12}", "\n".join(line for line in r.text.splitlines() if line.startswith("#")))
    intake = (await api.gw.get(f"{stack.url('intake')}/metrics")).text
    assert "emaket_applications_due_provisional" in intake  # facts.md: rule-only due dates are visible to ops
