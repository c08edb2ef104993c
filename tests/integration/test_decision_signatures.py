"""Signed decisions across a key rotation: decision signs and publishes its keys, payment_queue verifies and pays.

Both services run on one fresh database (their own schemas) with the dev key layout of a shared data folder:
<data>/keys/decision-signing-ed25519.pem (current), <data>/keys/retired/*.pem, <data>/keys/decision-jwks.json.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker

from common.envelope import Envelope, make_event
from common.events import DecisionDocument, DecisionSigned
from common.problems import install_problem_handlers
from services.decision import handlers as decision_handlers
from services.decision.adapters.orm import Decision
from services.decision.adapters.orm import messaging as decision_messaging
from services.decision.adapters.signer import DEV_KEY_NAME, Keyring, load_keyring, rotate, write_jwks
from services.decision.api import keys_router, router
from services.payment_queue import handlers as queue_handlers
from services.payment_queue.adapters.decision_keys import DecisionKeys
from services.payment_queue.adapters.orm import PaymentOrder
from services.payment_queue.adapters.payments_db import PaymentsDatabase
from tests.callers import caller_headers
from tests.integration.helpers import (
    BURIAL_2026_KZT,
    application_data,
    application_event,
    eligibility_data,
    migrated,
    new_iin,
    outbox_events,
)


@dataclass
class Decisions:
    """The decision service's use cases with the keys of one moment (before or after the rotation)."""

    sessions: async_sessionmaker
    data_dir: Path

    def keyring(self) -> Keyring:
        """What decision's start-up does: load the current and retired keys, publish the JWKS."""
        keyring = load_keyring(None, None, dev_mode=True, data_dir=self.data_dir)
        write_jwks(keyring, self.jwks)
        return keyring

    @property
    def jwks(self) -> Path:
        return self.data_dir / "keys" / "decision-jwks.json"

    async def decide(self, keyring: Keyring, applicant: str) -> Decision:
        """A proactive burial of a relative paid to their own account: signed by the system (B§19-1)."""
        service = decision_handlers.DecisionService(keyring)
        application = application_data(channel="proactive", applicant_iin=applicant)
        checks = eligibility_data(application)
        checks["facts"] |= {"payee_account_owned": True, "applicant_kinship": "spouse"}
        for handler, event in (
            (service.on_application_registered, application_event("application.registered", application)),
            (service.on_eligibility_checked,
             make_event("eligibility.checked", source="eligibility", subject=application["application_id"], data=checks)),
        ):
            async with self.sessions() as session, session.begin():
                await handler(session, event)
        async with self.sessions() as session:
            return await session.scalar(
                select(Decision).where(Decision.application_id == uuid.UUID(application["application_id"])))


@pytest.fixture
async def database(fresh_database) -> str:
    return fresh_database()


@pytest.fixture
async def decisions(database, tmp_path) -> AsyncIterator[Decisions]:
    async with migrated(database, "decision") as sessions:
        yield Decisions(sessions, tmp_path)


@pytest.fixture
async def queue_sessions(database) -> AsyncIterator[async_sessionmaker]:
    async with migrated(database, "payment_queue") as sessions:
        yield sessions


def http_for(decisions: Decisions, keyring: Keyring) -> httpx.AsyncClient:
    """Decision's routes (verification, JWKS) as its app serves them, with the given keys."""
    app = FastAPI()
    install_problem_handlers(app)
    app.include_router(router)
    app.include_router(keys_router)
    app.state.runtime = SimpleNamespace(
        name="decision", sessions=decisions.sessions,
        extras={"decisions": decision_handlers.DecisionService(keyring)},
        settings=SimpleNamespace(internal_jwks=os.environ["INTERNAL_JWKS"], data_dir=None),
    )
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://decision")


async def signed_events(decisions: Decisions) -> list[Envelope]:
    return [e for e in await outbox_events(decisions.sessions, decision_messaging) if e.name == "decision.signed"]


