"""Issue 8 point 2: after one case end to end, every process's /metrics is Prometheus text that carries the
case's benefit on the business series, and no label carries an IIN, a phone, an IBAN or an id."""

from __future__ import annotations

import re

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.conftest import burial_body, new_iin, new_phone, seed_deceased, wait_sms

pytestmark = pytest.mark.e2e

SERVICES = ("intake", "eligibility", "decision", "payment_queue", "notifier")
PERSONAL = re.compile(r"\d{12}|\+?7\d{10}|KZ\d{2}[0-9A-Z]{4,}|[0-9a-f]{8}-[0-9a-f]{4}-", re.I)


def _samples(text: str) -> list:
    families = list(text_string_to_metric_families(text))
    for family in families:
        assert family.documentation, family.name  # HELP on every family (TYPE: the parser reads it)
        assert family.type in {"counter", "gauge", "histogram", "summary", "info", "stateset", "unknown"}
        assert family.type != "unknown", family.name
    return [sample for family in families for sample in family.samples]


def _total(samples: list, name: str, **labels: str) -> float:
    return sum(s.value for s in samples if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()))


async def test_every_process_exposes_the_case_per_benefit_and_nothing_personal(api, stack):
    deceased, fixtures = seed_deceased(died="2026-10-06")
    await api.seed(**fixtures)
    phone = new_phone()
    body = burial_body(channel="proactive", applicant_iin=new_iin(), deceased_iin=deceased, phone=phone)
    r = await api.submit(body, role="mobile")
    assert r.status_code == 202, r.text
    await api.wait_status(r.json()["id"], {"payment_queued"})
    await wait_sms(api, phone, 3)

    samples = {}
    for name in SERVICES:
        r = await api.gw.get(f"{stack.url(name)}/metrics")
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain; version=0.0.4")
        samples[name] = _samples(r.text)
    r = await api.gw.get("/metrics")
    assert r.status_code == 200
    samples["gateway"] = _samples(r.text)

    burial = {"benefit": "burial"}
    assert _total(samples["intake"], "emaket_applications_received_total", channel="proactive", **burial) >= 1
    for stage in ("received_to_registered", "registered_to_decided", "decided_to_payment_queued"):
        assert _total(samples["intake"], "emaket_stage_duration_seconds_count", stage=stage, **burial) >= 1, stage
    assert _total(samples["intake"], "emaket_cases_open", channel="proactive", **burial) >= 1
    assert _total(samples["decision"], "emaket_decisions_signed_total", outcome="assigned", signer="automatic", **burial) >= 1
    assert _total(samples["payment_queue"], "emaket_payment_orders_placed_total", **burial) >= 1
    # This case's order is placed and not yet confirmed paid (the sandbox pays only when told to).
    assert _total(samples["payment_queue"], "emaket_payment_orders_oldest_unpaid_seconds") > 0
    assert _total(samples["payment_queue"], "emaket_job_attempts_total", job="payment_orders", result="succeeded") >= 1
    assert _total(samples["eligibility"], "emaket_job_attempts_total", result="succeeded") >= 1
    assert _total(samples["notifier"], "emaket_messages_sent_total", kind="result", channel="sms") >= 1
    assert _total(samples["gateway"], "emaket_gateway_requests_total", route="/api/v1/applications", method="POST",
                  status_class="2xx") >= 1
    assert _total(samples["gateway"], "emaket_gateway_request_duration_seconds_count", route="/api/v1/applications/{id}") >= 1
    for name in SERVICES:
        assert _total(samples[name], "emaket_outbox_backlog") >= 0
        assert {s.labels.get("service") for s in samples[name] if s.name.startswith("emaket_")} <= {name}

    for name, found in samples.items():
        for s in found:
            for key, value in s.labels.items():
                assert not PERSONAL.search(value), (name, s.name, key, value)


async def test_the_sla_view_through_the_gateway(api):
    r = await api.gw.get("/api/v1/ops/sla", headers=await api.auth("ops", "ops-sla"))
    assert r.status_code == 200, r.text
    report = r.json()
    assert set(report["totals"]) == {"open", "due_today", "due_next_working_day", "overdue"}
    assert report["timezone"] == "Asia/Almaty"
    assert (await api.gw.get("/api/v1/ops/sla", headers=await api.auth("specialist", "s"))).status_code == 403
    document = (await api.gw.get("/openapi.json")).json()
    assert "/api/v1/ops/sla" in document["paths"] and "/api/v1/ops/intake/sla" not in document["paths"]
    assert document["paths"]["/api/v1/ops/sla"]["get"]["x-roles"] == ["ops"]
