"""Decision on the benefit seam, on a fresh database: disability and survivor drafts, specialist work, reads."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from alembic import command
from fastapi import FastAPI
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from common.caller import Caller
from common.envelope import Envelope, make_event
from common.events import DecisionDrafted, DecisionSigned, EligibilityChecked
from common.law.obligations import load_obligations
from common.migrations import alembic_config, upgrade_head
from common.problems import Problem, install_problem_handlers
from common.reasons import reason
from services.decision import handlers
from services.decision.adapters.orm import Decision, messaging
from services.decision.adapters.signer import Keyring, load_keyring
from services.decision.api import router
from services.decision.domain.model import AUTO_SIGNER
from services.eligibility.domain import burial as burial_eligibility
from services.eligibility.domain.rules import BurialFacts, RecipientPeriod
from tests.callers import caller_headers
from tests.integration.helpers import (
    DIED,
    RECEIVED_AT,
    application_data,
    application_event,
    migrated,
    new_iin,
    outbox_events,
)
from tests.integration.helpers import eligibility_data as checks_from_the_registries

SPECIALIST = Caller(role="specialist", sub="spec-9")
PM_2026 = 50_851


def disability_checks(application: dict, *, cause: str = "general_illness", group: int | None = 1,
                      established_on: str = "2026-10-01", eligible: bool = True, round_: int = 1,
                      requested: tuple[dict, ...] = ()) -> dict:
    """eligibility.checked for disability, per the facts contract."""
    portal = application["channel"] in ("portal", "proactive")
    return _checks(application, round_=round_, eligible=eligible, requested=requested,
                   automated=portal and cause in ("general_illness", "work_injury"),
                   reasons=() if eligible or requested else (reason("no_disability", subject=application["applicant"]["iin"]),),
                   facts={"received_on": application["received_on"], "applicant_iin": application["applicant"]["iin"],
                          "applicant_birth_date": "1961-06-15", "cause": cause if eligible else None,
                          "group": group if eligible else None, "established_on": established_on if eligible else None,
                          "until": None, "disability_source": "registry" if eligible else None, "first_time": True,
                          "payee_iban": application.get("iban"), "payee_account_owned": True,
                          "also_apply_for": list(application["also_apply_for"])})


def survivor_checks(application: dict, *, eligible_dependants: list[str], not_dependants: tuple[str, ...] = (),
                    right_arose_on: str = "2025-06-10") -> dict:
    dependants = [{"iin": i, "eligible": True, "basis": "minor", "kinship": "child", "birth_date": None,
                   "reason_code": None} for i in eligible_dependants]
    dependants += [{"iin": i, "eligible": False, "basis": None, "kinship": None, "birth_date": None,
                    "reason_code": "not_dependant"} for i in not_dependants]
    return _checks(application, eligible=bool(eligible_dependants), automated=False,
                   reasons=tuple(reason("not_dependant", subject=i) for i in not_dependants),
                   facts={"received_on": application["received_on"], "deceased_iin": application["deceased_iin"],
                          "right_arose_on": right_arose_on, "right_source": "death_record", "dependants": dependants,
                          "eligible_dependants": eligible_dependants, "payee_iban": application.get("iban")})


def _checks(application: dict, *, eligible: bool, automated: bool, reasons: tuple[dict, ...], facts: dict,
            round_: int = 1, requested: tuple[dict, ...] = ()) -> dict:
    at = RECEIVED_AT.isoformat()
    return EligibilityChecked.model_validate(
        {"application_id": application["application_id"], "benefit": application["benefit"],
         "channel": application["channel"], "round": round_, "eligible": eligible, "automated": automated,
         "reasons": reasons, "requested_documents": requested, "facts": facts,
         "explanation": [{"rule": "registry_record", "paragraph": "D§7", "outcome": "pass" if eligible else "fail"}],
         "evidence": [{"registry": "ЦБДИ", "query": "disability.records", "status": 200, "answer": {},
                       "received_at": at}],
         "checked_at": at}
    ).model_dump(mode="json")


@dataclass
class Service:
    sessions: async_sessionmaker
    keyring: Keyring

    @property
    def service(self) -> handlers.DecisionService:
        return handlers.DecisionService(self.keyring)

    async def handle(self, handler, event: Envelope) -> None:
        async with self.sessions() as session, session.begin():
            await handler(session, event)

    async def registered(self, data: dict, name: str = "application.registered") -> None:
        handler = self.service.on_documents_requested if name.endswith("documents_requested") else (
            self.service.on_application_registered)
        await self.handle(handler, application_event(name, data))

    async def checked(self, data: dict) -> None:
        event = make_event("eligibility.checked", source="eligibility", subject=data["application_id"], data=data)
        await self.handle(self.service.on_eligibility_checked, event)

    async def case(self, application: dict, checks: dict) -> Decision:
        await self.registered(application)
        await self.checked(checks)
        return await self.decision_of(application)

    async def decision_of(self, application: dict) -> Decision:
        async with self.sessions() as session:
            return await session.scalar(
                select(Decision).where(Decision.application_id == uuid.UUID(application["application_id"])))

    async def sign(self, decision_id: uuid.UUID, outcome: str, *, reasons: list[tuple[str, str | None]] = (),
                   **kw: Any) -> Decision:
        async with self.sessions() as session, session.begin():
            return await self.service.sign_by_specialist(session, decision_id, SPECIALIST, outcome=outcome,
                                                         reasons=list(reasons), **kw)

    async def events(self) -> list[Envelope]:
        return await outbox_events(self.sessions, messaging)



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


async def _problem(coro) -> Problem:
    with pytest.raises(Problem) as caught:
        await coro
    return caught.value


# --- disability ------------------------------------------------------------------------


@pytest.mark.law("D21-1.auto-draft-approve-eds", "D21-1.auto-only-general-illness-work-injury")
@pytest.mark.parametrize("channel", ["portal", "proactive"])
async def test_an_automated_disability_case_is_assigned_and_signed_by_the_system(service, channel):
    """D§20-1, D§24: general illness via portal/proactive with an account: monthly ПМ × 2.20 from establishment."""
    application = application_data(benefit="disability", channel=channel)
    decision = await service.case(application, disability_checks(application, established_on="2026-10-01"))
    assert (decision.status, decision.outcome, decision.signed_by) == ("assigned", "assign", AUTO_SIGNER)
    assert (decision.amount_kzt, decision.amount_kind) == (111_873, "monthly")
    assert decision.period_start == date(2026, 10, 1)
    assert decision.signed_document["amount_kind"] == "monthly"
    assert decision.signed_document["period_start"] == "2026-10-01"
    assert decision.signed_document["iban"] == application["iban"]
    assert service.keyring.verify(decision.signed_document, decision.signature, decision.key_id)
    [event] = await service.events()
    signed = DecisionSigned.of(event)
    assert (signed.status, signed.amount_kzt, signed.amount_kind, signed.period_start) == (
        "assigned", 111_873, "monthly", date(2026, 10, 1))
    assert signed.payment.iban == application["iban"] and signed.registration_number == application["registration_number"]
    rules = [line["rule"] for line in decision.explanation]
    assert rules == ["registry_record", "amount", "period_start", "who_signs", "signature"]


@pytest.mark.law("D4.period-start-cap", "D4.apply-any-time")
async def test_an_old_establishment_is_paid_at_most_3_months_back(service):
    """D§4, D§24: received 2 Nov 2026, established in 2025 → from 2 Aug 2026."""
    application = application_data(benefit="disability", channel="portal")
    decision = await service.case(application, disability_checks(application, established_on="2025-03-01"))
    assert decision.period_start == date(2026, 8, 2)


@pytest.mark.law("D21-1.payee-safety")
async def test_work_injury_waits_for_a_specialist_who_must_enter_the_amount(service):
    """Project decision: the work-injury multiple is not verified; never guessed, a specialist enters it."""
    application = application_data(benefit="disability", channel="portal")
    draft = await service.case(application, disability_checks(application, cause="work_injury", group=2))
    assert (draft.status, draft.proposed_outcome, draft.amount_kzt, draft.amount_known) == (
        "awaiting_signature", "assign", 0, False)
    [event] = await service.events()
    assert DecisionDrafted.of(event).status == "awaiting_signature"

    problem = await _problem(service.sign(draft.id, "assign"))
    assert (problem.status, [e["field"] for e in problem.errors]) == (422, ["amount_kzt"])
    signed = await service.sign(draft.id, "assign", amount_kzt=85_000)
    assert (signed.status, signed.amount_kzt, signed.period_start) == ("assigned", 85_000, date(2026, 10, 1))
    assert signed.signed_document["amount_kzt"] == 85_000
    assert [e.name for e in await service.events()] == ["decision.drafted", "decision.signed"]
    assert DecisionSigned.of((await service.events())[-1]).amount_kzt == 85_000


async def test_an_assignment_without_an_account_is_422_naming_outcome(service):
    """B-Std p.8, D-Std p.8: nothing can be paid without an IBAN; the draft waits (no auto signature)."""
    application = application_data(benefit="disability", channel="state_corp", iban=None)
    checks = disability_checks(application)
    draft = await service.case(application, checks)
    assert draft.status == "awaiting_signature"
    problem = await _problem(service.sign(draft.id, "assign"))
    assert (problem.status, [e["field"] for e in problem.errors]) == (422, ["outcome"])
    refused = await service.sign(draft.id, "refuse", reasons=[("no_payable_account", None)], note="no account given")
    assert refused.status == "refused"


async def test_an_override_needs_a_note(service):
    """api.md Decisions: signing against the proposal needs a note; the note is in the explanation."""
    application = application_data(channel="state_corp")
    draft = await service.case(application, eligibility_data(application))
    problem = await _problem(service.sign(draft.id, "refuse", reasons=[("data_unreliable", None)]))
    assert (problem.status, [e["field"] for e in problem.errors]) == (422, ["note"])
    assert (await service.decision_of(application)).status == "awaiting_signature"
    signed = await service.sign(draft.id, "refuse", reasons=[("data_unreliable", None)], note="forged certificate")
    assert signed.status == "refused"
    assert signed.explanation[-1]["facts"]["note"] == "forged certificate"
    assert signed.explanation[-1]["facts"]["override"] is True



@pytest.mark.parametrize("note", [None, "", "   "])
async def test_assigning_over_a_proposed_refusal_needs_a_note_naming_the_field(service, note):
    """api.md Decisions: a specialist who overrides a refusal (signs assign where the draft refused) gives reasons:
    422 naming `note`, nothing signed; with a note the assignment stands and the note is in the explanation."""
    application = application_data(channel="state_corp")
    draft = await service.case(application, eligibility_data(application, eligible=False))
    assert draft.proposed_outcome == "refuse"
    problem = await _problem(service.sign(draft.id, "assign", note=note))
    assert (problem.status, [e["field"] for e in problem.errors]) == (422, ["note"])
    assert (await service.decision_of(application)).status == "awaiting_signature"
    assert [e.name for e in await service.events()] == ["decision.drafted"]
    signed = await service.sign(draft.id, "assign", note="the pension record was closed by mistake")
    assert (signed.status, signed.outcome) == ("assigned", "assign")
    facts = signed.explanation[-1]["facts"]
    assert (facts["override"], facts["proposed_outcome"], facts["note"]) == (
        True, "refuse", "the pension record was closed by mistake")

# --- survivor -------------------------------------------------------------------------


@pytest.mark.law("S-Std2.specialist-signs")
@pytest.mark.parametrize("channel", ["portal", "proactive", "state_corp"])
async def test_survivor_always_waits_for_a_specialist(service, channel):
    """S-Std p.2: no automated path; the draft names the dependant who is not covered."""
    child, stranger = new_iin(date(2015, 3, 1)), new_iin(date(1990, 3, 1))
    application = application_data(benefit="survivor", channel=channel, dependants=(child, stranger))
    draft = await service.case(application, survivor_checks(application, eligible_dependants=[child],
                                                            not_dependants=(stranger,)))
    assert (draft.status, draft.proposed_outcome, draft.amount_kzt) == ("awaiting_signature", "assign", 46_783)
    assert draft.period_start == date(2025, 11, 2)  # right arose 10 Jun 2025: capped 12 months before 2 Nov 2026
    assert [(r["code"], r.get("subject")) for r in draft.reasons] == [("not_dependant", stranger)]
    signed = await service.sign(draft.id, "assign")
    assert signed.status == "assigned"
    assert signed.signed_document["reasons"] == [{"code": "not_dependant", "subject": stranger}]


# --- documents, rounds, due dates --------------------------------------------------------


async def test_no_draft_while_documents_are_requested_then_a_draft_after_round_2(service):
    """D§7: round 1 asks for documents (no decision); the due date moves; round 2 decides."""
    application = application_data(benefit="disability", channel="state_corp")
    waiting = disability_checks(application, eligible=False,
                                requested=({"type": "disability_certificate", "reason": "no registry record"},))
    await service.registered(application)
    await service.checked(waiting)
    assert await service.decision_of(application) is None
    extended = application | {"status": "awaiting_documents", "due_by": "2026-11-10"}
    await service.registered(extended, "application.documents_requested")
    await service.checked(disability_checks(application, round_=2))
    decision = await service.decision_of(application)
    assert (decision.status, decision.due_by) == ("awaiting_signature", date(2026, 11, 10))
    await service.checked(waiting)  # a late round 1 changes nothing
    assert (await service.decision_of(application)).id == decision.id
    assert [e.name for e in await service.events()] == ["decision.drafted"]


# --- reads: citizens, filters, follow-ups -----------------------------------------------


async def test_a_citizen_reads_only_their_own_decision(service):
    """api.md Decisions: a citizen reads a decision on their own application; another's is 404."""
    citizen = new_iin(sex="F")
    application = application_data(channel="portal", applicant_iin=citizen)
    decision = await service.case(application, eligibility_data(application))
    async with service.sessions() as session:
        own = await handlers.get_decision(session, decision.id, Caller("citizen", citizen))
        assert own.id == decision.id
        for caller in (Caller("citizen", new_iin()), Caller("citizen", None)):
            assert (await _problem(handlers.get_decision(session, decision.id, caller))).status == 404
        assert (await _problem(handlers.get_decision(session, decision.id, Caller("operator", "op")))).status == 403


