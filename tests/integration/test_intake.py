"""Intake through its real app (lifespan: migrations, engine, producer, outbox relay) on a fresh database.

Callers send the headers the gateway forwards (docs/design.md "Caller identity"). Intake's Kafka
consumer is left out of these apps: its handlers are called directly here (and the consumer loop is
exercised end to end in tests/e2e), while joining the consumer group in the mock cluster costs
3-9 s per app start/stop, which one app per test could not afford.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timezone

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import async_sessionmaker

from common.calendar import default_calendar
from services.intake import app as intake_app
from services.intake import handlers
from services.intake.adapters import repository
from services.intake.adapters.orm import (
    Application,
    Claim,
    JournalEntry,
    messaging,
)
from services.intake.handlers import IntakeService
from services.intake.settings import IntakeSettings
from tests.callers import JWKS_FILE, KEY_FILE, MINTER, caller_headers
from tests.integration.helpers import (
    IBAN,
    application_data,
    decision_event,
    decision_signed_data,
    new_deceased,
    new_iin,
    new_phone,
    outbox_names,
)

PROBLEM = "application/problem+json"


@dataclass
class Intake:
    http: httpx.AsyncClient
    sessions: async_sessionmaker

    async def submit(self, body: dict, *, role: str, sub: str | None = None, key: str | None = None) -> httpx.Response:
        headers = caller_headers(role, sub) | {"Idempotency-Key": key or str(uuid.uuid4())}
        return await self.http.post("/api/v1/applications", json=body, headers=headers)

    async def count(self, model, *where) -> int:
        async with self.sessions() as session:
            return await session.scalar(select(func.count()).select_from(model).where(*where))


@asynccontextmanager
async def running_intake(monkeypatch: pytest.MonkeyPatch, database_url: str, kafka_bootstrap: str) -> AsyncIterator[Intake]:
    """Intake's real app (migrations, relay, workers) without its consumer loop, on ``database_url``."""
    monkeypatch.setattr(intake_app, "consumers", lambda runtime: [])
    settings = IntakeSettings(DATABASE_URL=database_url, KAFKA_BOOTSTRAP_SERVERS=kafka_bootstrap, DEV_MODE=True)
    app = intake_app.create_app(settings)
    async with app.router.lifespan_context(app):
        # An unexpected exception comes back as the 500 a client would see, not raised into the test.
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://intake") as http:
            yield Intake(http, app.state.runtime.sessions)


@pytest.fixture
async def intake(fresh_database, kafka_bootstrap, monkeypatch) -> AsyncIterator[Intake]:
    async with running_intake(monkeypatch, fresh_database(), kafka_bootstrap) as running:
        yield running


def burial(channel: str, *, applicant: str, deceased: str, **extra) -> dict:
    body = {
        "benefit": "burial",
        "channel": channel,
        "applicant": {"iin": applicant},
        "consents": {"personal_data": True, "proactive": channel == "proactive"},
        "deceased_iin": deceased,
        "bank_account": {"iban": IBAN},
    }
    if channel == "proactive":
        body["phone"] = new_phone()
    return body | extra


def proactive(deceased: str | None = None) -> dict:
    return burial("proactive", applicant=new_iin(), deceased=deceased or new_deceased())


