from pydantic import Field

from common.settings import ServiceSettings


class PaymentQueueSettings(ServiceSettings):
    # Outside dev mode each must be set explicitly (common/settings.py: no sandbox fallback, no guessed keys).
    EXTERNAL_URLS = ("payments_db_url", "decision_jwks")

    payments_db_url: str | None = Field(default=None, validation_alias="PAYMENTS_DB_URL")  # defaults to the sandbox
    payments_timeout_s: float = Field(default=5.0, validation_alias="PAYMENTS_TIMEOUT_S")
    paid_poll_s: float = Field(default=60.0, validation_alias="PAYMENTS_PAID_POLL_S")
    # The decision service's public keys (JWKS): a file path or an http(s) URL (decision's /.well-known/jwks.json).
    # Dev mode default: the file decision writes into the shared data folder.
    decision_jwks: str | None = Field(default=None, validation_alias="DECISION_JWKS")

    def decision_keys_source(self) -> str:
        if self.decision_jwks:
            return self.decision_jwks
        if not self.dev_mode:
            raise RuntimeError("DECISION_JWKS is required outside dev mode: decision's JWKS file or URL")
        return str(self.data_dir / "keys" / "decision-jwks.json")
