"""The event envelope (CloudEvents 1.0 attributes, JSON), documented in docs/events.md."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone
from typing import Any

from pydantic import BaseModel, Field

TYPE_PREFIX = "kz.emaket."


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Envelope(BaseModel):
    specversion: str = "1.0"
    id: uuid.UUID = Field(default_factory=uuid.uuid4)
    type: str
    source: str
    subject: str
    time: datetime = Field(default_factory=utcnow)
    datacontenttype: str = "application/json"
    data: dict[str, Any]

    @property
    def name(self) -> str:
        """'kz.emaket.application.registered.v1' -> 'application.registered'."""
        bare = self.type.removeprefix(TYPE_PREFIX)
        head, _, version = bare.rpartition(".")
        return head if version.startswith("v") and version[1:].isdigit() else bare

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> "Envelope":
        return cls.model_validate_json(raw)


def make_event(name: str, *, source: str, subject: str, data: dict[str, Any], version: int = 1) -> Envelope:
    """A new event; `data` must be JSON-serialisable (dates as ISO strings)."""
    json.dumps(data)  # fail at the producer, not at the consumer
    return Envelope(type=f"{TYPE_PREFIX}{name}.v{version}", source=source, subject=subject, data=data)
