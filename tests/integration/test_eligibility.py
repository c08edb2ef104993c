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


@pytest.mark.law("B-Std8.provider-gets-data-via-gateway", "B13.portal-applicant-queries-registries")
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


@pytest.mark.law("B13.check1.completeness")
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


@pytest.mark.law("B13.check4.recipient-on-date-of-death", "B-Std9.ground2.requirements-not-met")
async def test_deceased_who_received_no_pension_is_not_a_recipient(sessions, sandbox, registries):
    """B§13 check 4: no pension or benefit at the date of death → not eligible, ground 2."""
    deceased = new_deceased()
    await sandbox.seed(**deceased_fixtures(deceased, recipient=False))
    data = application_data(deceased_iin=deceased)
    await receive(sessions, data)

    await handlers.run_one_check(sessions, registries)
    [event] = await outbox_events(sessions, messaging)
    assert [(r["code"], r["ground"]) for r in event.data["reasons"]] == [("not_a_recipient", 2)]


# --- payee safety (Trust boundaries, point 4): who the automatic path pays -----------------------------


async def _burial_check(sessions, sandbox, registries, *, fixtures: dict, applicant: str, deceased: str,
                        iban: str | None = IBAN) -> dict:
    await sandbox.seed(**fixtures)
    data = application_data(channel="portal", applicant_iin=applicant, deceased_iin=deceased, iban=iban,
                            registered=False)
    await receive(sessions, data)
    await handlers.run_one_check(sessions, registries)
    [event] = await outbox_events(sessions, messaging)
    return event.data


@pytest.mark.law("B19-1.payee-safety")
async def test_a_strangers_portal_burial_to_their_own_iban_is_not_automated(sessions, sandbox, registries):
    """Project decision (payee safety): eligible, but an account the banks do not show as the applicant's and no
    kinship to the deceased in the registries take the case off the automatic path: a specialist decides."""
    deceased, stranger = new_deceased(), new_iin()
    result = await _burial_check(sessions, sandbox, registries, fixtures=deceased_fixtures(deceased),
                                 applicant=stranger, deceased=deceased)
    assert result["eligible"] is True and result["reasons"] == []
    assert result["automated"] is False
    assert (result["facts"]["payee_account_owned"], result["facts"]["applicant_kinship"]) == (False, None)
    lines = {line["rule"]: line for line in result["explanation"]}
    assert lines["payee_account_owned"]["outcome"] == "fail"
    assert lines["applicant_related"]["outcome"] == "fail"
    assert "project decision" in lines["payee_account_owned"]["paragraph"]
    asked = {e["query"] for e in result["evidence"]}
    assert {"bank_accounts", "civil.births", "civil.marriages", "civil.adoptions"} <= asked


@pytest.mark.parametrize("kin", ["child", "spouse", "adopted"])
async def test_a_relative_paid_to_their_own_account_stays_automated(sessions, sandbox, registries, kin):
    """B§19-1 with the payee-safety project decision: kinship in the civil registry and the applicant's own
    account keep the automatic path."""
    deceased, relative = new_deceased(), new_iin()
    links = {
        "child": {"births": [{"child_iin": relative, "mother_iin": None, "father_iin": deceased, "date": "1961-06-15"}]},
        "spouse": {"marriages": [{"iin_a": deceased, "iin_b": relative, "date": "1985-05-05", "dissolved_on": None}]},
        "adopted": {"adoptions": [{"child_iin": relative, "parent_iin": deceased, "date": "1965-01-01"}]},
    }[kin]
    fixtures = deceased_fixtures(deceased) | links | {"bank_accounts": [{"iin": relative, "iban": IBAN}]}
    result = await _burial_check(sessions, sandbox, registries, fixtures=fixtures, applicant=relative,
                                 deceased=deceased)
    assert result["eligible"] is True and result["automated"] is True
    assert result["facts"]["payee_account_owned"] is True
    assert result["facts"]["applicant_kinship"] == kin


async def test_a_relative_paid_to_someone_elses_account_is_not_automated(sessions, sandbox, registries):
    """Project decision (payee safety): kinship alone is not enough; the IBAN must be the applicant's own."""
    deceased, relative, other = new_deceased(), new_iin(), new_iin()
    fixtures = deceased_fixtures(deceased) | {
        "marriages": [{"iin_a": deceased, "iin_b": relative, "date": "1985-05-05", "dissolved_on": None}],
        "bank_accounts": [{"iin": other, "iban": IBAN}, {"iin": relative, "iban": OTHER_IBAN}],
    }
    result = await _burial_check(sessions, sandbox, registries, fixtures=fixtures, applicant=relative,
                                 deceased=deceased)
    assert result["eligible"] is True and result["automated"] is False
    assert result["facts"]["payee_account_owned"] is False and result["facts"]["applicant_kinship"] == "spouse"
