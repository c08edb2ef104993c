from pydantic import Field

from common.settings import ServiceSettings


class EligibilitySettings(ServiceSettings):
    # Outside dev mode each must be set explicitly (common/settings.py: no sandbox fallback).
    EXTERNAL_URLS = ("egov_url",)

    egov_url: str | None = Field(default=None, validation_alias="EGOV_URL")  # defaults to the sandbox
    egov_timeout_s: float = Field(default=3.0, validation_alias="EGOV_TIMEOUT_S")
    check_workers: int = Field(default=4, validation_alias="ELIGIBILITY_CHECK_WORKERS")
