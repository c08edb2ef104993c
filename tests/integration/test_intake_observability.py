"""Intake's /metrics (Prometheus text, HELP and TYPE on every family) and ops' SLA view, on a fresh database."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import update

from services.intake.adapters.orm import Application
from services.intake.sla import almaty_today
from tests.callers import caller_headers
from tests.integration.helpers import IBAN, new_deceased, new_iin, new_phone
from tests.integration.test_intake import Intake, running_intake


@pytest.fixture
async def intake(fresh_database, kafka_bootstrap, monkeypatch) -> AsyncIterator[Intake]:
    async with running_intake(monkeypatch, fresh_database(), kafka_bootstrap) as running:
        yield running


async def _file_proactive_burial(http: httpx.AsyncClient) -> str:
    body = {
        "benefit": "burial",
        "channel": "proactive",
        "applicant": {"iin": new_iin()},
        "phone": new_phone(),
        "consents": {"personal_data": True, "proactive": True},
        "deceased_iin": new_deceased(),
        "bank_account": {"iban": IBAN},
    }
    headers = caller_headers("mobile") | {"Idempotency-Key": str(uuid.uuid4())}
    r = await http.post("/api/v1/applications", json=body, headers=headers)
    assert r.status_code == 202, r.text
    assert r.json()["status"] == "registered"  # proactive burial: registered on receipt, with its due date
    return r.json()["id"]


def _samples(text: str) -> list:
    return [sample for family in text_string_to_metric_families(text) for sample in family.samples]


def _value(samples: list, name: str, **labels: str) -> float | None:
    for s in samples:
        if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
            return s.value
    return None


async def test_metrics_parse_with_help_and_type_and_count_cases_against_their_due_dates(intake):
    http, sessions = intake.http, intake.sessions
    late = await _file_proactive_burial(http)
    await _file_proactive_burial(http)
    yesterday = almaty_today(datetime.now(timezone.utc)) - timedelta(days=1)
    async with sessions() as session, session.begin():
        await session.execute(update(Application).where(Application.id == uuid.UUID(late)).values(due_by=yesterday))

    r = await http.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain; version=0.0.4")
    text = r.text
    families = list(text_string_to_metric_families(text))
    for family in families:
        assert family.documentation, family.name
        assert re.search(rf"^# TYPE {family.name}(_total)? {family.type}$", text, re.M), family.name
    samples = _samples(text)
    burial = {"service": "intake", "benefit": "burial", "channel": "proactive"}
    assert _value(samples, "emaket_cases_open", **burial) == 2
    assert _value(samples, "emaket_cases_overdue", **burial) == 1
    assert _value(samples, "emaket_cases_overdue", service="intake", benefit="disability", channel="portal") == 0
    assert (_value(samples, "emaket_applications_received_total", **burial) or 0) >= 2
    assert (_value(samples, "emaket_stage_duration_seconds_count", service="intake", benefit="burial",
                   stage="received_to_registered") or 0) >= 2
    assert _value(samples, "emaket_outbox_backlog", service="intake") is not None
    assert _value(samples, "emaket_applications_due_provisional", service="intake") == 0
    for s in samples:  # guarantee 8: no IIN, phone, IBAN or id in a label
        for value in s.labels.values():
            assert not re.search(r"\d{10,}|KZ\d\d|[0-9a-f]{8}-[0-9a-f]{4}", value), (s.name, s.labels)


async def test_the_sla_view_answers_ops_only_with_counts_and_the_most_overdue_case(intake):
    http, sessions = intake.http, intake.sessions
    late = await _file_proactive_burial(http)
    await _file_proactive_burial(http)
    today = almaty_today(datetime.now(timezone.utc))
    async with sessions() as session, session.begin():
        await session.execute(
            update(Application).where(Application.id == uuid.UUID(late)).values(due_by=today - timedelta(days=3))
        )

    for role in ("citizen", "mobile", "operator", "specialist"):
        r = await http.get("/api/v1/ops/sla", headers=caller_headers(role, new_iin() if role == "citizen" else None))
        assert r.status_code == 403, (role, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
    assert (await http.get("/api/v1/ops/sla")).status_code == 401

    r = await http.get("/api/v1/ops/sla", headers=caller_headers("ops"))
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["timezone"] == "Asia/Almaty" and report["today"] == today.isoformat()
    assert report["totals"]["open"] == 2 and report["totals"]["overdue"] == 1
    (group,) = report["groups"]
    assert (group["benefit"], group["channel"], group["status"], group["open"], group["overdue"]) == (
        "burial", "proactive", "registered", 2, 1,
    )
    assert group["oldest_received_at"] and "oldest_due_by" in group
    (burial,) = report["benefits"]
    assert burial["oldest_overdue"]["application_id"] == late
    assert burial["oldest_overdue"]["due_by"] == (today - timedelta(days=3)).isoformat()
    assert not re.search(r"\d{12}", r.text)  # no IIN anywhere in the answer

    schema = (await http.get("/openapi.json")).json()
    operation = schema["paths"]["/api/v1/ops/sla"]["get"]
    assert {"200", "401", "403"} <= set(operation["responses"])
