"""Intake's use cases: submit an application, register it, take documents, follow it to the end."""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from common.calendar import ALMATY, WorkingCalendar
from common.caller import Caller, audit
from common.envelope import Envelope
from common.events import (
    ApplicationData,
    ApplicationReceived,
    ApplicationRegistered,
    ApplicationRejected,
    DecisionDrafted,
    DecisionSigned,
    DocumentsProvided,
    DocumentsRequested,
    EligibilityChecked,
    PaymentPaid,
    PaymentQueued,
    envelope_of,
)
from common.identifiers import mask_iin
from common.law.params import extension_days
from common.metrics import APPLICATIONS_RECEIVED, APPLICATIONS_REJECTED, BENEFITS, CHANNELS, STAGE_SECONDS, count, label, observe
from common.outbox import add_event
from common.problems import Problem, field_path
from common.reasons import reason
from services.intake import sla
from services.intake.adapters import repository
from services.intake.adapters.orm import Application, StatusChange, messaging
from services.intake.domain.documents import document_errors
from services.intake.domain.policies import IntakePolicy, policy_for
from services.intake.domain.requests import ApplicationBase, DocumentsIn, attached
from services.intake.domain.status import CHANNEL_OF_ROLE, ApplicationStatus, Step, can_move, step_for
from services.intake.domain.term import due_of, registration_day

log = logging.getLogger(__name__)
SOURCE = "intake"
TOPIC = "applications"
S = ApplicationStatus


def body_digest(body: dict) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def almaty_day(at: datetime) -> date:
    return at.astimezone(ALMATY).date()


def contact_of(app: Application) -> dict:
    """Where the citizen hears from us: SMS for proactive (B-Std, D-Std, S-Std p.5), the cabinet for portal (B§13).

    [law: B-Std5.proactive-sms, D-Std5.proactive-sms, S-Std5.proactive-sms, B13.acceptance-message-cabinet,
    B-Std8.portal-status-in-cabinet, D-Std8.portal-status-in-cabinet, S-Std8.portal-status-in-cabinet]
    """
    phone = app.body.get("phone")
    if app.channel == "proactive" or (app.channel != "portal" and phone):
        return {"channel": "sms", "phone": phone, "iin": app.applicant_iin}
    if app.applicant_iin:
        return {"channel": "cabinet", "phone": None, "iin": app.applicant_iin}
    return {"channel": None, "phone": None, "iin": None}


def application_data(app: Application) -> dict[str, Any]:
    """The whole application as every application.* event carries it (common.events.ApplicationData)."""
    body = app.body
    return {
        "application_id": str(app.id),
        "benefit": app.benefit,
        "channel": app.channel,
        "status": app.status,
        "received_at": app.received_at.isoformat(),
        "received_on": almaty_day(app.received_at).isoformat(),
        "applicant": {"iin": app.applicant_iin, "bin": app.applicant_bin},
        "deceased_iin": app.deceased_iin,
        "dependants": body.get("dependants", []),
        "also_apply_for": body.get("also_apply_for", []),
        "iban": (body.get("bank_account") or {}).get("iban"),
        "documents": app.documents or [],
        "consents": body.get("consents", {}),
        "registration_number": app.registration_number,
        "registered_on": app.registered_on.isoformat() if app.registered_on else None,
        "due_by": app.due_by.isoformat() if app.due_by else None,
        "contact": contact_of(app),
        "reasons": app.reasons or [],
        "requested_documents": app.requested_documents or [],
    }


async def _emit(session: AsyncSession, event_type: type[ApplicationData], app: Application) -> None:
    event = event_type.model_validate(application_data(app))
    await add_event(session, messaging, TOPIC, envelope_of(event, source=SOURCE, subject=str(app.id)))


def _move(session: AsyncSession, app: Application, target: ApplicationStatus, at: datetime) -> None:
    """One step of the state machine, recorded in the history (docs/benefits.md States)."""
    current = S(app.status)
    if not can_move(current, target):
        raise ValueError(f"application {app.id}: {current.value} -> {target.value} is not a transition")
    app.status = target.value
    repository.add_history(session, app.id, target.value, at)


def _labels(app: Application) -> dict[str, str]:
    """The application's metric labels: benefit and channel, from their fixed sets (never a personal value)."""
    return {"service": SOURCE, "benefit": label(app.benefit, BENEFITS), "channel": label(app.channel, CHANNELS)}