async def test_filters_and_urgency_order(service):
    """api.md Specialist work: status (signed = assigned or refused), benefit, channel, due_before; due date first."""
    late = application_data(channel="state_corp") | {"due_by": "2026-11-20"}
    soon = application_data(benefit="disability", channel="state_corp") | {"due_by": "2026-11-05"}
    auto = application_data(channel="proactive")
    refused = application_data(channel="portal")
    await service.case(late, eligibility_data(late))
    await service.case(soon, disability_checks(soon))
    await service.case(auto, eligibility_data(auto))
    await service.case(refused, eligibility_data(refused, eligible=False))

    async def ids(**filters) -> list[str]:
        async with service.sessions() as session:
            found = await handlers.list_decisions(session, SPECIALIST, status=filters.pop("status", None), **filters)
        return [str(d.application_id) for d in found]

    waiting = await ids(status="awaiting_signature")
    assert waiting == [soon["application_id"], late["application_id"]]
    assert set(await ids(status="signed")) == {auto["application_id"], refused["application_id"]}
    assert await ids(status="refused") == [refused["application_id"]]
    assert await ids(benefit="disability") == [soon["application_id"]]
    assert set(await ids(channel="portal")) == {refused["application_id"]}
    assert await ids(status="awaiting_signature", due_before=date(2026, 11, 5)) == [soon["application_id"]]


