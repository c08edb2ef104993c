"""Intake: validates and stores applications, the registration journal, the status read model."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from sqlalchemy import func, select

from common.calendar import default_calendar
from common.consumer import ConsumerSpec
from common.service import Runtime, ServiceDefinition, create_service_app
from services.intake.adapters.orm import Application, messaging, metadata
from services.intake.api import router
from services.intake.domain.status import TERMINAL
from services.intake.handlers import IntakeService
from services.intake.schemas import application_json_schema
from services.intake.settings import IntakeSettings


def consumers(runtime: Runtime) -> list[ConsumerSpec]:
    service: IntakeService = runtime.extras["intake"]
    return [
        ConsumerSpec(
            group="intake",
            topics=["eligibility", "decisions", "payments"],
            handlers={
                "eligibility.checked": service.on_eligibility_checked,
                "decision.drafted": service.on_decision_drafted,
                "decision.signed": service.on_decision_signed,
                "payment.queued": service.on_payment_queued,
                "payment.paid": service.on_payment_paid,
            },
        )
    ]


async def metrics(runtime: Runtime) -> dict[str, float]:
    """Open applications whose due date rests on a calendar year not loaded yet (facts.md)."""
    async with runtime.sessions() as session:
        provisional = await session.scalar(
            select(func.count()).where(Application.due_provisional.is_(True), Application.status.not_in(TERMINAL))
        )
    return {"applications_due_provisional": provisional or 0}


async def setup(runtime: Runtime) -> None:
    # Registering needs the working-day calendar (kept as data), built once here.
    runtime.extras["intake"] = IntakeService(default_calendar())


def create_app(settings: IntakeSettings | None = None) -> FastAPI:
    definition = ServiceDefinition(
        name="intake",
        title="E-maket intake",
        description="Applications, registration journal (Annex 6), working-day due dates, status read model.",
        metadata=metadata,
        tables=messaging,
        routers=[router],
        consumers=consumers,
        setup=setup,
        metrics=metrics,
    )
    app = create_service_app(definition, settings or IntakeSettings())

    def openapi() -> dict:
        # The POST body is parsed by hand (to name every bad field at once); publish its schema anyway.
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            defs = application_json_schema("#/components/schemas/{model}")
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            components.update(defs.pop("$defs", {}))
            components["ApplicationIn"] = defs
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi
    return app
