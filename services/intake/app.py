"""Intake: validates and stores applications, the registration journal, the status read model."""

from __future__ import annotations

from datetime import datetime, timezone

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from sqlalchemy import func, select

from common.calendar import default_calendar
from common.consumer import ConsumerSpec
from common.metrics import BENEFITS, CHANNELS, Metric, gauge, label, single
from common.service import Runtime, ServiceDefinition, create_service_app
from services.intake import sla
from services.intake.adapters import repository
from services.intake.adapters.orm import Application, messaging, metadata
from services.intake.api import ops_router, router
from services.intake.domain.status import OPEN
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


CASE_GAUGES = {
    "open": ("emaket_cases_open", "Open cases (not rejected, refused or paid), per benefit and channel."),
    "due_today": ("emaket_cases_due_today", "Open cases awaiting a decision due today (Asia/Almaty)."),
    "due_next_working_day": (
        "emaket_cases_due_next_working_day",
        "Open cases awaiting a decision due after today, on or before the next working day.",
    ),
    "overdue": ("emaket_cases_overdue", "Open cases awaiting a decision past their due date: the legal term is breached."),
}


async def metrics(runtime: Runtime) -> list[Metric]:
    """Open cases against their due dates (the SLA view's figures), and open applications whose due date
    rests on a calendar year not loaded yet (facts.md). Two GROUP BY-sized queries per scrape."""
    service: IntakeService = runtime.extras["intake"]
    async with runtime.sessions() as session:
        provisional = await session.scalar(
            select(func.count()).where(Application.due_provisional.is_(True), Application.status.in_(sorted(OPEN)))
        )
        buckets = await repository.open_case_buckets(session)
    today = sla.almaty_today(datetime.now(timezone.utc))
    figures = sla.per_benefit_channel(buckets, today=today, next_working_day=service.calendar.next_working_day(today))
    families = {key: gauge(name, text, ("service", "benefit", "channel")) for key, (name, text) in CASE_GAUGES.items()}
    # Every benefit and channel, zeros included: a panel or an alert sees 0, not a missing series.
    keys = {(b, c) for b in BENEFITS for c in CHANNELS} | {(label(b, BENEFITS), label(c, CHANNELS)) for b, c in figures}
    merged: dict[tuple[str, str], sla.Figures] = {}
    for (benefit, channel), counts in figures.items():
        into = merged.setdefault((label(benefit, BENEFITS), label(channel, CHANNELS)), sla.Figures())
        for key in CASE_GAUGES:
            setattr(into, key, getattr(into, key) + getattr(counts, key))
    for benefit, channel in sorted(keys):
        counts = merged.get((benefit, channel), sla.Figures())
        for key, family in families.items():
            family.add_metric(["intake", benefit, channel], float(getattr(counts, key)))
    due_provisional = single(
        "emaket_applications_due_provisional",
        "Open applications whose due date rests on a calendar year not loaded yet (computed by rule only).",
        "intake",
        provisional or 0,
    )
    return [due_provisional, *families.values()]


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
        routers=[router, ops_router],
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
