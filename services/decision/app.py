"""Decision: case file, draft decision, automatic or specialist signature."""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy import func, select

from common.consumer import ConsumerSpec, with_session_info
from common.service import Runtime, ServiceDefinition, create_service_app
from services.decision import handlers
from services.decision.adapters.orm import Decision, messaging, metadata
from services.decision.adapters.signer import load_signer
from services.decision.api import router
from services.decision.settings import DecisionSettings


async def setup(runtime: Runtime) -> None:
    s = runtime.settings
    runtime.extras["signer"] = load_signer(s.signing_key_file, dev_mode=s.dev_mode, data_dir=s.data_dir)


def consumers(runtime: Runtime) -> list[ConsumerSpec]:
    signer = runtime.extras["signer"]
    return [
        ConsumerSpec(
            group="decision",
            topics=["applications", "eligibility"],
            handlers={
                "application.registered": with_session_info(handlers.on_application_registered, signer=signer),
                "eligibility.checked": with_session_info(handlers.on_eligibility_checked, signer=signer),
            },
        )
    ]


async def metrics(runtime: Runtime) -> dict[str, float]:
    async with runtime.sessions() as session:
        waiting = await session.scalar(select(func.count()).where(Decision.status == "awaiting_signature"))
    return {"decisions_awaiting_signature": waiting or 0}


def create_app(settings: DecisionSettings | None = None) -> FastAPI:
    return create_service_app(
        ServiceDefinition(
            name="decision",
            title="E-maket decision",
            description="Electronic case file (Annex 7), draft decisions, signatures (B§19-1).",
            metadata=metadata,
            tables=messaging,
            routers=[router],
            consumers=consumers,
            setup=setup,
            metrics=metrics,
        ),
        settings or DecisionSettings(),
    )