async def test_after_a_key_rotation_old_decisions_verify_new_ones_use_the_new_kid_and_both_are_paid(
    decisions, queue_sessions, sandbox
):
    """B§19-1 (approved with the EDS, verifiable later): rotating the signing key keeps every past signature
    verifiable — by the decision's own verification endpoint (a citizen checks their own) and by the payment queue,
    which pays decisions signed before and after the rotation."""
    before_citizen, after_citizen = new_iin(sex="F"), new_iin(sex="F")
    first_keys = decisions.keyring()
    before = await decisions.decide(first_keys, before_citizen)

    keys_dir = decisions.data_dir / "keys"
    rotate(keys_dir / DEV_KEY_NAME, keys_dir / "retired")
    second_keys = decisions.keyring()  # decision restarted with a new current key, the old one retired
    assert second_keys.current.key_id != first_keys.current.key_id
    assert first_keys.current.key_id in second_keys.retired
    after = await decisions.decide(second_keys, after_citizen)

    assert (before.key_id, after.key_id) == (first_keys.current.key_id, second_keys.current.key_id)
    assert after.signed_document["kid"] == second_keys.current.key_id

    async with http_for(decisions, second_keys) as http:
        jwks = (await http.get("/.well-known/jwks.json")).json()
        assert {(k["kid"], k["status"]) for k in jwks["keys"]} == {
            (first_keys.current.key_id, "retired"), (second_keys.current.key_id, "current")}
        for decision, citizen in ((before, before_citizen), (after, after_citizen)):
            r = await http.get(f"/api/v1/decisions/{decision.id}/verification",
                               headers=caller_headers("citizen", citizen, service="decision"))
            assert r.status_code == 200, r.text
            checked = r.json()
            assert (checked["valid"], checked["key_known"], checked["case_file_matches"]) == (True, True, True)
            assert checked["key_id"] == decision.key_id and checked["public_key_jwk"]["kid"] == decision.key_id
            assert checked["canonicalization"] == "RFC 8785"

    [first_event, second_event] = await signed_events(decisions)
    assert [DecisionSigned.of(e).kid for e in (first_event, second_event)] == [before.key_id, after.key_id]
    queue = queue_handlers.SignedDecisions(DecisionKeys(str(decisions.jwks), min_refresh_s=0))
    for event in (first_event, second_event):
        async with queue_sessions() as session, session.begin():
            await queue.on_decision_signed(session, event)
    payments_db = PaymentsDatabase(sandbox.client("payments"))
    assert await queue_handlers.place_one(queue_sessions, payments_db) == 1
    assert await queue_handlers.place_one(queue_sessions, payments_db) == 1
    placed = {p["decision_id"]: p for p in await sandbox.sent("payments")}
    assert set(placed) == {str(before.id), str(after.id)}
    assert {p["iin"] for p in placed.values()} == {before_citizen, after_citizen}
    assert all(p["amount_kzt"] == BURIAL_2026_KZT for p in placed.values())
    async with queue_sessions() as session:
        assert await queue_handlers.list_held(session, status="held", limit=10) == []
        orders = list(await session.scalars(select(PaymentOrder)))
    assert {o.status for o in orders} == {"placed"}


async def test_the_signed_event_carries_the_document_the_signature_and_the_kid(decisions):
    """docs/design.md Signatures: decision.signed names decision, application, benefit, outcome, payee, IBAN,
    amount, period, reasons, signer, time and the case file's hash, and that is exactly what is signed."""
    keys = decisions.keyring()
    citizen = new_iin(sex="F")
    decision = await decisions.decide(keys, citizen)
    [event] = await signed_events(decisions)
    signed = DecisionSigned.of(event)
    document = DecisionDocument.model_validate(signed.signed_document)
    assert signed.kid == keys.current.key_id == document.kid
    assert keys.verify(signed.signed_document or {}, signed.signature or "", signed.kid)
    assert (document.decision_id, document.application_id, document.outcome) == (
        decision.id, decision.application_id, "assign")
    assert (document.payee.iin, document.iban, document.amount_kzt) == (citizen, signed.payment.iban, BURIAL_2026_KZT)
    assert document.case_file_sha256 == decision.case_file_sha256
    tampered: dict[str, Any] = (signed.signed_document or {}) | {"amount_kzt": BURIAL_2026_KZT + 1}
    assert not keys.verify(tampered, signed.signature or "", signed.kid)
