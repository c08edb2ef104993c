"""Intake on the benefit seam (issue 5): disability and survivor, claims, the documents path, parked events.

Consumer handlers are called directly on the real database (see test_intake.py for why the consumer loop is not run).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta, timezone

import httpx
import pytest
from sqlalchemy import select

from common.calendar import default_calendar
from common.envelope import Envelope, make_event
from common.events import PaymentQueued, envelope_of
from common.reasons import reason
from services.intake.adapters.orm import Application, Claim, ParkedEvent, StatusChange, messaging
from services.intake.handlers import IntakeService
from tests.callers import caller_headers
from tests.integration.helpers import (
    IBAN,
    application_data,
    decision_event,
    decision_signed_data,
    eligibility_data,
    new_deceased,
    new_iin,
    new_phone,
    outbox_events,
)
from tests.integration.test_intake import Intake, burial, running_intake

CAL = default_calendar()
SERVICE = IntakeService(CAL)


@pytest.fixture
async def intake(fresh_database, kafka_bootstrap, monkeypatch) -> AsyncIterator[Intake]:
    """Intake's real app without its consumer loop (as in test_intake.py); handlers are called directly."""
    async with running_intake(monkeypatch, fresh_database(), kafka_bootstrap) as running:
        yield running


ADULT = date(1980, 2, 2)
CHILD = date(2016, 4, 4)


def disability(channel: str = "state_corp", *, applicant: str | None = None, **extra) -> dict:
    body = {
        "benefit": "disability",
        "channel": channel,
        "applicant": {"iin": applicant or new_iin(ADULT)},
        "consents": {"personal_data": True, "proactive": channel == "proactive"},
        "bank_account": {"iban": IBAN},
    }
    if channel == "proactive":
        body["phone"] = new_phone()
    return body | extra


def survivor(*, deceased: str, dependants: list[str], **extra) -> dict:
    return {
        "benefit": "survivor",
        "channel": "state_corp",
        "applicant": {"iin": new_iin(ADULT, "F")},
        "consents": {"personal_data": True},
        "deceased_iin": deceased,
        "dependants": dependants,
        "bank_account": {"iban": IBAN},
    } | extra


ROLE = {"state_corp": ("operator", "operator-1"), "portal": ("citizen", None), "proactive": ("mobile", None)}


async def file(intake: Intake, body: dict) -> dict:
    role, sub = ROLE[body["channel"]]
    r = await intake.submit(body, role=role, sub=sub or body["applicant"].get("iin"))
    assert r.status_code == 202, r.text
    return r.json()


async def read(intake: Intake, app_id: str) -> dict:
    r = await intake.http.get(f"/api/v1/applications/{app_id}", headers=caller_headers("ops"))
    assert r.status_code == 200, r.text
    return r.json()


async def deliver(intake: Intake, handler, event: Envelope) -> None:
    async with intake.sessions() as session, session.begin():
        await handler(session, event)


def _application(app: dict) -> dict:
    return application_data(benefit=app["benefit"], channel=app["channel"]) | {"application_id": app["id"]}


def checked(app: dict, *, automated: bool, requested: list[dict] | None = None) -> Envelope:
    data = eligibility_data(_application(app)) | {"automated": automated, "requested_documents": requested or []}
    return make_event("eligibility.checked", source="eligibility", subject=app["id"], data=data)


def signed(app: dict, outcome: str = "assign", reasons: list[dict] | None = None) -> Envelope:
    data = decision_signed_data(_application(app), outcome=outcome)
    if reasons is not None:
        data["reasons"] = reasons
    return decision_event(data)


def queued(app: dict, decision_id: str) -> Envelope:
    event = PaymentQueued(
        application_id=uuid.UUID(app["id"]),
        decision_id=uuid.UUID(decision_id),
        amount_kzt=100,
        placed_at=datetime.now(timezone.utc),
    )
    return envelope_of(event, source="payment_queue", subject=app["id"])


# --- request validation through HTTP: 422 naming the field, nothing stored ------------------------