async def _stage_done(
    session: AsyncSession, app: Application, stage: str, at: datetime, *, since_status: S | None = None
) -> None:
    """Observe how long the case took to ``at`` since it received (``since_status`` None) or first reached
    ``since_status`` (emaket_stage_duration_seconds, counted once the transaction commits)."""
    started = app.received_at if since_status is None else await repository.first_status_at(session, app.id, since_status.value)
    if started is not None:
        observe(STAGE_SECONDS, (at - started).total_seconds(), session, service=SOURCE,
                benefit=label(app.benefit, BENEFITS), stage=stage)


def authorize_submission(caller: Caller, request: ApplicationBase) -> None:
    """api.md role ↔ channel; a citizen files only for themselves."""
    channel = CHANNEL_OF_ROLE.get(caller.role)
    if channel is None:
        raise Problem(403, "forbidden", f"Role '{caller.role}' does not file applications.")
    if request.channel.value != channel:
        raise Problem(
            403, "channel-not-allowed", f"Role '{caller.role}' files through channel '{channel}', not '{request.channel.value}'."
        )
    if caller.role == "citizen" and request.applicant.iin != caller.sub:
        raise Problem(403, "not-your-application", "A citizen applies only in their own name (applicant.iin must be yours).")


def _event_target(envelope: Envelope) -> ApplicationStatus | None:
    """The status a decision or payment event moves the application to; None when it moves nothing."""
    if envelope.name == "decision.drafted":
        drafted = DecisionDrafted.of(envelope)
        return S.awaiting_signature if drafted.status == "awaiting_signature" else None
    if envelope.name == "decision.signed":
        return S.assigned if DecisionSigned.of(envelope).outcome == "assign" else S.refused
    if envelope.name == "payment.queued":
        return S.payment_queued
    if envelope.name == "payment.paid":
        return S.paid
    return None


