"""Intake's use cases: submit an application, register it, follow it to the end."""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from common.calendar import ALMATY, WorkingCalendar
from common.caller import Caller, audit
from common.envelope import Envelope, make_event
from common.law.params import service_term_days
from common.outbox import add_event
from common.problems import Problem
from common.reasons import reason
from services.intake.adapters.orm import (
    Application,
    DeceasedClaim,
    JournalEntry,
    StatusChange,
    journal_number_seq,
    messaging,
)
from services.intake.domain.status import CHANNEL_OF_ROLE, REGISTER_ON_RECEIPT, advances
from services.intake.schemas import ApplicationIn

log = logging.getLogger(__name__)
SOURCE = "intake"
TOPIC = "applications"
_NUMBER_PREFIX = {"burial": "BUR", "disability": "DIS", "survivor": "SUR"}


def body_digest(body: dict) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def contact_of(app: Application) -> dict:
    """Where the citizen hears from us: SMS for proactive (B§19-1), the cabinet for portal (B§13)."""
    phone = app.body.get("phone")
    if app.channel == "proactive" or (app.channel != "portal" and phone):
        return {"channel": "sms", "phone": phone, "iin": app.applicant_iin}
    if app.applicant_iin:
        return {"channel": "cabinet", "phone": None, "iin": app.applicant_iin}
    return {"channel": None, "phone": None, "iin": None}


def _application_data(app: Application) -> dict:
    body = app.body
    return {
        "application_id": str(app.id),
        "benefit": app.benefit,
        "channel": app.channel,
        "received_at": app.received_at.isoformat(),
        "received_on": app.received_at.astimezone(ALMATY).date().isoformat(),
        "applicant": {"iin": app.applicant_iin, "bin": app.applicant_bin},
        "deceased_iin": app.deceased_iin,
        "iban": (body.get("bank_account") or {}).get("iban"),
        "documents": body.get("documents", []),
        "consents": body.get("consents", {}),
        "registration_number": app.registration_number,
        "registered_on": app.registered_on.isoformat() if app.registered_on else None,
        "due_by": app.due_by.isoformat() if app.due_by else None,
        "contact": contact_of(app),
    }


async def _emit(session: AsyncSession, name: str, app: Application, **extra) -> None:
    data = _application_data(app) | extra
    await add_event(session, messaging, TOPIC, make_event(name, source=SOURCE, subject=str(app.id), data=data))


async def _set_status(session: AsyncSession, app: Application, status: str, at: datetime) -> None:
    session.add(StatusChange(application_id=app.id, status=status, at=at))
    if advances(app.status, status):
        app.status = status


def authorize_submission(caller: Caller, payload: ApplicationIn) -> None:
    """api.md role ↔ channel; a citizen files only for themselves."""
    channel = CHANNEL_OF_ROLE.get(caller.role)
    if channel is None:
        raise Problem(403, "forbidden", f"Role '{caller.role}' does not file applications.")
    if payload.channel.value != channel:
        raise Problem(
            403, "channel-not-allowed", f"Role '{caller.role}' files through channel '{channel}', not '{payload.channel.value}'."
        )
    if caller.role == "citizen" and payload.applicant.iin != caller.sub:
        raise Problem(403, "not-your-application", "A citizen applies only in their own name (applicant.iin must be yours).")


