"""Gateway settings: the only place the gateway reads the environment (docs/design.md)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SERVICES = ("intake", "eligibility", "decision", "payment_queue", "notifier")


class GatewaySettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    dev_mode: bool = Field(default=False, validation_alias="DEV_MODE")
    log_level: str = Field(default="INFO", validation_alias="LOG_LEVEL")

    intake_url: str = Field(default="http://127.0.0.1:8001", validation_alias="GATEWAY_INTAKE_URL")
    eligibility_url: str = Field(default="http://127.0.0.1:8002", validation_alias="GATEWAY_ELIGIBILITY_URL")
    decision_url: str = Field(default="http://127.0.0.1:8003", validation_alias="GATEWAY_DECISION_URL")
    payment_queue_url: str = Field(default="http://127.0.0.1:8004", validation_alias="GATEWAY_PAYMENT_QUEUE_URL")
    notifier_url: str = Field(default="http://127.0.0.1:8005", validation_alias="GATEWAY_NOTIFIER_URL")

    # PEM public key (Ed25519 or RSA) of whoever issues access tokens in production.
    jwt_public_key_file: Path | None = Field(default=None, validation_alias="GATEWAY_JWT_PUBLIC_KEY_FILE")
    jwt_issuer: str = Field(default="emaket", validation_alias="GATEWAY_JWT_ISSUER")
    jwt_audience: str = Field(default="emaket-api", validation_alias="GATEWAY_JWT_AUDIENCE")
    # Lifetime of dev-mode tokens; production tokens carry their own exp.
    token_lifetime_s: int = Field(default=3600, gt=0, validation_alias="GATEWAY_TOKEN_LIFETIME_S")
    # Tolerated clock difference between the token issuer and this process.
    jwt_leeway_s: int = Field(default=30, ge=0, validation_alias="GATEWAY_JWT_LEEWAY_S")

    # Per subject (or per client IP without a token), per replica.
    rate_limit_per_minute: int = Field(default=600, gt=0, validation_alias="GATEWAY_RATE_LIMIT_PER_MINUTE")
    # The mobile proactive backend is one system account speaking for every citizen on a phone.
    system_rate_limit_per_minute: int = Field(default=60_000, gt=0, validation_alias="GATEWAY_SYSTEM_RATE_LIMIT_PER_MINUTE")
    max_body_bytes: int = Field(default=64 * 1024, gt=0, validation_alias="GATEWAY_MAX_BODY_BYTES")
    upstream_timeout_s: float = Field(default=10.0, gt=0, validation_alias="GATEWAY_UPSTREAM_TIMEOUT_S")
    openapi_fetch_timeout_s: float = Field(default=2.0, gt=0, validation_alias="GATEWAY_OPENAPI_FETCH_TIMEOUT_S")
    openapi_cache_s: float = Field(default=30.0, ge=0, validation_alias="GATEWAY_OPENAPI_CACHE_S")

    @model_validator(mode="after")
    def _key_outside_dev_mode(self) -> GatewaySettings:
        if not self.dev_mode and self.jwt_public_key_file is None:
            raise ValueError(
                "GATEWAY_JWT_PUBLIC_KEY_FILE must name the PEM public key that verifies access tokens "
                "(or set DEV_MODE=true to have the gateway generate a dev key pair)"
            )
        return self

    @property
    def upstreams(self) -> dict[str, str]:
        """Service name -> base URL, in a fixed order (it is also the merged OpenAPI order)."""
        return {name: getattr(self, f"{name}_url").rstrip("/") for name in SERVICES}