@pytest.mark.law("D-Std10.one-application")
async def test_also_apply_for_becomes_open_follow_ups(service):
    """D-Std p.4, p.10: one application covers other benefits; each becomes an open follow-up, none dropped."""
    application = application_data(benefit="disability", channel="portal",
                                   also_apply_for=("special_state_disability", "child_care_group_1"))
    decision = await service.case(application, disability_checks(application))
    assert decision.status == "assigned"  # the main decision is not held back
    assert decision.also_apply_for == ["special_state_disability", "child_care_group_1"]
    await service.checked(disability_checks(application))  # replayed: no second follow-up
    async with service.sessions() as session:
        items = await handlers.list_follow_ups(session, SPECIALIST, status="open", limit=10)
    assert sorted((f.benefit, f.status, f.decision_id) for f in items) == [
        ("child_care_group_1", "open", decision.id), ("special_state_disability", "open", decision.id)]


# --- the HTTP layer -----------------------------------------------------------------------


class _Runtime:
    """What the decision's routes read of the runtime: sessions, the service, and what authenticates callers."""

    name = "decision"

    def __init__(self, sessions: async_sessionmaker, service: handlers.DecisionService) -> None:
        self.sessions = sessions
        self.extras: dict[str, Any] = {"decisions": service}
        self.settings = SimpleNamespace(internal_jwks=os.environ["INTERNAL_JWKS"], data_dir=None)