async def submit(
    session: AsyncSession,
    *,
    payload: ApplicationIn,
    body: dict,
    caller: Caller,
    idempotency_key: str | None,
    now: datetime,
    calendar: WorkingCalendar,
) -> tuple[Application, bool]:
    """Store a new application, or return the one this key already made. Runs in the caller's transaction."""
    authorize_submission(caller, payload)
    digest = body_digest(body)
    scope = f"{caller.role}:{caller.sub or ''}"
    app_id = uuid.uuid4()
    inserted = await session.scalar(
        pg_insert(Application)
        .values(
            id=app_id,
            benefit=payload.benefit.value,
            channel=payload.channel.value,
            status="received",
            applicant_iin=payload.applicant.iin,
            applicant_bin=payload.applicant.bin,
            deceased_iin=payload.deceased_iin,
            body=body,
            body_sha256=digest,
            idempotency_scope=scope,
            idempotency_key=idempotency_key,
            received_at=now,
            reasons=[],
        )
        .on_conflict_do_nothing(constraint="uq_applications_idempotency")
        .returning(Application.id)
    )
    if inserted is None:
        existing = await session.scalar(
            select(Application).where(
                Application.idempotency_scope == scope, Application.idempotency_key == idempotency_key
            )
        )
        if existing.body_sha256 != digest:
            raise Problem(
                409, "idempotency-key-reused", "This Idempotency-Key was already used with a different request body."
            )
        return existing, False

    app = await session.get(Application, app_id)
    session.add(StatusChange(application_id=app.id, status="received", at=now))

    refusal = await _intake_refusal(session, app, payload)
    if refusal:
        await _reject(session, app, [reason(refusal)], now)
        return app, True

    await _emit(session, "application.received", app)
    if app.channel in REGISTER_ON_RECEIPT:
        await register(session, app, now=now, calendar=calendar)
    return app, True


async def _intake_refusal(session: AsyncSession, app: Application, payload: ApplicationIn) -> str | None:
    """Checks intake can make on its own: consent (Std p.9 ground 3), B§13 checks 2 and 3."""
    if not payload.consents.personal_data or (app.channel == "proactive" and not payload.consents.proactive):
        # Without consent no registry may be asked about the applicant (Law on Personal Data, art. 8).
        return "no_consent"
    if app.benefit == "burial":
        claimed = await session.scalar(
            pg_insert(DeceasedClaim)
            .values(deceased_iin=app.deceased_iin, application_id=app.id, state="filed")
            .on_conflict_do_nothing()
            .returning(DeceasedClaim.deceased_iin)
        )
        if claimed is None:
            # The primary key made a concurrent submitter wait for the winner's commit.
            holder = await session.get(DeceasedClaim, app.deceased_iin)
            return "already_assigned" if holder and holder.state == "assigned" else "duplicate_application"
    return None


async def _reject(session: AsyncSession, app: Application, reasons: list[dict], at: datetime) -> None:
    """Not accepted for registration (B§16): terminal, with reasons and a message to the applicant."""
    app.reasons = reasons
    await _set_status(session, app, "rejected", at)
    await _release_claim(session, app)
    await _emit(session, "application.rejected", app, reasons=reasons)


async def _release_claim(session: AsyncSession, app: Application) -> None:
    """Let the deceased be claimed again once this application is out (Std p.9: apply again)."""
    if app.deceased_iin:
        await session.execute(
            delete(DeceasedClaim).where(
                DeceasedClaim.deceased_iin == app.deceased_iin,
                DeceasedClaim.application_id == app.id,
                DeceasedClaim.state == "filed",
            )
        )


async def register(session: AsyncSession, app: Application, *, now: datetime, calendar: WorkingCalendar) -> None:
    """Enter the application in the registration journal (Annex 6) with its due date."""
    registered_on = calendar.registration_day(app.received_at)
    due = calendar.due_by(registered_on, service_term_days(app.benefit, app.channel, on=registered_on))
    number = await session.scalar(journal_number_seq.next_value())
    app.registration_number = f"{_NUMBER_PREFIX[app.benefit]}-{registered_on:%Y%m%d}-{number:07d}"
    app.registered_on = registered_on
    app.due_by = due.date
    app.due_provisional = due.provisional
    if due.provisional:
        # facts.md: a year without loaded holiday data is computed by rule and never silently.
        log.warning("due date %s computed by rule only: load the %s holiday calendar", due.date, due.date.year)
    session.add(
        JournalEntry(
            registration_number=app.registration_number,
            application_id=app.id,
            benefit=app.benefit,
            channel=app.channel,
            registered_on=registered_on,
            due_by=due.date,
            due_provisional=due.provisional,
        )
    )
    await _set_status(session, app, "registered", now)
    await _emit(session, "application.registered", app)


# --- events from the other services -------------------------------------------------


