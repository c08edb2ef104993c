from pydantic import Field

from common.settings import ServiceSettings


class PaymentQueueSettings(ServiceSettings):
    # Outside dev mode each must be set explicitly (common/settings.py: no sandbox fallback).
    EXTERNAL_URLS = ("payments_db_url",)

    payments_db_url: str | None = Field(default=None, validation_alias="PAYMENTS_DB_URL")  # defaults to the sandbox
    payments_timeout_s: float = Field(default=5.0, validation_alias="PAYMENTS_TIMEOUT_S")
    paid_poll_s: float = Field(default=60.0, validation_alias="PAYMENTS_PAID_POLL_S")
