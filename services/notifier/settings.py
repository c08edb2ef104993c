from pydantic import Field

from common.settings import ServiceSettings


class NotifierSettings(ServiceSettings):
    sms_gateway_url: str | None = Field(default=None, validation_alias="SMS_GATEWAY_URL")  # defaults to the sandbox
    cabinet_url: str | None = Field(default=None, validation_alias="CABINET_URL")
