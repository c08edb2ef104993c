from pathlib import Path

from pydantic import Field

from common.settings import ServiceSettings


class DecisionSettings(ServiceSettings):
    signing_key_file: Path | None = Field(default=None, validation_alias="DECISION_SIGNING_KEY_FILE")
