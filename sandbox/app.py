"""The sandbox: one app standing in for every external system.

* e-gov gateway registries (ГБД ФЛ, ИС ЗАГС, ЦБДИ, НОБД, ГБД ЮЛ, ...) – ``/egov/*``
* payments database (ОДҚ / ЦБД) – ``/payments-db/*``
* SMS gateway – ``/sms-gateway/*``
* e-gov portal personal cabinet – ``/cabinet/*``
* test controls (fixtures, sent records, faults, call log) – ``/sandbox/*``

Run: ``python -m uvicorn sandbox.app:create_app --factory --port 8010``.
All state is in memory on ``app.state`` and created here, never at import.
"""

from __future__ import annotations

from fastapi import FastAPI
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from common.devguard import LoopbackOnly
from common.problems import install_problem_handlers
from common.settings import StrictFlag, check_dev_bind
from sandbox import routes_admin, routes_egov, routes_messages, routes_payments
from sandbox.faults import DEFAULT_HANG_SECONDS, FaultBook, install_external_system_middleware
from sandbox.store import SandboxStore


class SandboxSettings(BaseSettings):
    """The sandbox invents deaths, pensions and bank accounts: it exists only in dev mode, on loopback."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    dev_mode: StrictFlag = Field(default=False, validation_alias="DEV_MODE")
    bind_host: str = Field(default="127.0.0.1", validation_alias="BIND_HOST")


def create_app(*, hang_seconds: float = DEFAULT_HANG_SECONDS, settings: SandboxSettings | None = None) -> FastAPI:
    """Build a fresh sandbox; ``hang_seconds`` is how long an injected timeout hangs.

    Refuses outside dev mode (issue 6): its fixtures would let anyone invent a death and be paid for it.
    """
    settings = settings or SandboxSettings()
    if not settings.dev_mode:
        raise RuntimeError("the sandbox of external systems runs only with DEV_MODE=true (it invents registry data)")
    check_dev_bind(settings.dev_mode, settings.bind_host)
    app = FastAPI(
        title="e-Maket sandbox of external systems",
        version="1.0",
        description="Dev/test stand-in for the e-gov registries, payments database, SMS gateway and cabinet.",
    )
    app.state.store = SandboxStore()
    app.state.faults = FaultBook(hang_seconds=hang_seconds)

    install_problem_handlers(app)
    install_external_system_middleware(app)
    app.add_middleware(LoopbackOnly)

    app.include_router(routes_egov.router)
    app.include_router(routes_payments.router)
    app.include_router(routes_messages.router)
    app.include_router(routes_admin.router)

    @app.get("/healthz", tags=["health"])
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