@pytest.fixture
async def http(service) -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI()
    install_problem_handlers(app)
    app.include_router(router)
    app.state.runtime = _Runtime(service.sessions, service.service)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://decision") as client:
        yield client


def _as(role: str, sub: str | None = None) -> dict[str, str]:
    return caller_headers(role, sub, service="decision")


@pytest.mark.law("D21-1.auto-case-file")
async def test_http_detail_list_follow_ups_and_sign(service, http):
    """api.md: the detail adds explanation and evidence; the sign body takes reason objects, note and amount."""
    citizen = new_iin(sex="F")
    application = application_data(benefit="disability", channel="portal", applicant_iin=citizen,
                                   also_apply_for=("special_state_disability",))
    decision = await service.case(application, disability_checks(application, cause="work_injury"))
    detail = (await http.get(f"/api/v1/decisions/{decision.id}", headers=_as("citizen", citizen))).json()
    assert detail["status"] == "awaiting_signature" and detail["amount_known"] is False
    assert detail["evidence"][0]["registry"] == "ЦБДИ" and detail["explanation"][-1]["rule"] == "who_signs"
    assert detail["also_apply_for"] == ["special_state_disability"] and detail["due_by"] == "2026-11-03"
    assert (await http.get(f"/api/v1/decisions/{decision.id}", headers=_as("citizen", new_iin()))).status_code == 404
    follow_ups = (await http.get("/api/v1/decisions/follow-ups", headers=_as("ops"))).json()["items"]
    assert [(f["benefit"], f["status"]) for f in follow_ups] == [("special_state_disability", "open")]
    listed = (await http.get("/api/v1/decisions", params={"benefit": "disability"}, headers=_as("specialist"))).json()
    assert listed["items"][0]["also_apply_for"] == ["special_state_disability"]

    url = f"/api/v1/decisions/{decision.id}/sign"
    missing = await http.post(url, json={"outcome": "assign"}, headers=_as("specialist", "spec-9"))
    assert missing.status_code == 422 and [e["field"] for e in missing.json()["errors"]] == ["amount_kzt"]
    override = await http.post(url, json={"outcome": "refuse", "reasons": [{"code": "no_disability",
                                                                           "subject": citizen}]},
                               headers=_as("specialist", "spec-9"))
    assert override.status_code == 422 and [e["field"] for e in override.json()["errors"]] == ["note"]
    signed = await http.post(url, json={"outcome": "assign", "amount_kzt": 90_000}, headers=_as("specialist", "spec-9"))
    assert signed.status_code == 200, signed.text
    assert (signed.json()["status"], signed.json()["amount_kzt"]) == ("assigned", 90_000)
    verification = (await http.get(f"{url.removesuffix('/sign')}/verification", headers=_as("citizen", citizen))).json()
    assert verification["valid"] is True
    again = await http.post(url, json={"outcome": "assign", "amount_kzt": 90_000}, headers=_as("specialist", "spec-9"))
    assert again.status_code == 409