def _bad_bodies() -> list[tuple[str, dict, str]]:
    deceased, child = new_deceased(), new_iin(CHILD)
    applicant, unborn = new_iin(ADULT), date.today() + timedelta(days=400)
    return [
        ("dependant-twice", survivor(deceased=deceased, dependants=[child, child]), "dependants[1]"),
        ("dependant-is-deceased", survivor(deceased=deceased, dependants=[deceased]), "dependants[0]"),
        ("unborn-dependant", survivor(deceased=deceased, dependants=[new_iin(date.today() + timedelta(days=400))]), "dependants[0]"),
        ("applicant-is-deceased", burial("state_corp", applicant=applicant, deceased=applicant), "deceased_iin"),
        ("disability-with-deceased", disability(deceased_iin=deceased), "deceased_iin"),
        ("disability-with-dependants", disability(dependants=[child]), "dependants"),
        ("survivor-without-dependants", survivor(deceased=deceased, dependants=[]), "dependants"),
        ("survivor-also-apply", survivor(deceased=deceased, dependants=[child], also_apply_for=["special_state_disability"]), "also_apply_for"),
        ("burial-dependants", burial("state_corp", applicant=applicant, deceased=deceased, dependants=[child]), "dependants"),
        ("unknown-also-apply", disability(also_apply_for=["pension"]), "also_apply_for[0]"),
        ("disability-bin", disability() | {"applicant": {"bin": "940140000385"}}, "applicant.bin"),
        ("dependant-is-applicant",
         survivor(deceased=deceased, dependants=[applicant], applicant={"iin": applicant}), "dependants[0]"),
        ("unborn-applicant", disability(applicant=new_iin(unborn)), "applicant.iin"),
        ("unborn-deceased", survivor(deceased=new_iin(unborn), dependants=[child]), "deceased_iin"),
        ("burial-also-apply",
         burial("state_corp", applicant=applicant, deceased=deceased, also_apply_for=["special_state_disability"]),
         "also_apply_for"),
        ("also-apply-twice", disability(also_apply_for=["special_state_disability"] * 2), "also_apply_for[1]"),
        ("survivor-provider", survivor(deceased=deceased, dependants=[child], channel="provider"), "channel"),
    ]


@pytest.mark.law("S-Std2.channels")
@pytest.mark.parametrize("case", [c for c, _, _ in _bad_bodies()])
async def test_bad_input_is_422_naming_the_field_and_stores_nothing(intake, case):
    """api.md Applications: each bad-input case → 422 naming the field; no row, no event."""
    body, field = next((b, f) for c, b, f in _bad_bodies() if c == case)
    r = await intake.submit(body, role="operator", sub="operator-1")
    assert r.status_code == 422, r.text
    assert field in {e["field"] for e in r.json()["errors"]}, r.json()
    assert await intake.count(Application) == 0
    assert await outbox_events(intake.sessions, messaging) == []


def _without_consent(benefit: str, channel: str, missing: str) -> dict:
    deceased, child = new_deceased(), new_iin(CHILD)
    body = {
        "burial": lambda: burial(channel, applicant=new_iin(ADULT), deceased=deceased),
        "disability": lambda: disability(channel),
        "survivor": lambda: survivor(deceased=deceased, dependants=[child], channel=channel),
    }[benefit]()
    if channel == "proactive":
        body["phone"] = new_phone()
    return body | {"consents": {"personal_data": missing != "personal_data", "proactive": missing != "proactive"}}


@pytest.mark.law("B-Std9.ground3.no-consent", "D-Std9.ground3.no-consent", "S-Std9.ground3.no-consent",
                 "S-Std10.proactive-consent", "B-Std8.proactive-consent-and-account", "D-Std8.proactive-consent-and-account")
@pytest.mark.parametrize(
    ("benefit", "channel", "missing"),
    [
        ("burial", "state_corp", "personal_data"),
        ("disability", "portal", "personal_data"),
        ("survivor", "state_corp", "personal_data"),
        ("disability", "proactive", "proactive"),
        ("survivor", "proactive", "proactive"),
    ],
)
async def test_without_consent_the_application_is_rejected_at_once_with_ground_3(intake, benefit, channel, missing):
    """Each Std p.9 ground 3 (and S-Std p.10 for the proactive consent): no registry may be asked, so the application
    is rejected at receipt with no_consent, registered nowhere, and holds no claim."""
    app = await file(intake, _without_consent(benefit, channel, missing))
    assert app["status"] == "rejected" and app["registration_number"] is None
    assert [r["code"] for r in app["reasons"]] == ["no_consent"]
    assert app["reasons"][0]["ground"] == 3
    assert await intake.count(Claim) == 0
    assert [e.name for e in await outbox_events(intake.sessions, messaging)] == ["application.rejected"]


# --- registration and the stored model -------------------------------------------------------------