class IntakeService:
    """Intake's use cases with what they depend on (the working-day calendar), built once in app.py."""

    def __init__(self, calendar: WorkingCalendar) -> None:
        self.calendar = calendar
        self._appliers: dict[str, Callable[[AsyncSession, Application, Envelope], Awaitable[None]]] = {
            "decision.drafted": self._apply_drafted,
            "decision.signed": self._apply_signed,
            "payment.queued": self._apply_queued,
            "payment.paid": self._apply_paid,
        }

    # --- submission -------------------------------------------------------------------

    async def submit(
        self,
        session: AsyncSession,
        *,
        request: ApplicationBase,
        body: dict,
        caller: Caller,
        idempotency_key: str | None,
        now: datetime,
    ) -> tuple[Application, bool]:
        """Store a new application, or return the one this key already made. Runs in the caller's transaction."""
        authorize_submission(caller, request)
        digest = body_digest(body)
        scope = f"{caller.role}:{caller.sub or ''}"
        stored = request.model_dump(mode="json")
        app_id = await repository.insert_application(
            session,
            id=uuid.uuid4(),
            benefit=request.benefit,
            channel=request.channel.value,
            status=S.received.value,
            applicant_iin=request.applicant.iin,
            applicant_bin=request.applicant.bin,
            deceased_iin=request.deceased,
            body=stored,
            body_sha256=digest,
            idempotency_scope=scope,
            idempotency_key=idempotency_key,
            received_at=now,
            reasons=[],
            documents=stored.get("documents", []),
            requested_documents=[],
        )
        if app_id is None:
            existing = await repository.by_idempotency(session, scope, idempotency_key)
            if existing is None or existing.body_sha256 != digest:
                raise Problem(
                    409, "idempotency-key-reused", "This Idempotency-Key was already used with a different request body."
                )
            return existing, False

        app = await session.get(Application, app_id)
        assert app is not None
        repository.add_history(session, app.id, S.received.value, now)
        count(APPLICATIONS_RECEIVED, session, **_labels(app))
        policy = policy_for(app.benefit)

        refusals = await self._intake_refusals(session, app, request, policy)
        if refusals:
            await self._reject(session, app, refusals, now)
            return app, True

        await _emit(session, ApplicationReceived, app)
        if policy.registers_on_receipt(app.channel):
            await self.register(session, app, now=now)
        return app, True

    async def _intake_refusals(
        self, session: AsyncSession, app: Application, request: ApplicationBase, policy: IntakePolicy
    ) -> list[dict]:
        """Checks intake makes on its own: consent (B-Std, D-Std, S-Std p.9 ground 3), then the benefit's uniqueness claims.

        [law: B-Std9.ground3.no-consent, D-Std9.ground3.no-consent, S-Std9.ground3.no-consent, S-Std10.proactive-consent,
        B-Std8.proactive-consent-and-account, D-Std8.proactive-consent-and-account, B13.check2.no-payment-assigned,
        B13.check3.no-application-filed, D4.one-benefit-per-person, S7.one-claim-per-dependant]
        """
        if not request.consents.personal_data or (app.channel == "proactive" and not request.consents.proactive):
            # Without consent no registry may be asked about the applicant (Law on Personal Data, art. 8).
            return [reason("no_consent")]
        claims = policy.claims(
            applicant_iin=app.applicant_iin, deceased_iin=app.deceased_iin, dependants=request.listed_dependants
        )
        conflicts = await repository.take_claims(session, app.id, claims)
        return [
            reason(policy.conflict_assigned if state == "assigned" else policy.conflict_filed, subject=claim.subject)
            for claim, state in conflicts
        ]

    async def _reject(self, session: AsyncSession, app: Application, reasons: list[dict], at: datetime) -> None:
        """Not accepted for registration (B§16): terminal, with reasons and a message to the applicant.

        The claims are released: the applicant may apply again once the cause is removed.
        [law: B16.failed-checks-auto-rejection, B-Std9.reapply-after-cause-removed, D-Std9.reapply-after-cause-removed,
        S-Std9.reapply-after-cause-removed]
        """
        app.reasons = reasons
        _move(session, app, S.rejected, at)
        count(APPLICATIONS_REJECTED, session, **_labels(app))
        await repository.release_claims(session, app.id)
        await _emit(session, ApplicationRejected, app)

    # --- registration and the term ----------------------------------------------------

    def _set_due(self, app: Application, policy: IntakePolicy) -> None:
        """due_by = the term's N-th working day after registration, plus any documents extension."""
        assert app.registered_on is not None
        computed = due_of(
            self.calendar,
            policy,
            app.channel,
            registered_on=app.registered_on,
            automated=app.term_automated,
            extension_days=app.extension_days,
        )
        app.term_automated = computed.automated
        due = computed.due
        app.due_by = due.date
        app.due_provisional = due.provisional
        if due.provisional:
            # facts.md: a year without loaded holiday data is computed by rule and never silently.
            log.warning("due date %s computed by rule only: load the %s holiday calendar", due.date, due.date.year)

    async def register(self, session: AsyncSession, app: Application, *, now: datetime) -> None:
        """Enter the application in the registration journal (Annex 6) with its due date.

        [law: B13.auto-registered-in-journal, B16.proactive-auto-registration, D20-1.auto-registration]
        """
        policy = policy_for(app.benefit)
        registered_on = registration_day(self.calendar, policy, app.received_at)
        number = await repository.next_journal_number(session)
        app.registration_number = f"{policy.number_prefix}-{registered_on:%Y%m%d}-{number:07d}"
        app.registered_on = registered_on
        app.term_automated = True  # the automated term where the channel has one, until the checks say otherwise
        self._set_due(app, policy)
        await repository.upsert_journal(session, app)
        _move(session, app, S.registered, now)
        await _stage_done(session, app, "received_to_registered", now)
        await _emit(session, ApplicationRegistered, app)

    # --- events from the other services -------------------------------------------------

    async def _load(self, session: AsyncSession, application_id: uuid.UUID, name: str) -> Application:
        app = await repository.lock(session, application_id)
        if app is None:
            raise LookupError(f"event {name} names an unknown application")
        return app

    async def on_eligibility_checked(self, session: AsyncSession, event: Envelope) -> None:
        """Portal burial: register or reject (B§13, B§16); any case: the term (D§24) and documents (D§7, S§7).

        [law: B13.passed-to-incoming-journal, B16.failed-checks-auto-rejection, D24.term-1wd-auto, D24.term-7wd]
        """
        checked = EligibilityChecked.of(event)
        app = await self._load(session, checked.application_id, event.name)
        policy = policy_for(app.benefit)
        if app.status == S.received.value:
            if not checked.eligible:
                await self._reject(session, app, [r.model_dump(mode="json") for r in checked.reasons], event.time)
                return
            await self.register(session, app, now=event.time)
        if app.status in (S.received.value, S.rejected.value, S.refused.value, S.paid.value):
            return
        if app.term_automated and not checked.automated:
            # D§24: a person decides this case, so the default term runs from registration.
            app.term_automated = False
            self._set_due(app, policy)
            await repository.upsert_journal(session, app)
        if checked.requested_documents:
            await self._request_documents(session, app, policy, checked, event.time)
        await self._drain(session, app)

    async def _request_documents(
        self, session: AsyncSession, app: Application, policy: IntakePolicy, checked: EligibilityChecked, at: datetime
    ) -> None:
        """D§7, S§7: the case waits for documents; D-Std p.3, S-Std p.3: the term grows by the extension.

        Counted from registration, extended once, not restarted when the documents arrive.
        [law: D-Std3.extension-5wd, S-Std3.extension-5wd, B-Std3.extension-5wd, D24.term-counted-with-documents,
        S24.term-counted-with-documents]
        """
        if app.status != S.registered.value:
            log.info("documents requested for application %s in %s: ignored", app.id, app.status)
            return
        app.requested_documents = [d.model_dump(mode="json") for d in checked.requested_documents]
        if app.extension_days == 0:
            # Project decision: the law gives one extension per application; asking again does not add more.
            app.extension_days = extension_days(on=almaty_day(at))
            self._set_due(app, policy)
            await repository.upsert_journal(session, app)
        _move(session, app, S.awaiting_documents, at)
        await _emit(session, DocumentsRequested, app)

    async def on_decision_drafted(self, session: AsyncSession, event: Envelope) -> None:
        await self._on_status_event(session, DecisionDrafted.of(event).application_id, event)

    async def on_decision_signed(self, session: AsyncSession, event: Envelope) -> None:
        await self._on_status_event(session, DecisionSigned.of(event).application_id, event)

    async def on_payment_queued(self, session: AsyncSession, event: Envelope) -> None:
        await self._on_status_event(session, PaymentQueued.of(event).application_id, event)

    async def on_payment_paid(self, session: AsyncSession, event: Envelope) -> None:
        await self._on_status_event(session, PaymentPaid.of(event).application_id, event)

    async def _on_status_event(self, session: AsyncSession, application_id: uuid.UUID, event: Envelope) -> None:
        """Apply a direct transition, park an event that overtook its predecessors, ignore a stale one."""
        app = await self._load(session, application_id, event.name)
        target = _event_target(event)
        step = Step.ignore if target is None else step_for(S(app.status), target)
        if step is Step.apply:
            await self._appliers[event.name](session, app, event)
            await self._drain(session, app)
        elif step is Step.park:
            log.info("parking %s for application %s in %s", event.name, app.id, app.status)
            await repository.park(session, app.id, event.model_dump(mode="json"))
        else:
            log.info("ignoring %s for application %s in %s", event.name, app.id, app.status)

    async def _drain(self, session: AsyncSession, app: Application) -> None:
        """Apply parked events the last transition made valid, in the same transaction (benefits.md States)."""
        progressed = True
        while progressed:
            progressed = False
            for parked in await repository.parked(session, app.id):
                envelope = Envelope.model_validate(parked.envelope)
                target = _event_target(envelope)
                step = Step.ignore if target is None else step_for(S(app.status), target)
                if step is Step.park:
                    continue
                await repository.unpark(session, parked)
                if step is Step.apply:
                    await self._appliers[envelope.name](session, app, envelope)
                    progressed = True
                    break
                log.info("dropping parked %s for application %s in %s", envelope.name, app.id, app.status)

    async def _apply_drafted(self, session: AsyncSession, app: Application, event: Envelope) -> None:
        _move(session, app, S.awaiting_signature, event.time)

    async def _apply_signed(self, session: AsyncSession, app: Application, event: Envelope) -> None:
        signed = DecisionSigned.of(event)
        await _stage_done(session, app, "registered_to_decided", event.time, since_status=S.registered)
        app.decision = {
            "id": str(signed.decision_id),
            "outcome": signed.outcome,
            "amount_kzt": signed.amount_kzt,
            "period_start": signed.period_start.isoformat() if signed.period_start else None,
            "signed_at": signed.signed_at.isoformat() if signed.signed_at else None,
            "signed_by": signed.signed_by,
        }
        if signed.outcome == "assign":
            _move(session, app, S.assigned, event.time)
            policy = policy_for(app.benefit)
            claims = await repository.claims_of(session, app.id)
            released = policy.claims_released_on_assignment(claims, [(r.code, r.subject) for r in signed.reasons])
            if released:
                await repository.release_claims(session, app.id, released)
            # From now on the claims say "assigned": B§13 check 2, D§4, S§7. law: B13.check2.no-payment-assigned
            await repository.assign_claims(session, app.id)
        else:
            app.reasons = [r.model_dump(mode="json") for r in signed.reasons]
            _move(session, app, S.refused, event.time)
            # law: B-Std9.reapply-after-cause-removed, D-Std9.reapply-after-cause-removed, S-Std9.reapply-after-cause-removed
            await repository.release_claims(session, app.id)

    async def _apply_queued(self, session: AsyncSession, app: Application, event: Envelope) -> None:
        _move(session, app, S.payment_queued, event.time)
        await _stage_done(session, app, "decided_to_payment_queued", event.time, since_status=S.assigned)

    async def _apply_paid(self, session: AsyncSession, app: Application, event: Envelope) -> None:
        _move(session, app, S.paid, event.time)
        await _stage_done(session, app, "payment_queued_to_paid", event.time, since_status=S.payment_queued)

    # --- documents ----------------------------------------------------------------------

    async def attach_documents(
        self, session: AsyncSession, application_id: uuid.UUID, *, payload: DocumentsIn, caller: Caller, now: datetime
    ) -> Application:
        """api.md Documents: the operator attaches what the case asked for; the checks run again."""
        caller.require("operator")
        app = await repository.lock(session, application_id)
        if app is None:
            raise Problem(404, "not-found", f"No application {application_id}.")
        if app.status != S.awaiting_documents.value:
            raise Problem(409, "not-awaiting-documents", f"The application is {app.status}, not awaiting documents.")
        requested = {d["type"] for d in app.requested_documents or []}
        errors = document_errors(payload.documents, requested=requested, today=almaty_day(now))
        if errors:
            fields = [{"field": field_path(loc), "message": message} for loc, message in errors]
            names = ", ".join(sorted({f["field"] for f in fields}))
            raise Problem(422, "invalid-input", f"The request has invalid fields: {names}.", errors=fields)
        app.documents = [*(app.documents or []), *(attached(d, at=now, by=caller.sub) for d in payload.documents)]
        app.requested_documents = []
        _move(session, app, S.registered, now)
        await _emit(session, DocumentsProvided, app)
        audit(caller, f"attached {len(payload.documents)} documents", str(app.id))
        log.info("documents attached to application %s of %s", app.id, mask_iin(app.applicant_iin or app.applicant_bin or ""))
        await self._drain(session, app)
        return app


