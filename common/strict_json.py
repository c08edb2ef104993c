"""Reading a JSON body that may be hostile: every value either fits the database and the rules, or is named.

Python's json accepts what PostgreSQL and the rules cannot take: NaN and Infinity, numbers that overflow to
infinity (1e400), strings with NUL characters or lone surrogates (JSONB and UTF-8 refuse both), and nesting
deep enough to exhaust the stack. Each is reported with the path of the field that holds it, so the caller
gets a 422 naming the field instead of a 500 from deep inside the service.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

MAX_DEPTH = 32
_BAD_CHARS = re.compile("[\x00\ud800-\udfff]")


class HostileJson(ValueError):
    """The body cannot be taken; ``field`` is the dotted path of the offending value ('body' for the whole)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def _reject_constant(name: str) -> Any:
    raise HostileJson("body", f"{name} is not a JSON number")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise HostileJson("body", f"the number {text[:20]} is out of range")
    return value


def _path(parts: list[str | int]) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out or "body"


def _check(value: Any, parts: list[str | int]) -> None:
    """Raise HostileJson at the first value JSONB or the rules cannot take."""
    if len(parts) > MAX_DEPTH:
        raise HostileJson(_path(parts), f"nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, str):
        if _BAD_CHARS.search(value):
            raise HostileJson(_path(parts), "contains a NUL character or an unpaired surrogate")
    elif isinstance(value, dict):
        for key, item in value.items():
            if _BAD_CHARS.search(key):
                raise HostileJson(_path(parts), "a key contains a NUL character or an unpaired surrogate")
            _check(item, [*parts, key])
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check(item, [*parts, index])


def loads_strict(raw: bytes) -> Any:
    """Parse ``raw`` as UTF-8 JSON, refusing what cannot be stored or reasoned about (HostileJson)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise HostileJson("body", "not UTF-8") from None
    try:
        value = json.loads(text or "null", parse_constant=_reject_constant, parse_float=_finite)
    except HostileJson:
        raise
    except RecursionError:
        raise HostileJson("body", f"nested deeper than {MAX_DEPTH} levels") from None
    except ValueError:
        raise HostileJson("body", "not valid JSON") from None
    _check(value, [])
    return value


def check_storable(value: Any) -> None:
    """Raise HostileJson when an already-parsed value holds what JSONB cannot store (NUL, surrogates, deep nesting)."""
    _check(value, [])


# --- a request body, all of it at once, with the field's path ------------------------------------------

# I-JSON (RFC 7493): integers beyond +-(2**53 - 1) do not survive every JSON reader.
MAX_JSON_INTEGER = 2**53 - 1


class _Unfit:
    """A JSON number Python takes but the rules cannot: NaN, an infinity, an integer beyond I-JSON's range."""

    def __init__(self, message: str) -> None:
        self.message = message


def _parse_constant(name: str) -> _Unfit:
    return _Unfit(f"{name} is not a JSON number")


def _parse_float(text: str) -> float | _Unfit:
    value = float(text)
    return value if math.isfinite(value) else _Unfit(f"the number {text[:20]} is out of range")


def _parse_int(text: str) -> int | _Unfit:
    # Bounded by length first: int() of thousands of digits is slow (and refused past 4300).
    if len(text.lstrip("-")) > 16 or abs(value := int(text)) > MAX_JSON_INTEGER:
        return _Unfit(f"the integer {text[:20]}{'...' if len(text) > 20 else ''} is beyond +-{MAX_JSON_INTEGER}")
    return value


def _find_unfit(value: Any, parts: list[str | int]) -> HostileJson | None:
    if isinstance(value, _Unfit):
        return HostileJson(_path(parts), value.message)
    if len(parts) > MAX_DEPTH:
        return None  # check_storable names it
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        found = _find_unfit(item, [*parts, key])
        if found:
            return found
    return None


def hostile_json(raw: bytes) -> HostileJson | None:
    """Why ``raw`` is not a JSON body the processes can take (with the field's path), or None if it is."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return HostileJson("body", "not UTF-8")
    try:
        value = json.loads(text, parse_constant=_parse_constant, parse_float=_parse_float, parse_int=_parse_int)
    except RecursionError:
        return HostileJson("body", f"nested deeper than {MAX_DEPTH} levels")
    except ValueError:
        return HostileJson("body", "not valid JSON")
    try:
        check_storable(value)
    except HostileJson as bad:
        return bad
    return _find_unfit(value, [])