@pytest.mark.law("D20-1.auto-registration", "D-Std10.one-application")
async def test_disability_and_survivor_are_registered_at_once_with_the_whole_application_in_the_events(intake):
    """D§15, S§14: registered on receipt; the events carry dependants and also_apply_for; the model is stored."""
    dis = await file(intake, disability(also_apply_for=["special_state_disability"]))
    children = [new_iin(CHILD), new_iin(CHILD, "F")]
    sur = await file(intake, survivor(deceased=new_deceased(), dependants=children, client_version="9"))
    assert dis["status"] == sur["status"] == "registered"
    assert dis["registration_number"].startswith("DIS-") and sur["registration_number"].startswith("SUR-")
    assert dis["also_apply_for"] == ["special_state_disability"] and sur["dependants"] == children
    assert sur["requested_documents"] == [] and sur["documents"] == []
    events = await outbox_events(intake.sessions, messaging)
    registered = {e.data["application_id"]: e.data for e in events if e.name == "application.registered"}
    assert registered[sur["id"]]["dependants"] == children
    assert registered[dis["id"]]["also_apply_for"] == ["special_state_disability"]
    async with intake.sessions() as session:
        stored = await session.get(Application, uuid.UUID(sur["id"]))
    assert "client_version" not in stored.body and stored.body["benefit"] == "survivor"


# --- claims --------------------------------------------------------------------------------------


@pytest.mark.law("D4.one-benefit-per-person", "D-Std9.reapply-after-cause-removed")
async def test_disability_claims_in_progress_receiving_and_released_on_refusal(intake):
    """D§4, Std p.9: one disability case per person; assigned → already_receiving; refused → may apply again."""
    applicant = new_iin(ADULT)
    first = await file(intake, disability(applicant=applicant))
    second = await file(intake, disability(applicant=applicant))
    assert second["status"] == "rejected"
    assert [(x["code"], x["subject"]) for x in second["reasons"]] == [("application_in_progress", applicant)]

    await deliver(intake, SERVICE.on_decision_signed, signed(first, "refuse"))
    third = await file(intake, disability(applicant=applicant))
    assert third["status"] == "registered"
    await deliver(intake, SERVICE.on_decision_signed, signed(third, "assign"))
    fourth = await file(intake, disability(applicant=applicant))
    assert [x["code"] for x in fourth["reasons"]] == ["already_receiving"]


@pytest.mark.law("S7.one-claim-per-dependant", "S-Std9.reapply-after-cause-removed")
async def test_survivor_claims_each_dependant_and_releases_those_found_not_dependants(intake):
    """S§7: one claim per (deceased, dependant); an assignment keeps them except the listed non-dependants."""
    deceased, child_a, child_b = new_deceased(), new_iin(CHILD), new_iin(CHILD, "F")
    first = await file(intake, survivor(deceased=deceased, dependants=[child_a, child_b]))
    overlap = await file(intake, survivor(deceased=deceased, dependants=[new_iin(CHILD), child_b]))
    assert overlap["status"] == "rejected"
    assert [(x["code"], x["subject"]) for x in overlap["reasons"]] == [("application_in_progress", child_b)]
    assert await intake.count(Claim, Claim.application_id == uuid.UUID(overlap["id"])) == 0

    await deliver(intake, SERVICE.on_decision_signed, signed(first, reasons=[reason("not_dependant", subject=child_b)]))
    again_b = await file(intake, survivor(deceased=deceased, dependants=[child_b]))
    assert again_b["status"] == "registered", again_b
    again_a = await file(intake, survivor(deceased=deceased, dependants=[child_a]))
    assert [(x["code"], x["subject"]) for x in again_a["reasons"]] == [("already_receiving", child_a)]


@pytest.mark.parametrize("benefit", ["disability", "survivor"])
async def test_twenty_concurrent_applications_register_exactly_one(intake, benefit):
    """Guarantee 2: the claims table lets one application per key through, whatever the benefit."""
    applicant, deceased, child = new_iin(ADULT), new_deceased(), new_iin(CHILD)

    def body() -> dict:
        if benefit == "disability":
            return disability(applicant=applicant)
        return survivor(deceased=deceased, dependants=[child])

    apps = await asyncio.gather(*(file(intake, body()) for _ in range(20)))
    assert sorted(a["status"] for a in apps) == ["registered"] + ["rejected"] * 19
    assert await intake.count(Claim) == 1


# --- the term and the documents path -----------------------------------------------------------------


