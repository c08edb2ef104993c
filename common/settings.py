"""Settings every service shares; each service subclasses with its own prefix fields.

Fail closed (docs/security.md "Configuration"): ``DEV_MODE`` is exactly ``true`` or ``false``;
dev mode only on a loopback bind; outside dev mode the gateway's key set and every outside
system's URL must be named explicitly (nothing falls back to the sandbox), and ``CRASH_POINT``
is refused.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated, Any, ClassVar

from pydantic import BeforeValidator, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def strict_flag(value: Any) -> bool:
    """``true`` or ``false``, nothing else: ``DEV_MODE=1``, ``yes`` or ``True `` stop the process."""
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return value == "true"
    raise ValueError("must be exactly 'true' or 'false'")


StrictFlag = Annotated[bool, BeforeValidator(strict_flag)]


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_dev_bind(dev_mode: bool, bind_host: str) -> None:
    if dev_mode and not is_loopback(bind_host):
        raise ValueError(
            f"DEV_MODE=true on BIND_HOST={bind_host}: dev mode (dev tokens, generated keys, the sandbox) "
            "serves loopback only; bind 127.0.0.1 or run with DEV_MODE=false and real keys"
        )


class ServiceSettings(BaseSettings):
    """Read from the environment, and only here (style.md habit 5)."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    # Fields naming outside systems; outside dev mode each must be set (no sandbox fallback).
    EXTERNAL_URLS: ClassVar[tuple[str, ...]] = ()

    database_url: str = Field(validation_alias="DATABASE_URL")
    kafka_bootstrap_servers: str = Field(validation_alias="KAFKA_BOOTSTRAP_SERVERS")
    # The idempotent producer needs InitProducerId; Tansu (the multi-member test broker) lacks it. Every
    # consumer's inbox deduplicates by event id, so a redelivered event is still handled once.
    kafka_idempotence: StrictFlag = Field(default=True, validation_alias="KAFKA_IDEMPOTENCE")
    dev_mode: StrictFlag = Field(default=False, validation_alias="DEV_MODE")
    bind_host: str = Field(default="127.0.0.1", validation_alias="BIND_HOST")
    sandbox_url: str = Field(default="http://127.0.0.1:8010", validation_alias="SANDBOX_URL")
    # The gateway's public keys (JWKS file path or URL): the only callers a service believes.
    internal_jwks: str | None = Field(default=None, validation_alias="INTERNAL_JWKS")
    data_dir: Path = Field(default=PROJECT_ROOT / ".data", validation_alias="DATA_DIR")
    crash_point: str | None = Field(default=None, validation_alias="CRASH_POINT")
    log_level: str = Field(default="INFO", validation_alias="LOG_LEVEL")

    # Messaging tuning. A commit wakes the relay and the workers at once (common/wake.py); these two are
    # only the safety poll, for a wake-up that was lost (the listener reconnecting, say).
    relay_interval_s: float = Field(default=10.0, validation_alias="RELAY_INTERVAL_S")
    worker_interval_s: float = Field(default=10.0, validation_alias="WORKER_INTERVAL_S")
    consumer_max_attempts: int = Field(default=3, validation_alias="CONSUMER_MAX_ATTEMPTS")
    db_pool_size: int = Field(default=5, validation_alias="DB_POOL_SIZE")
    # A crashed consumer keeps its partitions until the session times out; a clean stop leaves at once.
    kafka_session_timeout_ms: int = Field(default=10000, validation_alias="KAFKA_SESSION_TIMEOUT_MS")
    kafka_heartbeat_interval_ms: int = Field(default=3000, validation_alias="KAFKA_HEARTBEAT_INTERVAL_MS")
    # A clean stop: how long background tasks are cancelled and the producer flushed before the process
    # gives up on them (keep it below the orchestrator's grace period, 30 s on Kubernetes).
    shutdown_timeout_s: float = Field(default=15.0, gt=0, validation_alias="SHUTDOWN_TIMEOUT_S")
    # Outside calls: how long an open circuit waits before one trial call.
    http_breaker_reset_s: float = Field(default=10.0, validation_alias="HTTP_BREAKER_RESET_S")

    @model_validator(mode="after")
    def _fail_closed(self) -> ServiceSettings:
        check_dev_bind(self.dev_mode, self.bind_host)
        if self.dev_mode:
            return self
        missing = [] if self.internal_jwks else ["INTERNAL_JWKS"]
        for name in self.EXTERNAL_URLS:
            if not getattr(self, name):
                field = type(self).model_fields[name]
                missing.append(str(field.validation_alias or name))
        if missing:
            raise ValueError(
                f"outside dev mode these must be set explicitly: {', '.join(missing)} "
                "(dev mode, DEV_MODE=true, uses generated keys and the sandbox instead)"
            )
        if self.crash_point:
            raise ValueError("CRASH_POINT works only in dev mode (it makes the process exit on purpose)")
        return self
