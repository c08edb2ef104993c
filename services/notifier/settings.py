from pydantic import Field

from common.settings import ServiceSettings


class NotifierSettings(ServiceSettings):
    # Outside dev mode each must be set explicitly (common/settings.py: no sandbox fallback).
    EXTERNAL_URLS = ("sms_gateway_url", "cabinet_url")

    sms_gateway_url: str | None = Field(default=None, validation_alias="SMS_GATEWAY_URL")  # defaults to the sandbox
    cabinet_url: str | None = Field(default=None, validation_alias="CABINET_URL")
    # Issue 6 point 10: at most this many SMS per phone per hour; more wait (never dropped).
    sms_per_phone_per_hour: int = Field(default=10, gt=0, validation_alias="NOTIFIER_SMS_PER_PHONE_PER_HOUR")
