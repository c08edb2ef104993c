"""Eligibility's handlers and check worker on a fresh database, asking the real sandbox registries."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timezone

import pytest
from sqlalchemy import func, select

from common.envelope import Envelope
from services.eligibility import handlers
from services.eligibility.adapters.egov import EgovRegistries
from services.eligibility.adapters.orm import Check, messaging
from tests.integration.helpers import (
    DIED,
    IBAN,
    OTHER_IBAN,
    application_data,
    application_event,
    deceased_fixtures,
    make_due_now,
    migrated,
    new_deceased,
    new_iin,
    outbox_events,
)


@pytest.fixture
async def sessions(fresh_database) -> AsyncIterator:
    async with migrated(fresh_database(), "eligibility") as factory:
        yield factory


@pytest.fixture
def registries(sandbox) -> EgovRegistries:
    return EgovRegistries(sandbox.client("egov"))


async def receive(sessions, data: dict) -> Envelope:
    event = application_event("application.received", data)
    async with sessions() as session, session.begin():
        await handlers.on_application_received(session, event)
    return event


async def load(sessions, application_id: str, round_: int = 1) -> Check:
    async with sessions() as session:
        return await session.get(Check, (uuid.UUID(application_id), round_))


async def test_the_same_application_received_twice_makes_one_check(sessions):
    """Guarantee 1: a redelivered application.received records no second job."""
    data = application_data(registered=False)
    event = await receive(sessions, data)
    async with sessions() as session, session.begin():
        await handlers.on_application_received(session, event)
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Check)) == 1
    check = await load(sessions, data["application_id"])
    assert check.status == "pending" and check.attempts == 0


async def test_eligible_case_is_checked_with_the_registry_answers_as_evidence(sessions, sandbox, registries):
    """B§13 checks 1-5 pass; the event keeps every registry answer relied on (B§19-1, Annex 7)."""
    deceased = new_deceased()
    await sandbox.seed(**deceased_fixtures(deceased))
    data = application_data(deceased_iin=deceased)
    await receive(sessions, data)

    assert await handlers.run_one_check(sessions, registries) == 1
    assert await handlers.run_one_check(sessions, registries) == 0  # nothing else due

    check = await load(sessions, data["application_id"])
    assert check.status == "done" and check.completed_at is not None
    [event] = await outbox_events(sessions, messaging)
    assert event.name == "eligibility.checked" and event.subject == data["application_id"]
    result = event.data
    assert result["eligible"] is True and result["reasons"] == []
    assert result["facts"]["date_of_death"] == DIED
    assert result["facts"]["recipient_kind"] == "age_pension"
    assert result["facts"]["payee_iban"] == IBAN
    queried = {e["query"]: e for e in result["evidence"]}
    assert {"persons", "civil.deaths", "pensions.recipients"} <= set(queried)
    assert queried["civil.deaths"]["answer"]["date"] == DIED
    assert all(e["status"] == 200 and e["registry"] for e in queried.values())


async def test_registry_outage_delays_the_check_and_never_refuses(sessions, sandbox, registries):
    """Guarantee 4: retries exhausted → the job waits with backoff; no result, so nothing is refused."""
    deceased = new_deceased()
    await sandbox.seed(**deceased_fixtures(deceased))
    data = application_data(deceased_iin=deceased)
    await receive(sessions, data)
    await sandbox.fail_next("egov", 3)  # every attempt of the client's first call

    before = datetime.now(timezone.utc)
    assert await handlers.run_one_check(sessions, registries) == 1
    check = await load(sessions, data["application_id"])
    assert check.status == "pending"
    assert check.attempts == 1
    assert check.next_attempt_at > before
    assert "egov" in check.last_error
    assert await outbox_events(sessions, messaging) == []
    assert await handlers.run_one_check(sessions, registries) == 0  # not due yet: backoff holds

    await sandbox.clear_faults()
    await make_due_now(sessions, Check, application_id=uuid.UUID(data["application_id"]))
    assert await handlers.run_one_check(sessions, registries) == 1
    check = await load(sessions, data["application_id"])
    assert check.status == "done"
    [event] = await outbox_events(sessions, messaging)
    assert event.data["eligible"] is True


async def test_portal_application_without_iban_is_paid_to_the_account_the_bank_registry_knows(
    sessions, sandbox, registries
):
    """B§13 check 1: the account to pay to may come from the registry instead of the application."""
    deceased, citizen = new_deceased(), new_iin()
    await sandbox.seed(**deceased_fixtures(deceased), bank_accounts=[{"iin": citizen, "iban": OTHER_IBAN}])
    data = application_data(channel="portal", applicant_iin=citizen, deceased_iin=deceased, iban=None, registered=False)
    await receive(sessions, data)

    await handlers.run_one_check(sessions, registries)
    [event] = await outbox_events(sessions, messaging)
    assert event.data["eligible"] is True, event.data["reasons"]
    assert event.data["facts"]["payee_iban"] == OTHER_IBAN
    assert "bank_accounts" in {e["query"] for e in event.data["evidence"]}


async def test_portal_application_without_any_account_is_incomplete(sessions, sandbox, registries):
    """B§13 check 1: no account in the application nor in the registry → incomplete (the citizen is told)."""
    deceased = new_deceased()
    await sandbox.seed(**deceased_fixtures(deceased))
    data = application_data(channel="portal", deceased_iin=deceased, iban=None, registered=False)
    await receive(sessions, data)

    await handlers.run_one_check(sessions, registries)
    [event] = await outbox_events(sessions, messaging)
    assert event.data["eligible"] is False
    assert [r["code"] for r in event.data["reasons"]] == ["incomplete"]
    assert event.data["facts"]["payee_iban"] is None


async def test_deceased_who_received_no_pension_is_not_a_recipient(sessions, sandbox, registries):
    """B§13 check 4: no pension or benefit at the date of death → not eligible, ground 2."""
    deceased = new_deceased()
    await sandbox.seed(**deceased_fixtures(deceased, recipient=False))
    data = application_data(deceased_iin=deceased)
    await receive(sessions, data)

    await handlers.run_one_check(sessions, registries)
    [event] = await outbox_events(sessions, messaging)
    assert [(r["code"], r["ground"]) for r in event.data["reasons"]] == [("not_a_recipient", 2)]