# --- reads ---------------------------------------------------------------------------


def can_read(caller: Caller, app: Application) -> bool:
    """A citizen reads only their own applications; operators, specialists and ops read all (api.md)."""
    if caller.role == "citizen":
        return app.applicant_iin == caller.sub
    if caller.role == "mobile":
        return app.channel == "proactive"
    return caller.role in ("operator", "specialist", "ops")


async def get_application(session: AsyncSession, app_id: uuid.UUID, caller: Caller) -> tuple[Application, list]:
    """The status read model of one application, answered at once (no registry is asked).

    [law: B-Std8.portal-info-request, D-Std3.portal-info-30min, S-Std3.portal-info-30min, B-Std10.status-remote,
    D-Std10.status-remote, S-Std10.status-remote, B-Std8.portal-status-in-cabinet, D-Std8.portal-status-in-cabinet,
    S-Std8.portal-status-in-cabinet]
    """
    app = await session.get(Application, app_id)
    if app is None or not can_read(caller, app):
        raise Problem(404, "not-found", f"No application {app_id}.")
    audit(caller, "read application", str(app.id))
    return app, await history_of(session, [app.id])


async def sla_report(session: AsyncSession, caller: Caller, *, calendar: WorkingCalendar, now: datetime) -> sla.SlaReport:
    """Ops' SLA view: open cases against their due dates, per benefit, channel and status (services/intake/sla.py)."""
    caller.require("ops")
    today = sla.almaty_today(now)
    buckets = await repository.open_case_buckets(session)
    overdue = await repository.most_overdue(session, today)
    report = sla.report(buckets, overdue, now=now, next_working_day=calendar.next_working_day(today))
    audit(caller, f"read the SLA view ({report.totals.open} open, {report.totals.overdue} overdue)", "intake open cases")
    return report


async def history_of(session: AsyncSession, ids: list[uuid.UUID]) -> list[StatusChange]:
    return await repository.history_of(session, ids)


async def list_applications(
    session: AsyncSession, caller: Caller, *, applicant_iin: str | None, limit: int
) -> tuple[list[Application], list[StatusChange]]:
    apps = await repository.list_applications(
        session,
        owner_iin=(caller.sub or "") if caller.role == "citizen" else None,
        applicant_iin=applicant_iin,
        channel="proactive" if caller.role == "mobile" else None,
        limit=limit,
    )
    audit(caller, f"listed {len(apps)} applications", f"applicant {applicant_iin or caller.sub or 'any'}")
    return apps, await history_of(session, [a.id for a in apps])
