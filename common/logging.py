"""Structured logs with the request id, and personal data masked (architecture.md guarantee 8)."""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
from datetime import datetime, timezone

from common.identifiers import mask_phone

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)

# 12-digit IIN/BIN, KZ IBANs and phone numbers: keep the last 4 characters only.
# Not after or before a hyphen: the last group of a UUID (request ids) is 12 hex digits, sometimes all digits.
_IIN = re.compile(r"(?<![\d-])\d{8}(\d{4})(?![\d-])")
_IBAN = re.compile(r"\bKZ[0-9A-Z]{14}([0-9A-Z]{4})\b")
# Phones: 11 digits (+7 and 10, or 8 and 10) not part of a longer number, masked exactly as
# common.identifiers.mask_phone does. UUIDs are matched first and kept, so a run of digits
# inside a request id is never taken for a phone.
_PHONE = re.compile(
    r"(?P<uuid>\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b)"
    r"|(?P<phone>(?<!\d)\+?\d{11}(?!\d))"
)


def mask_personal_data(text: str) -> str:
    text = _IBAN.sub(r"KZ**************\1", text)
    text = _IIN.sub(r"********\1", text)
    return _PHONE.sub(lambda m: m["uuid"] or mask_phone(m["phone"]), text)


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "at": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "service": self.service,
            "logger": record.name,
            "msg": mask_personal_data(record.getMessage()),
        }
        request_id = request_id_var.get()
        if request_id:
            entry["request_id"] = request_id
        if record.exc_info:
            entry["exc"] = mask_personal_data(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(service: str, level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("aiokafka").setLevel(logging.WARNING)
    # httpx logs full URLs, which carry IINs in registry paths: keep it quiet.
    logging.getLogger("httpx").setLevel(logging.WARNING)
