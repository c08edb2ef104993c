"""The event envelope (CloudEvents 1.0 attributes, JSON), documented in docs/events.md."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, Field, SerializerFunctionWrapHandler, model_serializer

TYPE_PREFIX = "kz.emaket."
# CloudEvents distributed-tracing extension (W3C Trace Context): where the event was made.
TRACE_ATTRIBUTES = ("traceparent", "tracestate")
_TRACEPARENT_MAX, _TRACESTATE_MAX = 55, 512


def _trace_text(limit: int):
    """An extension attribute is never a reason to refuse an event: a malformed one is dropped."""

    def keep(value: Any) -> str | None:
        return value if isinstance(value, str) and 0 < len(value) <= limit and value.isascii() else None

    return BeforeValidator(keep)


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
    # Optional CloudEvents extension attributes (docs/events.md); readers that do not know them ignore them.
    traceparent: Annotated[str | None, _trace_text(_TRACEPARENT_MAX)] = None
    tracestate: Annotated[str | None, _trace_text(_TRACESTATE_MAX)] = None

    @model_serializer(mode="wrap")
    def _without_absent_trace(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """An envelope made outside any trace looks exactly as before: no null extension attributes."""
        dumped = handler(self)
        for name in TRACE_ATTRIBUTES:
            if dumped.get(name, "") is None:
                del dumped[name]
        return dumped

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
