"""Structured logs with the request id, and personal data masked (architecture.md guarantee 8).

What is masked, in every line and traceback a handler of this module writes:
* IINs/BINs, KZ IBANs and phone numbers, wherever they appear (the last 4 characters kept);
* names: a regex cannot know every name, so two rules cover where names travel —
  the value of a personal key (``first_name``, ``last_name``, ``patronymic``, ``full_name``,
  ``payee_name``… and ``name`` when its value is capitalised) in JSON, in dict and model reprs
  and in ``key=value`` text; and in free text any run of 2-3 capitalised Cyrillic words
  (Фамилия Имя Отчество). A lone first name in free prose, or a name in capitals, is not caught;
* the offending value asyncpg quotes in "invalid input for query argument $N: <value>", and
  pydantic's ``input_value=...``: both echo whatever the caller sent.
UUIDs, ISO dates, amounts and paragraph citations are left as they are.

uvicorn's own loggers (``uvicorn``, ``uvicorn.error``, ``uvicorn.access``) write through the same
formatter: :func:`configure_logging` takes them over, and :func:`uvicorn_log_config` is the
``--log-config`` tools/stack.py gives uvicorn, so even lines before the app starts are covered.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
from datetime import datetime, timezone
from typing import Any

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

NAME_MASK = "***"
# Keys whose value is a person's name, whatever it looks like (snake_case, camelCase, with a prefix).
_PERSON_KEY = (
    r"(?i:[a-z_]*?(?:first|last|middle|given|family|full|sur|maiden|payee|holder|recipient|applicant|deceased)"
    r"_?name|[a-z_]*patronymic|fio|input_value)"
)
# ``name`` alone is also an event's, a rule's or a registry's name: masked only when capitalised like a person's.
_PLAIN_NAME_KEY = r"(?:name)"
_CAPITALISED = r"(?=[A-ZА-ЯЁӘҒҚҢӨҰҮҺІ][a-zа-яёәғқңөұүһі])"


def _keyed(key: str, guard: str = "") -> re.Pattern[str]:
    """``"key": "v"`` (JSON), ``'key': 'v'`` (dict repr), ``key='v'`` (model repr), ``key=v`` (query, kv)."""
    k = rf"(?<![\w.]){key}"
    return re.compile(
        rf"(?P<head>[\"']?{k}[\"']?\s*[:=]\s*)"
        r"(?:"
        rf"(?P<q>[\"']){guard}(?P<quoted>(?:\\.|(?!(?P=q)).)*)(?P=q)"  # a quoted value (escapes kept inside)
        rf"|{guard}(?P<bare>[^\s&,;)\]}}\"']+)"  # a bare value up to the next separator
        r")"
    )


_PERSON_VALUE = _keyed(_PERSON_KEY)
_PLAIN_NAME_VALUE = _keyed(_PLAIN_NAME_KEY, _CAPITALISED)

_CYR_UP = "А-ЯЁӘҒҚҢӨҰҮҺІ"
_CYR_LOW = "а-яёәғқңөұүһі"
_CYR_WORD = rf"[{_CYR_UP}][{_CYR_LOW}]+(?:-[{_CYR_UP}][{_CYR_LOW}]+)?"
# Фамилия Имя [Отчество]: 2 or 3 capitalised Cyrillic words in a row, each becoming its initial and stars.
_CYR_NAME = re.compile(rf"(?<!\w){_CYR_WORD}(?:[ \u00a0]+{_CYR_WORD}){{1,2}}(?!\w)")
_CYR_WORD_RE = re.compile(_CYR_WORD)

# asyncpg quotes the refused parameter; with hide_parameters SQLAlchemy no longer does, asyncpg still would.
_ASYNCPG_ARGUMENT = re.compile(r"(invalid input for query argument \$\d+: ).*?( \((?:[^()]|\([^()]*\))*\)$|$)", re.M)


def _mask_keyed(m: re.Match[str]) -> str:
    if m["quoted"] is not None:
        return f"{m['head']}{m['q']}{NAME_MASK}{m['q']}" if m["quoted"] else m[0]
    if m["bare"] in ("None", "null"):
        return m[0]
    return f"{m['head']}{NAME_MASK}"


def _mask_cyrillic_name(m: re.Match[str]) -> str:
    return _CYR_WORD_RE.sub(lambda w: w[0][0] + NAME_MASK, m[0])


def mask_names(text: str) -> str:
    text = _PERSON_VALUE.sub(_mask_keyed, text)
    text = _PLAIN_NAME_VALUE.sub(_mask_keyed, text)
    return _CYR_NAME.sub(_mask_cyrillic_name, text)


def mask_personal_data(text: str) -> str:
    text = _ASYNCPG_ARGUMENT.sub(rf"\1{NAME_MASK}\2", text)
    text = mask_names(text)
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
        if record.stack_info:
            entry["stack"] = mask_personal_data(self.formatStack(record.stack_info))
        return json.dumps(entry, ensure_ascii=False)


# uvicorn configures these with handlers of its own that print unmasked text (tracebacks, request lines).
UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi")


def configure_logging(service: str, level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # The server's own lines (e.g. "Exception in ASGI application" with its traceback) go through the
    # masking handler too; uvicorn's level (--log-level) and its --no-access-log still apply.
    for name in UVICORN_LOGGERS:
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers.clear()
        uvicorn_logger.propagate = True
    logging.getLogger("aiokafka").setLevel(logging.WARNING)
    # httpx logs full URLs, which carry IINs in registry paths: keep it quiet.
    logging.getLogger("httpx").setLevel(logging.WARNING)


def uvicorn_log_config(service: str, level: str = "INFO") -> dict[str, Any]:
    """A ``dictConfig`` for uvicorn's ``--log-config`` (as JSON): every line, from the first, masked."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "common.logging.JsonFormatter", "service": service}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}},
        "root": {"handlers": ["stderr"], "level": level},
        "loggers": {name: {"handlers": [], "propagate": True} for name in UVICORN_LOGGERS},
    }
