"""Decision: case file, draft decision, automatic or specialist signature."""

from __future__ import annotations

from fastapi import FastAPI

from common.consumer import ConsumerSpec
from common.service import Runtime, ServiceDefinition, create_service_app
from services.decision.adapters import repository
from services.decision.adapters.orm import messaging, metadata
from services.decision.adapters.signer import load_keyring, write_jwks
from services.decision.api import keys_router, router
from services.decision.handlers import DecisionService
from services.decision.settings import DecisionSettings


async def setup(runtime: Runtime) -> None:
    s = runtime.settings
    keyring = load_keyring(s.signing_key_file, s.retired_keys_dir, dev_mode=s.dev_mode, data_dir=s.data_dir)
    jwks = s.jwks_path()
    if jwks is not None:
        write_jwks(keyring, jwks)  # the payment queue verifies with these (DECISION_JWKS_FILE)
    runtime.extras["decisions"] = DecisionService(keyring)


def consumers(runtime: Runtime) -> list[ConsumerSpec]:
    service: DecisionService = runtime.extras["decisions"]
    return [
        ConsumerSpec(
            group="decision",
            topics=["applications", "eligibility"],
            handlers={
                "application.registered": service.on_application_registered,
                "application.documents_requested": service.on_documents_requested,
                "eligibility.checked": service.on_eligibility_checked,
            },
        )
    ]


async def metrics(runtime: Runtime) -> dict[str, float]:
    async with runtime.sessions() as session:
        waiting, follow_ups = await repository.count_waiting(session)
    return {"decisions_awaiting_signature": waiting, "follow_ups_open": follow_ups}


def create_app(settings: DecisionSettings | None = None) -> FastAPI:
    return create_service_app(
        ServiceDefinition(
            name="decision",
            title="E-maket decision",
            description="Electronic case file (Annex 7, Annex 11), draft decisions, signatures (B§19-1, D§20-1).",
            metadata=metadata,
            tables=messaging,
            routers=[router, keys_router],
            consumers=consumers,
            setup=setup,
            metrics=metrics,
        ),
        settings or DecisionSettings(),
    )
