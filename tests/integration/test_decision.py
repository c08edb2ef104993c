"""Decision's handlers on a fresh database: the join of registration and checks, drafting, signatures."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker

from common.caller import Caller
from common.envelope import Envelope, make_event
from common.law.params import value_on
from common.problems import Problem
from services.decision import handlers
from services.decision.adapters.orm import Decision, messaging
from services.decision.adapters.signer import Keyring, load_keyring
from services.decision.domain.model import AUTO_SIGNER
from tests.integration.helpers import (
    DIED,
    application_data,
    application_event,
    decision_signed_data,
    migrated,
    outbox_events,
    outbox_names,
)
from tests.integration.helpers import eligibility_data as checks_from_the_registries

SPECIALIST = Caller(role="specialist", sub="spec-7")


@dataclass
class Service:
    sessions: async_sessionmaker
    keyring: Keyring

    @property
    def handlers(self) -> handlers.DecisionService:
        return handlers.DecisionService(self.keyring)

    async def handle(self, handler, event: Envelope) -> None:
        async with self.sessions() as session, session.begin():
            await handler(session, event)

    async def registered(self, data: dict) -> None:
        await self.handle(self.handlers.on_application_registered, application_event("application.registered", data))

    async def checked(self, data: dict) -> None:
        event = make_event("eligibility.checked", source="eligibility", subject=data["application_id"], data=data)
        await self.handle(self.handlers.on_eligibility_checked, event)

    async def decisions(self) -> list[Decision]:
        async with self.sessions() as session:
            return list(await session.scalars(select(Decision)))

    async def sign(self, decision_id: uuid.UUID, *, outcome: str, reasons: list[str]) -> Decision:
        async with self.sessions() as session, session.begin():
            return await self.handlers.sign_by_specialist(
                session, decision_id, SPECIALIST, outcome=outcome, reasons=[(code, None) for code in reasons]
            )



def eligibility_data(application: dict, **kw: Any) -> dict:
    """The burial checks with eligibility's payee-safety facts: the applicant's own account, a relative."""
    data = checks_from_the_registries(application, **kw)
    data["facts"] |= {"payee_account_owned": True, "applicant_kinship": "child"}
    return data

@pytest.fixture
async def service(fresh_database, tmp_path) -> AsyncIterator[Service]:
    keyring = load_keyring(None, None, dev_mode=True, data_dir=tmp_path)
    async with migrated(fresh_database(), "decision") as sessions:
        yield Service(sessions, keyring)


def burial_35_mci() -> int:
    """B§19-1 / facts.md: 35 MCI at the MCI in force on the date of death (computed here from the law data)."""
    return 35 * int(value_on("mci", date.fromisoformat(DIED)).value)


@pytest.mark.parametrize("registration_first", [True, False], ids=["registered-then-checked", "checked-then-registered"])
async def test_registration_and_checks_join_into_one_decision_in_either_order(service, registration_first):
    """The two halves of the case arrive on different topics in any order; the decision follows the second."""
    application = application_data(channel="proactive")
    checks = eligibility_data(application)
    first, second = (service.registered, service.checked) if registration_first else (service.checked, service.registered)
    await first(application if registration_first else checks)
    assert await service.decisions() == []  # half a case decides nothing
    await second(checks if registration_first else application)
    [decision] = await service.decisions()
    assert str(decision.application_id) == application["application_id"]
    assert await outbox_names(service.sessions, messaging) == ["decision.signed"]


async def test_registration_and_checks_arriving_at_once_make_one_decision(service):
    """Guarantee 2: two consumers finishing the case concurrently still make one decision."""
    application = application_data(channel="proactive")
    await asyncio.gather(service.registered(application), service.checked(eligibility_data(application)))
    assert len(await service.decisions()) == 1
    assert await outbox_names(service.sessions, messaging) == ["decision.signed"]


async def test_the_same_events_again_change_nothing(service):
    """Guarantee 1: a replayed or duplicated event leaves one decision and one decision.signed."""
    application = application_data(channel="proactive")
    checks = eligibility_data(application)
    await service.registered(application)
    await service.checked(checks)
    [before] = await service.decisions()
    await service.registered(application)
    await service.checked(checks)
    [after] = await service.decisions()
    assert after.id == before.id and after.signature == before.signature
    assert await outbox_names(service.sessions, messaging) == ["decision.signed"]


@pytest.mark.law(
    "B19-1.auto-approve-eds", "B19-1.auto-draft-decision", "B19-1.amount-35-mci", "B19-1.auto-only-portal-proactive",
)
@pytest.mark.parametrize("channel", ["portal", "proactive"])
async def test_eligible_portal_or_proactive_case_is_signed_automatically_for_35_mci(service, channel):
    """B§19-1: portal and proactive cases are decided and signed by the system; 35 MCI on the date of death."""
    application = application_data(channel=channel)
    await service.registered(application)
    await service.checked(eligibility_data(application))
    [decision] = await service.decisions()  # read back from PostgreSQL (JSONB round trip)
    assert decision.status == "assigned" and decision.outcome == "assign"
    assert decision.amount_kzt == burial_35_mci() == 151_375
    assert decision.signed_by == AUTO_SIGNER
    assert decision.signed_document["amount_kzt"] == decision.amount_kzt
    assert service.keyring.verify(decision.signed_document, decision.signature, decision.key_id)
    assert not service.keyring.verify(decision.signed_document | {"amount_kzt": 1}, decision.signature, decision.key_id)
    [event] = await outbox_events(service.sessions, messaging)
    assert event.data["outcome"] == "assign" and event.data["amount_kzt"] == 151_375
    assert event.data["payment"]["iban"] == application["iban"]
    assert event.data["contact"] == application["contact"]


async def test_signed_event_carries_what_its_consumers_read(service):
    """Events are contracts (guarantee 6): the fields payment_queue and notifier tests feed them exist for real."""
    application = application_data(channel="proactive")
    await service.registered(application)
    await service.checked(eligibility_data(application))
    [event] = await outbox_events(service.sessions, messaging)
    assert set(decision_signed_data(application)) <= set(event.data)
    assert set(decision_signed_data(application)["payment"]) <= set(event.data["payment"])


@pytest.mark.law("B19-1.auto-refusal-missing-data", "B13.checks-on-every-channel")
async def test_not_eligible_proactive_case_is_refused_automatically_with_the_grounds(service):
    """B§19-1 / Std p.9: the refusal carries the reasons the checks found; nothing to pay."""
    application = application_data(channel="proactive")
    await service.registered(application)
    await service.checked(eligibility_data(application, eligible=False))
    [decision] = await service.decisions()
    assert decision.status == "refused" and decision.outcome == "refuse" and decision.amount_kzt == 0
    assert [r["code"] for r in decision.reasons] == ["not_a_recipient"]
    assert service.keyring.verify(decision.signed_document, decision.signature, decision.key_id)


@pytest.mark.law("B19-1.auto-only-portal-proactive")
async def test_state_corp_case_waits_for_a_specialist(service):
    """B§19-1: a State Corporation application is drafted, not signed, and announced as such."""
    application = application_data(channel="state_corp")
    await service.registered(application)
    await service.checked(eligibility_data(application))
    [decision] = await service.decisions()
    assert decision.status == "awaiting_signature" and decision.proposed_outcome == "assign"
    assert decision.signature is None and decision.outcome is None
    [event] = await outbox_events(service.sessions, messaging)
    assert event.name == "decision.drafted" and event.data["status"] == "awaiting_signature"


async def _drafted(service: Service) -> Decision:
    application = application_data(channel="state_corp")
    await service.registered(application)
    await service.checked(eligibility_data(application))
    [decision] = await service.decisions()
    return decision


async def test_specialist_signs_an_assignment(service):
    """api.md Specialist work: signing assigns, with a verifiable signature, and announces decision.signed."""
    draft = await _drafted(service)
    await service.sign(draft.id, outcome="assign", reasons=[])
    [decision] = await service.decisions()
    assert decision.status == "assigned" and decision.outcome == "assign" and decision.amount_kzt == burial_35_mci()
    assert decision.signed_by == "specialist:spec-7"
    assert service.keyring.verify(decision.signed_document, decision.signature, decision.key_id)
    assert await outbox_names(service.sessions, messaging) == ["decision.drafted", "decision.signed"]


async def test_signing_twice_is_409_and_changes_nothing(service):
    """A signed decision is final: a second signature is a conflict."""
    draft = await _drafted(service)
    await service.sign(draft.id, outcome="assign", reasons=[])
    with pytest.raises(Problem) as caught:
        await service.sign(draft.id, outcome="refuse", reasons=["not_a_recipient"])
    assert caught.value.status == 409
    [decision] = await service.decisions()
    assert decision.outcome == "assign"
    assert await outbox_names(service.sessions, messaging) == ["decision.drafted", "decision.signed"]


async def test_refusal_without_reasons_is_422_naming_reasons(service):
    """Std p.9: a refusal must give its legal grounds; the draft stays unsigned."""
    draft = await _drafted(service)
    with pytest.raises(Problem) as caught:
        await service.sign(draft.id, outcome="refuse", reasons=[])
    assert caught.value.status == 422
    assert [e["field"] for e in caught.value.errors] == ["reasons"]
    [decision] = await service.decisions()
    assert decision.status == "awaiting_signature"
    assert await outbox_names(service.sessions, messaging) == ["decision.drafted"]


async def test_only_a_specialist_signs(service):
    """api.md: signing is the specialist's act."""
    draft = await _drafted(service)
    async with service.sessions() as session, session.begin():
        with pytest.raises(Problem) as caught:
            await service.handlers.sign_by_specialist(session, draft.id, Caller("operator", "op-1"), outcome="assign", reasons=[])
    assert caught.value.status == 403