@pytest.mark.law("D24.term-1wd-auto", "D24.term-7wd", "D-Std3.extension-5wd", "D24.term-counted-with-documents")
async def test_disability_term_automated_then_default_then_extended_for_documents(intake):
    """D§24: 1 wd automated; a person decides → 7 wd from registration; documents requested → +5 wd (D-Std p.3)."""
    citizen = new_iin(ADULT)
    app = await file(intake, disability("portal", applicant=citizen))
    registered_on = date.fromisoformat(app["registered_on"])
    assert app["due_by"] == CAL.add_working_days(registered_on, 1).isoformat()

    await deliver(intake, SERVICE.on_eligibility_checked, checked(app, automated=False))
    after = await read(intake, app["id"])
    assert after["status"] == "registered"
    assert after["due_by"] == CAL.add_working_days(registered_on, 7).isoformat()

    requested = [{"type": "disability_certificate", "about": citizen, "reason": "no record in the central database"}]
    await deliver(intake, SERVICE.on_eligibility_checked, checked(app, automated=False, requested=requested))
    waiting = await read(intake, app["id"])
    assert waiting["status"] == "awaiting_documents"
    assert waiting["due_by"] == CAL.add_working_days(CAL.add_working_days(registered_on, 7), 5).isoformat()
    assert [(d["type"], d["about"]) for d in waiting["requested_documents"]] == [("disability_certificate", citizen)]
    events = await outbox_events(intake.sessions, messaging)
    assert events[-1].name == "application.documents_requested"
    assert events[-1].data["requested_documents"][0]["type"] == "disability_certificate"


async def _awaiting_certificate(intake: Intake) -> tuple[dict, str]:
    applicant = new_iin(ADULT)
    app = await file(intake, disability(applicant=applicant))
    requested = [{"type": "disability_certificate", "about": applicant, "reason": "no record"}]
    await deliver(intake, SERVICE.on_eligibility_checked, checked(app, automated=False, requested=requested))
    return await read(intake, app["id"]), applicant


def certificate(applicant: str, **changes) -> dict:
    return {
        "type": "disability_certificate",
        "number": "MSE-1",
        "issued_on": (date.today() - timedelta(days=30)).isoformat(),
        "issued_by": "MSE Almaty",
        "foreign": False,
        "apostille": False,
        "about": applicant,
        "facts": {"group": 2, "cause": "general_illness"},
    } | changes


async def attach(intake: Intake, app_id: str, documents: list[dict], role: str = "operator") -> httpx.Response:
    headers = caller_headers(role, f"{role}-7")
    return await intake.http.post(f"/api/v1/applications/{app_id}/documents", json={"documents": documents}, headers=headers)


async def test_operator_attaches_the_requested_documents_and_the_case_resumes(intake):
    """api.md Documents: appended with who and when, requests cleared, back to registered, documents_provided out."""
    app, applicant = await _awaiting_certificate(intake)
    r = await attach(intake, app["id"], [certificate(applicant)])
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["status"] == "registered" and out["requested_documents"] == []
    assert [h["status"] for h in out["history"]] == ["received", "registered", "awaiting_documents", "registered"]
    assert out["documents"][0]["type"] == "disability_certificate" and out["documents"][0]["attached_by"] == "operator-7"
    assert out["due_by"] == app["due_by"]
    events = await outbox_events(intake.sessions, messaging)
    assert events[-1].name == "application.documents_provided"
    assert events[-1].data["documents"][0]["facts"] == {"group": 2, "cause": "general_illness"}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"type": "birth_certificate"}, "documents[0].type"),
        ({"issued_on": (date.today() + timedelta(days=3)).isoformat()}, "documents[0].issued_on"),
        ({"foreign": True, "apostille": False}, "documents[0].apostille"),
        ({"about": "123456789012"}, "documents[0].about"),
        ({"type": ""}, "documents[0].type"),
    ],
)
async def test_a_document_the_case_cannot_take_is_422_and_nothing_changes(intake, change, field):
    """api.md Documents: not asked for, issued in the future, foreign without apostille, bad IIN → 422 naming it."""
    app, applicant = await _awaiting_certificate(intake)
    r = await attach(intake, app["id"], [certificate(applicant, **change)])
    assert r.status_code == 422, r.text
    assert field in {e["field"] for e in r.json()["errors"]}
    after = await read(intake, app["id"])
    assert after["status"] == "awaiting_documents" and after["documents"] == [] and after["due_by"] == app["due_by"]