@pytest.mark.law("B13.check1.completeness", "B13.check4.recipient-on-date-of-death", "B13.check5.within-3-years",
                 "B19-1.amount-35-mci", "B19-1.auto-approve-eds", "B19-1.auto-only-portal-proactive")
async def test_a_burial_decision_names_the_obligations_it_applied_and_the_detail_gives_their_text(service, http):
    """From a decision to its law in one step: the explanation lines of the real burial rules name the law map's ids,
    and the detail gives each one's paragraph, Kazakh quote and statement (common/law/obligations.json)."""
    application = application_data(channel="proactive")
    case = burial_eligibility.BurialCase(
        facts=BurialFacts(
            received_on=date.fromisoformat(application["received_on"]), death_date=date.fromisoformat(DIED),
            death_certificate_given=False, deceased_known=True,
            recipient_periods=(RecipientPeriod("age_pension", date(2011, 1, 1), None),), payment_account_known=True,
        ),
        channel="proactive", deceased_iin=application["deceased_iin"], payee_iban=application["iban"],
        certificate_date=None, payee_owned=True, kinship="child",
    )
    evaluation = burial_eligibility.evaluate(case)
    assert evaluation.eligible and evaluation.automated
    checks = eligibility_data(application) | {"explanation": [line.model_dump(mode="json") for line in evaluation.explanation]}
    decision = await service.case(application, checks)
    assert decision.status == "assigned"

    detail = (await http.get(f"/api/v1/decisions/{decision.id}", headers=_as("specialist"))).json()
    by_rule = {line["rule"]: line for line in detail["explanation"]}
    assert by_rule["complete"]["obligations"] == ["B13.check1.completeness"]
    assert "B13.check4.recipient-on-date-of-death" in by_rule["recipient_on_date_of_death"]["obligations"]
    assert "B13.check5.within-3-years" in by_rule["applied_within_years"]["obligations"]
    assert by_rule["amount"]["obligations"] == ["B19-1.amount-35-mci"]
    assert by_rule["signature"]["obligations"] == ["B19-1.auto-approve-eds"]
    named = [oid for line in detail["explanation"] for oid in line["obligations"]]
    assert list(detail["law"]) == list(dict.fromkeys(named))
    check5 = detail["law"]["B13.check5.within-3-years"]
    assert check5["paragraph"] == by_rule["applied_within_years"]["paragraph"] == "B§13 check 5"
    assert check5["status"] == "implemented" and check5["statement"].startswith("Check that the application is made")
    law_map = load_obligations()
    assert all(ref["kk"] == law_map[oid].kk and ref["paragraph"] == law_map[oid].source for oid, ref in detail["law"].items())
    assert detail["law"]["B19-1.payee-safety"]["status"] == "project_decision"


