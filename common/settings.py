"""Settings every service shares; each service subclasses with its own prefix fields."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class ServiceSettings(BaseSettings):
    """Read from the environment, and only here (style.md habit 5)."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    database_url: str = Field(validation_alias="DATABASE_URL")
    kafka_bootstrap_servers: str = Field(validation_alias="KAFKA_BOOTSTRAP_SERVERS")
    dev_mode: bool = Field(default=False, validation_alias="DEV_MODE")
    sandbox_url: str = Field(default="http://127.0.0.1:8010", validation_alias="SANDBOX_URL")
    data_dir: Path = Field(default=PROJECT_ROOT / ".data", validation_alias="DATA_DIR")
    crash_point: str | None = Field(default=None, validation_alias="CRASH_POINT")
    log_level: str = Field(default="INFO", validation_alias="LOG_LEVEL")

    # Messaging tuning: small numbers suit one machine; production raises them.
    relay_interval_s: float = Field(default=0.05, validation_alias="RELAY_INTERVAL_S")
    worker_interval_s: float = Field(default=0.1, validation_alias="WORKER_INTERVAL_S")
    consumer_max_attempts: int = Field(default=3, validation_alias="CONSUMER_MAX_ATTEMPTS")
    db_pool_size: int = Field(default=5, validation_alias="DB_POOL_SIZE")
    # A crashed consumer keeps its partitions until the session times out; a clean stop leaves at once.
    kafka_session_timeout_ms: int = Field(default=10000, validation_alias="KAFKA_SESSION_TIMEOUT_MS")
    kafka_heartbeat_interval_ms: int = Field(default=3000, validation_alias="KAFKA_HEARTBEAT_INTERVAL_MS")
    # Outside calls: how long an open circuit waits before one trial call.
    http_breaker_reset_s: float = Field(default=10.0, validation_alias="HTTP_BREAKER_RESET_S")