async def test_documents_403_for_others_404_unknown_409_when_not_awaiting(intake):
    app, applicant = await _awaiting_certificate(intake)
    for role in ("specialist", "citizen", "mobile", "ops"):
        assert (await attach(intake, app["id"], [certificate(applicant)], role=role)).status_code == 403
    # The role is checked before the body: a non-operator learns nothing from a malformed body's 422.
    assert (await attach(intake, app["id"], [{"type": ""}], role="citizen")).status_code == 403
    assert (await attach(intake, str(uuid.uuid4()), [certificate(applicant)])).status_code == 404
    registered = await file(intake, disability())
    r = await attach(intake, registered["id"], [certificate(applicant)])
    assert r.status_code == 409 and r.headers["content-type"].startswith("application/problem+json")


# --- out of order: parked events -------------------------------------------------------------------


async def test_payment_queued_before_decision_signed_is_parked_then_applied_after_it(intake):
    """benefits.md States: never payment_queued without the decision and the history that led there."""
    app = await file(intake, burial("proactive", applicant=new_iin(), deceased=new_deceased(), phone=new_phone()))
    decision = signed(app)
    await deliver(intake, SERVICE.on_payment_queued, queued(app, decision.data["decision_id"]))
    early = await read(intake, app["id"])
    assert early["status"] == "registered" and early["decision"] is None
    assert await intake.count(ParkedEvent) == 1

    await deliver(intake, SERVICE.on_decision_signed, decision)
    final = await read(intake, app["id"])
    assert [h["status"] for h in final["history"]] == ["received", "registered", "assigned", "payment_queued"]
    assert final["status"] == "payment_queued"
    assert final["decision"]["outcome"] == "assign" and final["decision"]["id"] == decision.data["decision_id"]
    assert await intake.count(ParkedEvent) == 0


async def test_a_stale_or_duplicate_event_is_ignored(intake):
    app = await file(intake, disability())
    decision = signed(app, "refuse")
    await deliver(intake, SERVICE.on_decision_signed, decision)
    await deliver(intake, SERVICE.on_decision_signed, signed(app, "refuse"))  # a second signature
    await deliver(intake, SERVICE.on_payment_queued, queued(app, decision.data["decision_id"]))  # unreachable
    async with intake.sessions() as session:
        statuses = (await session.scalars(
            select(StatusChange.status).where(StatusChange.application_id == uuid.UUID(app["id"])).order_by(StatusChange.id)
        )).all()
    assert statuses == ["received", "registered", "refused"]
    assert await intake.count(ParkedEvent) == 0


@pytest.mark.law("B13.check3.no-application-filed", "B16.failed-checks-auto-rejection")
@pytest.mark.parametrize("ending", ["rejected", "refused"])
async def test_a_strangers_burial_holds_the_deceased_only_until_it_is_rejected_or_refused(intake, ending):
    """B§13 checks 2-3, Std p.9: while a stranger's portal burial is pending, the family's is a duplicate (check 3);
    its rejection by the checks or its refusal by a specialist releases the claim, so the family may apply; only an
    assignment keeps the deceased claimed (already_assigned)."""
    deceased, stranger, family = new_deceased(), new_iin(ADULT), new_iin(ADULT, "F")
    theirs = await file(intake, burial("portal", applicant=stranger, deceased=deceased))
    assert theirs["status"] == "received"
    blocked = await file(intake, burial("portal", applicant=family, deceased=deceased))
    assert [x["code"] for x in blocked["reasons"]] == ["duplicate_application"]

    if ending == "rejected":  # B§16: the portal checks fail, the application is never registered
        data = eligibility_data(_application(theirs), eligible=False)
        event = make_event("eligibility.checked", source="eligibility", subject=theirs["id"], data=data)
        await deliver(intake, SERVICE.on_eligibility_checked, event)
    else:  # registered, then a specialist refuses (payee safety sent it to a person)
        await deliver(intake, SERVICE.on_eligibility_checked, checked(theirs, automated=False))
        await deliver(intake, SERVICE.on_decision_signed, signed(theirs, "refuse"))
    assert (await read(intake, theirs["id"]))["status"] == ending
    assert await intake.count(Claim, Claim.key == f"burial:{deceased}") == 0

    ours = await file(intake, burial("portal", applicant=family, deceased=deceased))
    assert (ours["status"], ours["reasons"]) == ("received", [])
    await deliver(intake, SERVICE.on_eligibility_checked, checked(ours, automated=True))
    await deliver(intake, SERVICE.on_decision_signed, signed(ours, "assign"))
    late = await file(intake, burial("portal", applicant=new_iin(ADULT), deceased=deceased))
    assert [x["code"] for x in late["reasons"]] == ["already_assigned"]
