"""Gateway settings: the only place the gateway reads the environment (docs/design.md)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from common.settings import PROJECT_ROOT, StrictFlag, check_dev_bind

SERVICES = ("intake", "eligibility", "decision", "payment_queue", "notifier")


class GatewaySettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    dev_mode: StrictFlag = Field(default=False, validation_alias="DEV_MODE")
    bind_host: str = Field(default="127.0.0.1", validation_alias="BIND_HOST")
    data_dir: Path = Field(default=PROJECT_ROOT / ".data", validation_alias="DATA_DIR")
    log_level: str = Field(default="INFO", validation_alias="LOG_LEVEL")

    intake_url: str = Field(default="http://127.0.0.1:8001", validation_alias="GATEWAY_INTAKE_URL")
    eligibility_url: str = Field(default="http://127.0.0.1:8002", validation_alias="GATEWAY_ELIGIBILITY_URL")
    decision_url: str = Field(default="http://127.0.0.1:8003", validation_alias="GATEWAY_DECISION_URL")
    payment_queue_url: str = Field(default="http://127.0.0.1:8004", validation_alias="GATEWAY_PAYMENT_QUEUE_URL")
    notifier_url: str = Field(default="http://127.0.0.1:8005", validation_alias="GATEWAY_NOTIFIER_URL")

    # The identity provider's keys, by kid: a JWKS file path or an http(s) URL (rotation without a restart).
    jwks: str | None = Field(default=None, validation_alias="GATEWAY_JWKS")
    # Older deployments: one PEM public key (Ed25519 or RSA >= 2048); its kid is its thumbprint.
    jwt_public_key_file: Path | None = Field(default=None, validation_alias="GATEWAY_JWT_PUBLIC_KEY_FILE")
    # Accepted `typ` headers of access tokens (RFC 9068 "at+jwt"); comma-separated, case-insensitive.
    jwt_types: str = Field(default="at+jwt", validation_alias="GATEWAY_JWT_TYPES")
    # No access token may live longer than this (exp - iat), whatever its issuer says.
    max_token_lifetime_s: int = Field(default=3600, gt=0, le=86400, validation_alias="GATEWAY_MAX_TOKEN_LIFETIME_S")
    # The gateway's own Ed25519 key for the internal credential it mints per request (common/internal_auth.py).
    internal_signing_key_file: Path | None = Field(default=None, validation_alias="GATEWAY_INTERNAL_SIGNING_KEY_FILE")
    internal_token_lifetime_s: int = Field(default=30, gt=0, le=60, validation_alias="GATEWAY_INTERNAL_TOKEN_LIFETIME_S")
    jwt_issuer: str = Field(default="emaket", validation_alias="GATEWAY_JWT_ISSUER")
    jwt_audience: str = Field(default="emaket-api", validation_alias="GATEWAY_JWT_AUDIENCE")
    # Lifetime of dev-mode tokens; production tokens carry their own exp.
    token_lifetime_s: int = Field(default=3600, gt=0, validation_alias="GATEWAY_TOKEN_LIFETIME_S")
    # Tolerated clock difference between the token issuer and this process.
    jwt_leeway_s: int = Field(default=30, ge=0, validation_alias="GATEWAY_JWT_LEEWAY_S")

    # Per subject (or per client IP without a token), per replica.
    rate_limit_per_minute: int = Field(default=600, gt=0, validation_alias="GATEWAY_RATE_LIMIT_PER_MINUTE")
    # Per client address, whoever the token says: a State Corporation office's NAT carries many operators.
    address_rate_limit_per_minute: int = Field(default=6000, gt=0, validation_alias="GATEWAY_ADDRESS_RATE_LIMIT_PER_MINUTE")
    # The mobile proactive backend is one system account speaking for every citizen on a phone.
    system_rate_limit_per_minute: int = Field(default=60_000, gt=0, validation_alias="GATEWAY_SYSTEM_RATE_LIMIT_PER_MINUTE")
    max_body_bytes: int = Field(default=64 * 1024, gt=0, validation_alias="GATEWAY_MAX_BODY_BYTES")
    upstream_timeout_s: float = Field(default=10.0, gt=0, validation_alias="GATEWAY_UPSTREAM_TIMEOUT_S")
    openapi_fetch_timeout_s: float = Field(default=2.0, gt=0, validation_alias="GATEWAY_OPENAPI_FETCH_TIMEOUT_S")
    openapi_cache_s: float = Field(default=30.0, ge=0, validation_alias="GATEWAY_OPENAPI_CACHE_S")
    # GET /readyz asks every service's /readyz with this timeout (a service slower than that is not ready).
    ready_timeout_s: float = Field(default=3.0, gt=0, validation_alias="GATEWAY_READY_TIMEOUT_S")
    # The Kafka bootstrap address /asyncapi.json names as its server (documentation only).
    asyncapi_server_host: str = Field(default="kafka:9092", validation_alias="GATEWAY_ASYNCAPI_SERVER_HOST")

    @model_validator(mode="after")
    def _fail_closed(self) -> GatewaySettings:
        check_dev_bind(self.dev_mode, self.bind_host)
        if self.jwks and self.jwt_public_key_file:
            raise ValueError("set GATEWAY_JWKS or GATEWAY_JWT_PUBLIC_KEY_FILE, not both")
        production_keys = [name for name, value in (
            ("GATEWAY_JWKS", self.jwks),
            ("GATEWAY_JWT_PUBLIC_KEY_FILE", self.jwt_public_key_file),
            ("GATEWAY_INTERNAL_SIGNING_KEY_FILE", self.internal_signing_key_file),
        ) if value]
        if self.dev_mode and production_keys:
            # Dev mode mints its own tokens and keys; it never silently sits beside production keys.
            raise ValueError(f"DEV_MODE=true together with production keys ({', '.join(production_keys)}): choose one")
        if not self.dev_mode:
            missing = [name for name, value in (
                ("GATEWAY_JWKS (or GATEWAY_JWT_PUBLIC_KEY_FILE)", self.jwks or self.jwt_public_key_file),
                ("GATEWAY_INTERNAL_SIGNING_KEY_FILE", self.internal_signing_key_file),
            ) if not value]
            if missing:
                raise ValueError(
                    f"outside dev mode these must be set: {'; '.join(missing)} "
                    "(or set DEV_MODE=true to have the gateway generate dev keys)"
                )
        return self

    @property
    def accepted_token_types(self) -> frozenset[str]:
        return frozenset(t.strip().lower() for t in self.jwt_types.split(",") if t.strip())

    @property
    def upstreams(self) -> dict[str, str]:
        """Service name -> base URL, in a fixed order (it is also the merged OpenAPI order)."""
        return {name: getattr(self, f"{name}_url").rstrip("/") for name in SERVICES}
