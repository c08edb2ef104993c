"""Eligibility: asks the registries, runs the legal checks as pure rules, keeps the evidence."""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy import func, select

from common.consumer import ConsumerSpec
from common.service import Runtime, ServiceDefinition, create_service_app
from services.eligibility import handlers
from services.eligibility.adapters.egov import EgovRegistries
from services.eligibility.adapters.orm import Check, messaging, metadata
from services.eligibility.settings import EligibilitySettings


async def setup(runtime: Runtime) -> None:
    settings = runtime.settings
    client = runtime.external_client(system="egov", base_url=settings.egov_url, timeout_s=settings.egov_timeout_s)
    runtime.extras["registries"] = EgovRegistries(client)


def consumers(runtime: Runtime) -> list[ConsumerSpec]:
    return [
        ConsumerSpec(
            group="eligibility",
            topics=["applications"],
            handlers={
                "application.received": handlers.on_application_received,
                "application.documents_provided": handlers.on_documents_provided,
            },
        )
    ]


def workers(runtime: Runtime) -> dict:
    async def step() -> int:
        return await handlers.run_one_check(runtime.sessions, runtime.extras["registries"])

    return {f"check-{n}": step for n in range(runtime.settings.check_workers)}


async def metrics(runtime: Runtime) -> dict[str, float]:
    async with runtime.sessions() as session:
        pending = await session.scalar(select(func.count()).where(Check.status == "pending"))
        retrying = await session.scalar(select(func.count()).where(Check.status == "pending", Check.attempts > 0))
    return {
        "checks_pending": pending or 0,
        "checks_retrying": retrying or 0,
    }


def create_app(settings: EligibilitySettings | None = None) -> FastAPI:
    return create_service_app(
        ServiceDefinition(
            name="eligibility",
            title="E-maket eligibility",
            description="Registry queries through the e-gov gateway and the legal checks (B§13).",
            metadata=metadata,
            tables=messaging,
            consumers=consumers,
            workers=workers,
            setup=setup,
            metrics=metrics,
        ),
        settings or EligibilitySettings(),
    )