@pytest.mark.law("B19-1.payee-safety")
@pytest.mark.parametrize(
    ("found", "why"),
    [
        ({"payee_account_owned": False, "applicant_kinship": None}, "not the applicant's own"),
        ({"payee_account_owned": False, "applicant_kinship": "child"}, "not the applicant's own"),
        ({"payee_account_owned": True, "applicant_kinship": None}, "no kinship of the applicant"),
        ({}, "not the applicant's own"),  # an eligibility event from before the rule: never paid by itself
    ],
    ids=["stranger", "relative-foreign-account", "own-account-no-kinship", "facts-missing"],
)
async def test_a_portal_burial_the_payee_rule_does_not_clear_waits_for_a_specialist(service, found, why):
    """Project decision (payee safety): an eligible portal burial is assigned by the system only to a relative's own
    account; otherwise it is drafted for a specialist (not refused), and who_signs says why."""
    application = application_data(channel="portal")
    checks = checks_from_the_registries(application)
    checks["facts"] |= found
    await service.registered(application)
    await service.checked(checks)
    [decision] = await service.decisions()
    assert (decision.status, decision.proposed_outcome, decision.signature) == ("awaiting_signature", "assign", None)
    [line] = [x for x in decision.explanation if x["rule"] == "who_signs"]
    assert line["facts"]["signer"] == "specialist" and why in line["facts"]["why"]
    assert "project decision" in line["paragraph"]
    assert await outbox_names(service.sessions, messaging) == ["decision.drafted"]
    await service.sign(decision.id, outcome="assign", reasons=[])  # a person looked at it and vouches
    [signed] = await service.decisions()
    assert signed.status == "assigned" and signed.signed_by == "specialist:spec-7"