def _calendar(session: AsyncSession) -> WorkingCalendar:
    return session.info["calendar"]


async def _load(session: AsyncSession, event: Envelope) -> Application:
    app = await session.get(Application, uuid.UUID(event.data["application_id"]), with_for_update=True)
    if app is None:
        raise LookupError(f"event {event.type} names an unknown application")
    return app


async def on_eligibility_checked(session: AsyncSession, event: Envelope) -> None:
    """Portal: the B§13 checks decide registration or automatic rejection (B§16)."""
    app = await _load(session, event)
    if app.channel != "portal" or app.status != "received":
        return  # other channels are registered already; the decision service refuses if need be
    if event.data["eligible"]:
        await register(session, app, now=event.time, calendar=_calendar(session))
    else:
        await _reject(session, app, event.data["reasons"], event.time)


async def on_decision_drafted(session: AsyncSession, event: Envelope) -> None:
    app = await _load(session, event)
    if event.data["status"] == "awaiting_signature":
        await _set_status(session, app, "awaiting_signature", event.time)


async def on_decision_signed(session: AsyncSession, event: Envelope) -> None:
    app = await _load(session, event)
    data = event.data
    app.decision = {
        "id": data["decision_id"],
        "outcome": data["outcome"],
        "amount_kzt": data["amount_kzt"],
        "period_start": data.get("period_start"),
        "signed_at": data["signed_at"],
        "signed_by": data["signed_by"],
    }
    if data["outcome"] == "assign":
        await _set_status(session, app, "assigned", event.time)
        if app.deceased_iin and app.benefit == "burial":
            # B§13 check 2 from now on: a payment is assigned for this deceased.
            await session.execute(
                update(DeceasedClaim)
                .where(DeceasedClaim.deceased_iin == app.deceased_iin, DeceasedClaim.application_id == app.id)
                .values(state="assigned")
            )
    else:
        app.reasons = data.get("reasons", [])
        await _set_status(session, app, "refused", event.time)
        await _release_claim(session, app)


async def on_payment_queued(session: AsyncSession, event: Envelope) -> None:
    app = await _load(session, event)
    await _set_status(session, app, "payment_queued", event.time)


async def on_payment_paid(session: AsyncSession, event: Envelope) -> None:
    app = await _load(session, event)
    await _set_status(session, app, "paid", event.time)


# --- reads ---------------------------------------------------------------------------


def can_read(caller: Caller, app: Application) -> bool:
    """A citizen reads only their own applications; operators, specialists and ops read all (api.md)."""
    if caller.role == "citizen":
        return app.applicant_iin == caller.sub
    if caller.role == "mobile":
        return app.channel == "proactive"
    return caller.role in ("operator", "specialist", "ops")


async def get_application(session: AsyncSession, app_id: uuid.UUID, caller: Caller) -> tuple[Application, list]:
    app = await session.get(Application, app_id)
    if app is None or not can_read(caller, app):
        raise Problem(404, "not-found", f"No application {app_id}.")
    audit(caller, "read application", str(app.id))
    return app, await history_of(session, [app.id])


async def history_of(session: AsyncSession, ids: list[uuid.UUID]) -> list[StatusChange]:
    rows = await session.scalars(
        select(StatusChange).where(StatusChange.application_id.in_(ids)).order_by(StatusChange.at, StatusChange.id)
    )
    return list(rows)


async def list_applications(
    session: AsyncSession, caller: Caller, *, applicant_iin: str | None, limit: int
) -> tuple[list[Application], list[StatusChange]]:
    query = select(Application).order_by(Application.received_at.desc()).limit(limit)
    if caller.role == "citizen":
        query = query.where(Application.applicant_iin == caller.sub)
    elif caller.role == "mobile":
        query = query.where(Application.channel == "proactive")
    if applicant_iin:
        query = query.where(Application.applicant_iin == applicant_iin)
    apps = list(await session.scalars(query))
    audit(caller, f"listed {len(apps)} applications", f"applicant {applicant_iin or caller.sub or 'any'}")
    return apps, await history_of(session, [a.id for a in apps])

