"""Thin HTTP layer of intake: parse, call a handler, shape the answer (style.md habit 2)."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from common.calendar import ALMATY
from common.caller import Caller, CallerDep
from common.db import snapshot
from common.problems import BODY_TOO_LARGE_STATUS, Problem
from common.strict_json import HostileJson, loads_strict
from services.intake import handlers
from services.intake.adapters.orm import Application
from services.intake.schemas import ApplicationList, ApplicationOut, DocumentsIn, parse_application
from services.intake.sla import SlaReport

router = APIRouter(prefix="/api/v1/applications", tags=["applications"])
ops_router = APIRouter(prefix="/api/v1/ops", tags=["ops"])


def _operator(caller: CallerDep) -> Caller:
    """api.md Documents: only a State Corporation operator attaches documents (checked before the body is read)."""
    caller.require("operator")
    return caller


OperatorDep = Annotated[Caller, Depends(_operator)]


def to_out(app: Application, history: list) -> ApplicationOut:
    return ApplicationOut(
        id=app.id,
        benefit=app.benefit,
        channel=app.channel,
        status=app.status,
        registration_number=app.registration_number,
        received_at=app.received_at,
        registered_on=app.registered_on,
        due_by=app.due_by,
        due_by_provisional=app.due_provisional,
        reasons=app.reasons or [],
        decision=app.decision,
        history=[{"status": h.status, "at": h.at} for h in history if h.application_id == app.id],
        requested_documents=app.requested_documents or [],
        documents=app.documents or [],
        dependants=app.body.get("dependants", []),
        also_apply_for=app.body.get("also_apply_for", []),
    )


def _service(request: Request) -> handlers.IntakeService:
    return request.app.state.runtime.extras["intake"]


def _invalid(exc: ValidationError) -> RequestValidationError:
    return RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in exc.errors()])


async def _read_body(request: Request, limit: int) -> dict:
    raw = await request.body()
    if len(raw) > limit:
        error = {"field": "body", "message": f"at most {limit} bytes"}
        raise Problem(BODY_TOO_LARGE_STATUS, "body-too-large", f"The body exceeds {limit} bytes.", errors=[error])
    try:
        body = loads_strict(raw)
    except HostileJson as bad:
        raise Problem(422, "invalid-json", f"The body cannot be taken: {bad.message}.", errors=[{"field": bad.field, "message": bad.message}]) from None
    if not isinstance(body, dict):
        raise Problem(422, "invalid-input", "The body must be a JSON object.", errors=[{"field": "body", "message": "must be a JSON object"}])
    return body


@router.post(
    "",
    status_code=202,
    response_model=ApplicationOut,
    summary="File an application",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ApplicationIn"}}},
        }
    },
    responses={409: {"description": "Idempotency-Key reused with another body"}, 422: {"description": "Invalid fields (problem details)"}},
)
async def submit_application(
    request: Request,
    response: Response,
    caller: CallerDep,
    idempotency_key: Annotated[
        str | None,
        Header(max_length=128, pattern=r"^[\x21-\x7e]+$", description="Same key + same body → same application (printable ASCII)"),
    ] = None,
) -> ApplicationOut:
    runtime = request.app.state.runtime
    body = await _read_body(request, runtime.settings.max_body_bytes)
    now = datetime.now(timezone.utc)
    try:
        application = parse_application(body, today=now.astimezone(ALMATY).date())
    except ValidationError as exc:
        raise _invalid(exc) from None
    async with runtime.sessions() as session, session.begin():
        app, created = await _service(request).submit(
            session,
            request=application,
            body=body,
            caller=caller,
            idempotency_key=idempotency_key,
            now=now,
        )
        history = await handlers.history_of(session, [app.id])
        out = to_out(app, history)
    response.headers["Location"] = f"/api/v1/applications/{app.id}"
    if not created:
        response.headers["Idempotent-Replayed"] = "true"
    return out


@router.post(
    "/{application_id}/documents",
    response_model=ApplicationOut,
    summary="Attach the documents a case waits for (State Corporation operator)",
    responses={
        403: {"description": "Not an operator"},
        404: {"description": "No such application"},
        409: {"description": "The application is not awaiting documents"},
        422: {"description": "Invalid fields (problem details)"},
    },
)
async def attach_documents(
    application_id: uuid.UUID, request: Request, caller: OperatorDep, payload: DocumentsIn
) -> ApplicationOut:
    runtime = request.app.state.runtime
    async with runtime.sessions() as session, session.begin():
        app = await _service(request).attach_documents(
            session, application_id, payload=payload, caller=caller, now=datetime.now(timezone.utc)
        )
        history = await handlers.history_of(session, [app.id])
        return to_out(app, history)


@router.get("/{application_id}", response_model=ApplicationOut, summary="Where is my application")
async def read_application(application_id: uuid.UUID, request: Request, caller: CallerDep) -> ApplicationOut:
    async with request.app.state.runtime.sessions() as session, session.begin():
        await snapshot(session)
        app, history = await handlers.get_application(session, application_id, caller)
        return to_out(app, history)


@router.get("", response_model=ApplicationList, summary="Personal cabinet list")
async def list_applications(
    request: Request,
    caller: CallerDep,
    applicant_iin: Annotated[str | None, Query(pattern=r"^[0-9]{12}$", description="12 ASCII digits")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> ApplicationList:
    async with request.app.state.runtime.sessions() as session, session.begin():
        await snapshot(session)
        apps, history = await handlers.list_applications(session, caller, applicant_iin=applicant_iin, limit=limit)
        return ApplicationList(items=[to_out(a, history) for a in apps])


@ops_router.get(
    "/sla",
    response_model=SlaReport,
    summary="Open cases against their legal deadlines, per benefit, channel and status (ops)",
    responses={403: {"description": "Not ops"}},
)
async def read_sla(request: Request, caller: CallerDep) -> SlaReport:
    """Counts only, no personal data: open cases, due today, due the next working day, overdue ("today" in
    Asia/Almaty; the term runs until the decision is signed), the oldest case of each group, and the id of
    each benefit's most overdue case. Served through the gateway at the same path."""
    caller.require("ops")
    async with request.app.state.runtime.sessions() as session, session.begin():
        await snapshot(session)
        return await handlers.sla_report(
            session, caller, calendar=_service(request).calendar, now=datetime.now(timezone.utc)
        )