# --- migration of stored statuses ---------------------------------------------------------


async def test_stored_signed_status_becomes_assigned_or_refused(fresh_database):
    """docs/benefits.md States: 0002 splits 'signed' by outcome and fills the new columns from the case file."""
    url = fresh_database()
    await asyncio.to_thread(command.upgrade, alembic_config("decision", url), "decision_0001")
    async with _engine(url) as conn:
        for outcome in ("assign", "refuse"):
            await conn.execute(
                text("INSERT INTO decision.decisions (id, application_id, benefit, channel, status, proposed_outcome,"
                     " outcome, amount_kzt, reasons, case_file, case_file_sha256) VALUES (:id, :app, 'burial',"
                     " 'portal', 'signed', :o, :o, 0, '[]', CAST(:cf AS jsonb), 'x')"),
                {"id": uuid.uuid4(), "app": uuid.uuid4(), "o": outcome,
                 "cf": '{"application": {"applicant": {"iin": "790303402568"}, "due_by": "2026-11-03"}}'},
            )
    await asyncio.to_thread(upgrade_head, "decision", url)
    async with _engine(url) as conn:
        rows = (await conn.execute(text("SELECT outcome, status, applicant_iin, due_by, amount_kind"
                                        " FROM decision.decisions ORDER BY outcome"))).all()
    assert [tuple(r) for r in rows] == [("assign", "assigned", "790303402568", date(2026, 11, 3), "one_time"),
                                        ("refuse", "refused", "790303402568", date(2026, 11, 3), "one_time")]


class _engine:
    """One connection in a transaction on `url`, committed at exit."""

    def __init__(self, url: str) -> None:
        self._engine = create_async_engine(url)

    async def __aenter__(self):
        self._ctx = self._engine.begin()
        return await self._ctx.__aenter__()

    async def __aexit__(self, *exc) -> None:
        await self._ctx.__aexit__(*exc)
        await self._engine.dispose()