def _forged_credentials() -> dict[str, dict[str, str]]:
    """Everything an attacker on the service network could send instead of the gateway's credential."""
    stranger_key = Ed25519PrivateKey.generate()
    now = int(time.time())
    claims = {"iss": "emaket-gateway", "aud": "intake", "sub": "ops-1", "role": "ops", "iat": now, "exp": now + 30}
    header = {"typ": "emaket-internal+jwt", "kid": MINTER.kid}

    def bearer(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    return {
        "nothing": {},
        "X-Caller headers (the old trust)": {"X-Caller-Role": "ops", "X-Caller-Sub": "ops-1"},
        "another key under the gateway's kid": bearer(jwt.encode(claims, stranger_key, "EdDSA", headers=header)),
        "minted for another service": caller_headers("ops", service="decision"),
        "expired": bearer(jwt.encode(claims | {"iat": now - 120, "exp": now - 60}, _test_key(), "EdDSA", headers=header)),
        "living too long": bearer(jwt.encode(claims | {"exp": now + 3600}, _test_key(), "EdDSA", headers=header)),
        "an access token's typ": bearer(jwt.encode(claims, _test_key(), "EdDSA", headers=header | {"typ": "at+jwt"})),
        "no subject": bearer(jwt.encode({k: v for k, v in claims.items() if k != "sub"}, _test_key(), "EdDSA", headers=header)),
        "unknown role": bearer(jwt.encode(claims | {"role": "admin"}, _test_key(), "EdDSA", headers=header)),
        "alg none": bearer(jwt.encode(claims, None, "none", headers=header)),
        "HS256 with the public key set as secret": bearer(_hs256(claims, header, JWKS_FILE.read_bytes())),
    }


def _hs256(claims: dict, header: dict, secret: bytes) -> str:
    """Hand-made: PyJWT itself refuses a public key as an HMAC secret, an attacker would not."""
    def part(obj: dict) -> bytes:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=")

    signing_input = part(header | {"alg": "HS256"}) + b"." + part(claims)
    signature = base64.urlsafe_b64encode(hmac.new(secret, signing_input, hashlib.sha256).digest()).rstrip(b"=")
    return (signing_input + b"." + signature).decode()


def _test_key():
    from cryptography.hazmat.primitives import serialization

    return serialization.load_pem_private_key(KEY_FILE.read_bytes(), password=None)


@pytest.mark.parametrize("how", list(_forged_credentials()))
async def test_no_side_door_anything_but_the_gateways_credential_is_401(intake, how):
    """Issue 6 point 1: a request straight to the service port is refused, whatever it claims."""
    headers = _forged_credentials()[how]
    for method, path, body in (
        ("POST", "/api/v1/applications", proactive()),
        ("GET", "/api/v1/applications", None),
        ("GET", f"/api/v1/applications/{uuid.uuid4()}", None),
        ("GET", "/api/v1/ops/dead-letters", None),
    ):
        r = await intake.http.request(method, path, json=body, headers=headers | {"Idempotency-Key": "k"})
        assert r.status_code == 401, (how, path, r.text)
        assert r.headers["content-type"].startswith(PROBLEM)
    assert await intake.count(Application) == 0


async def test_the_gateways_credential_is_accepted_for_its_audience(intake):
    r = await intake.http.get("/api/v1/applications", headers=caller_headers("ops", "ops-1"))
    assert r.status_code == 200, r.text


@pytest.mark.law("D-Std10.portal-with-eds", "S-Std10.portal-with-eds")
@pytest.mark.parametrize(
    ("role", "channel"),
    [("mobile", "portal"), ("citizen", "proactive"), ("operator", "portal"), ("ops", "state_corp")],
)
async def test_role_may_file_only_through_its_channel_403(intake, role, channel):
    """api.md Role ↔ channel: citizen→portal, mobile→proactive, operator→state_corp; ops files nothing."""
    applicant = new_iin()
    body = burial(channel, applicant=applicant, deceased=new_deceased(), phone=new_phone())
    r = await intake.submit(body, role=role, sub=applicant)
    assert r.status_code == 403, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    assert await intake.count(Application) == 0


async def test_citizen_files_only_in_their_own_name_403(intake):
    """api.md: applicant.iin must equal the token's sub for a citizen."""
    body = burial("portal", applicant=new_iin(), deceased=new_deceased())
    r = await intake.submit(body, role="citizen", sub=new_iin())
    assert r.status_code == 403
    assert r.json()["type"].endswith("not-your-application")


@pytest.mark.law("B16.proactive-auto-registration", "B13.auto-registered-in-journal", "B-Std4.form")
async def test_proactive_burial_is_registered_at_once_with_journal_and_both_events_in_one_database(intake):
    """B§16 + guarantee 1: registration, journal row (Annex 6) and outbox events commit together."""
    r = await intake.submit(proactive(), role="mobile")
    assert r.status_code == 202, r.text
    app = r.json()
    assert app["status"] == "registered"
    assert app["registration_number"].startswith("BUR-")
    assert r.headers["location"] == f"/api/v1/applications/{app['id']}"
    app_id = uuid.UUID(app["id"])
    assert await intake.count(JournalEntry, JournalEntry.application_id == app_id) == 1
    assert await outbox_names(intake.sessions, messaging) == ["application.received", "application.registered"]


@pytest.mark.law("B13.passed-to-incoming-journal")
async def test_portal_burial_stays_received_until_the_checks(intake):
    """B§13: a portal application is registered only after the checks; only the receipt event is out."""
    citizen = new_iin()
    r = await intake.submit(burial("portal", applicant=citizen, deceased=new_deceased()), role="citizen", sub=citizen)
    assert r.status_code == 202, r.text
    assert r.json()["status"] == "received"
    assert r.json()["registration_number"] is None
    assert await intake.count(JournalEntry) == 0
    assert await outbox_names(intake.sessions, messaging) == ["application.received"]


@pytest.mark.law("B-Std8.portal-info-request", "D-Std3.portal-info-30min", "S-Std3.portal-info-30min",
                 "B-Std10.status-remote", "D-Std10.status-remote", "S-Std10.status-remote")
async def test_a_citizen_reads_the_status_of_their_own_application_at_once(intake):
    """B-Std p.8, D-Std/S-Std p.3 (within 30 minutes), each Std p.10: the read model answers the applicant at once
    with the status and its history, without asking any registry; another citizen learns nothing."""
    citizen = new_iin()
    r = await intake.submit(burial("portal", applicant=citizen, deceased=new_deceased()), role="citizen", sub=citizen)
    app_id = r.json()["id"]
    started = time.monotonic()
    read = await intake.http.get(f"/api/v1/applications/{app_id}", headers=caller_headers("citizen", citizen))
    assert time.monotonic() - started < 5
    assert read.status_code == 200, read.text
    assert read.json()["status"] == "received" and [h["status"] for h in read.json()["history"]] == ["received"]
    mine = await intake.http.get("/api/v1/applications", headers=caller_headers("citizen", citizen))
    assert [a["id"] for a in mine.json()["items"]] == [app_id]
    other = await intake.http.get(f"/api/v1/applications/{app_id}", headers=caller_headers("citizen", new_iin()))
    assert other.status_code == 404


async def test_malformed_input_is_422_naming_every_field_and_stores_nothing(intake):
    """api.md: bad IIN check digit, bad IBAN, unknown enum, missing field → one 422 naming each; nothing stored."""
    body = proactive() | {"deceased_iin": "123456789012", "bank_account": {"iban": "KZ00125KZT5004100100"}, "phone": None}
    body["applicant"] = {"iin": new_iin()}
    body["documents"] = [{"type": "death_certificate", "issued_on": "not-a-date"}]
    r = await intake.submit(body | {"benefit": "pension"}, role="mobile")
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    fields = {e["field"] for e in r.json()["errors"]}
    assert {"benefit", "deceased_iin", "bank_account.iban", "phone", "documents[0].issued_on"} <= fields
    assert await intake.count(Application) == 0
    assert await outbox_names(intake.sessions, messaging) == []


async def test_same_idempotency_key_and_body_replays_the_same_application(intake):
    """api.md idempotency: same key + same body → same application, marked as a replay."""
    body = proactive()
    first = await intake.submit(body, role="mobile", key="retry-1")
    again = await intake.submit(body, role="mobile", key="retry-1")
    assert first.status_code == again.status_code == 202
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert await intake.count(Application) == 1
    assert await outbox_names(intake.sessions, messaging) == ["application.received", "application.registered"]


async def test_same_idempotency_key_with_another_body_is_409_and_stores_nothing_more(intake):
    """api.md idempotency: the same key with a different body → 409."""
    body = proactive()
    first = await intake.submit(body, role="mobile", key="retry-2")
    other = await intake.submit(body | {"phone": new_phone()}, role="mobile", key="retry-2")
    assert first.status_code == 202
    assert other.status_code == 409
    assert other.headers["content-type"].startswith(PROBLEM)
    assert await intake.count(Application) == 1


@pytest.mark.law("B13.check3.no-application-filed", "B13.check2.no-payment-assigned")
async def test_ten_concurrent_applications_for_one_deceased_register_exactly_one(intake):
    """B§13 check 3 + guarantee 2: the database lets one application per deceased through; the rest are duplicates."""
    deceased = new_deceased()
    responses = await asyncio.gather(*(intake.submit(proactive(deceased), role="mobile") for _ in range(10)))
    assert [r.status_code for r in responses] == [202] * 10
    apps = [r.json() for r in responses]
    winners = [a for a in apps if not a["reasons"]]
    losers = [a for a in apps if a["reasons"]]
    assert len(winners) == 1 and winners[0]["status"] == "registered"
    assert len(losers) == 9
    assert all(a["status"] == "rejected" and [x["code"] for x in a["reasons"]] == ["duplicate_application"] for a in losers)
    assert await intake.count(Claim) == 1
    assert await intake.count(Claim, Claim.key == f"burial:{deceased}") == 1
    assert await intake.count(Claim, Claim.application_id == uuid.UUID(winners[0]["id"])) == 1


async def _sign(intake: Intake, application_id: str, outcome: str) -> None:
    """decision.signed as the consumer would hand it over (B§19-1 result)."""
    data = decision_signed_data(application_data() | {"application_id": application_id}, outcome=outcome)
    async with intake.sessions() as session, session.begin():
        await IntakeService(default_calendar()).on_decision_signed(session, decision_event(data))


@pytest.mark.law("B13.check2.no-payment-assigned")
async def test_assigned_decision_keeps_the_claim_so_a_new_application_is_already_assigned(intake):
    """B§13 check 2: once a burial payment is assigned for the deceased, a new application is rejected."""
    deceased = new_deceased()
    first = (await intake.submit(proactive(deceased), role="mobile")).json()
    await _sign(intake, first["id"], "assign")
    assert await intake.count(Claim, Claim.state == "assigned") == 1

    again = await intake.submit(proactive(deceased), role="mobile")
    assert again.json()["status"] == "rejected"
    assert [x["code"] for x in again.json()["reasons"]] == ["already_assigned"]


@pytest.mark.law("B-Std9.reapply-after-cause-removed")
async def test_refused_decision_releases_the_claim_so_the_applicant_may_apply_again(intake):
    """Std p.9: after a refusal the applicant may apply again once the cause is removed."""
    deceased = new_deceased()
    first = (await intake.submit(proactive(deceased), role="mobile")).json()
    await _sign(intake, first["id"], "refuse")

    again = await intake.submit(proactive(deceased), role="mobile")
    assert again.json()["status"] == "registered", again.json()
    assert again.json()["reasons"] == []
    async with intake.sessions() as session:
        claim = await session.get(Claim, f"burial:{deceased}")
        refused = await session.get(Application, uuid.UUID(first["id"]))
    assert claim.application_id == uuid.UUID(again.json()["id"]) and claim.state == "filed"
    assert refused.status == "refused"


@pytest.mark.law("B-Std2.channels")
async def test_burial_through_the_provider_channel_is_422_naming_the_channel(intake):
    """api.md: a channel not open for that benefit is malformed input → 422 naming the field; nothing stored."""
    body = burial("provider", applicant=new_iin(), deceased=new_deceased())
    r = await intake.submit(body, role="specialist", sub="spec-1")
    assert r.status_code == 422, r.text
    assert "channel" in {e["field"] for e in r.json()["errors"]}
    assert await intake.count(Application) == 0


async def test_a_read_is_one_snapshot_even_when_a_status_change_commits_between_its_queries(intake, monkeypatch):
    """The CI failure of 2026-11-25: a GET showed history [.., assigned, payment_queued] beside status assigned.

    A status change is committed from another session after the application row was read and before its
    history is; the response must still show one moment, with the history ending at the status shown.
    """
    r = await intake.submit(burial("proactive", applicant=new_iin(), deceased=new_deceased()), role="mobile")
    app_id = uuid.UUID(r.json()["id"])
    history_of = handlers.history_of

    async def history_after_a_concurrent_commit(session, ids):
        async with intake.sessions() as other, other.begin():
            app = await other.get(Application, app_id)
            app.status = "assigned"
            repository.add_history(other, app_id, "assigned", datetime.now(timezone.utc))
        return await history_of(session, ids)

    monkeypatch.setattr(handlers, "history_of", history_after_a_concurrent_commit)
    for path in (f"/api/v1/applications/{app_id}", "/api/v1/applications"):
        r = await intake.http.get(path, headers=caller_headers("mobile"))
        assert r.status_code == 200, r.text
        items = r.json()["items"] if "items" in r.json() else [r.json()]
        app = next(a for a in items if a["id"] == str(app_id))
        assert [h["status"] for h in app["history"]][-1] == app["status"], app
