from pathlib import Path

from pydantic import Field

from common.settings import ServiceSettings


class DecisionSettings(ServiceSettings):
    # Outside dev mode the authorised official's key must be named (common/settings.py: fail closed).
    EXTERNAL_URLS = ("signing_key_file",)

    signing_key_file: Path | None = Field(default=None, validation_alias="DECISION_SIGNING_KEY_FILE")
    # Public (or private) PEMs of every key signed with before; dev default: <data dir>/keys/retired.
    retired_keys_dir: Path | None = Field(default=None, validation_alias="DECISION_RETIRED_KEYS_DIR")
    # Where the JWKS of all keys is written at start (dev default: <data dir>/keys/decision-jwks.json); unset
    # outside dev mode: only served at /.well-known/jwks.json.
    jwks_file: Path | None = Field(default=None, validation_alias="DECISION_JWKS_FILE")

    def jwks_path(self) -> Path | None:
        if self.jwks_file is not None:
            return self.jwks_file
        return self.data_dir / "keys" / "decision-jwks.json" if self.dev_mode else None
