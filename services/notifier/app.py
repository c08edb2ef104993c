"""Notifier: receipts, acceptance / rejection and results by SMS and personal cabinet, in Kazakh and Russian."""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy import func, select

from common.consumer import ConsumerSpec
from common.service import Runtime, ServiceDefinition, create_service_app
from services.notifier import handlers
from services.notifier.adapters.gateways import Delivery
from services.notifier.adapters.orm import Notification, messaging, metadata
from services.notifier.domain.templates import TEMPLATES
from services.notifier.settings import NotifierSettings


async def setup(runtime: Runtime) -> None:
    s = runtime.settings
    sms = runtime.external_client(system="sms", base_url=s.sms_gateway_url)
    cabinet = runtime.external_client(system="cabinet", base_url=s.cabinet_url)
    runtime.extras["delivery"] = Delivery(sms, cabinet)


def consumers(runtime: Runtime) -> list[ConsumerSpec]:
    return [
        ConsumerSpec(
            group="notifier",
            topics=["applications", "decisions"],
            handlers={name: handlers.on_status_event for name in TEMPLATES},
        )
    ]


def workers(runtime: Runtime) -> dict:
    async def step() -> int:
        return await handlers.deliver_one(
            runtime.sessions, runtime.extras["delivery"], sms_per_phone_per_hour=runtime.settings.sms_per_phone_per_hour
        )

    return {f"deliver-{n}": step for n in range(2)}


async def metrics(runtime: Runtime) -> dict[str, float]:
    async with runtime.sessions() as session:
        rows = (await session.execute(select(Notification.status, func.count()).group_by(Notification.status))).all()
    counts = dict(rows)
    return {f"notifications_{s}": counts.get(s, 0) for s in ("pending", "sent", "failed")}


def create_app(settings: NotifierSettings | None = None) -> FastAPI:
    return create_service_app(
        ServiceDefinition(
            name="notifier",
            title="E-maket notifier",
            description="Messages to citizens by SMS and the portal cabinet, in Kazakh and Russian.",
            metadata=metadata,
            tables=messaging,
            consumers=consumers,
            workers=workers,
            setup=setup,
            metrics=metrics,
        ),
        settings or NotifierSettings(),
    )
