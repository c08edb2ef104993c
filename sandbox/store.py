"""In-memory state of the sandbox: registry fixtures, what was sent out, call log.

One ``SandboxStore`` lives on ``app.state.store``; it is created by
``create_app`` so every app (and every test) starts empty.
"""

from __future__ import annotations

import asyncio
import re
from collections import deque
from collections.abc import Callable, Hashable
from datetime import datetime, timezone
from typing import Any

from sandbox.models import FIXTURE_LISTS, FixtureSet, SandboxModel

CALL_LOG_LIMIT = 10_000
_TWELVE_DIGITS = re.compile(r"(?<!\d)\d{12}(?!\d)")


def utc_now() -> str:
    """RFC 3339 instant in UTC with millisecond precision."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def mask_ids(text: str) -> str:
    """Hide every 12-digit IIN/BIN in ``text`` except its last four digits."""
    return _TWELVE_DIGITS.sub(lambda m: "********" + m.group(0)[-4:], text)


# Natural key of each fixture record: re-posting a record with the same key
# replaces it in place (position kept) instead of adding a duplicate.
_KEYS: dict[str, Callable[[Any], Hashable]] = {
    "persons": lambda r: r.iin,
    "deaths": lambda r: r.iin,
    "court_declarations": lambda r: (r.iin, r.kind),
    "births": lambda r: r.child_iin,
    "marriages": lambda r: (min(r.iin_a, r.iin_b), max(r.iin_a, r.iin_b), r.date),
    "adoptions": lambda r: (r.child_iin, r.parent_iin),
    "disabilities": lambda r: (r.iin, r.established_on),
    "recipients": lambda r: (r.iin, r.kind, r.from_),
    "studies": lambda r: (r.iin, r.from_),
    "bank_accounts": lambda r: (r.iin, r.iban),
    "legal_entities": lambda r: r.bin,
    "guardianships": lambda r: (r.child_iin, r.guardian_iin, r.from_),
}
assert set(_KEYS) == set(FIXTURE_LISTS)


class SandboxStore:
    """Everything the sandbox remembers; writers hold ``lock``."""

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.fixtures: dict[str, dict[Hashable, SandboxModel]] = {name: {} for name in FIXTURE_LISTS}
        self.payments: dict[str, dict[str, Any]] = {}
        self.sms: dict[str, dict[str, Any]] = {}
        self.cabinet: dict[str, dict[str, Any]] = {}
        self.calls: deque[dict[str, Any]] = deque(maxlen=CALL_LOG_LIMIT)

    # --- fixtures -----------------------------------------------------------

    def merge(self, fixture_set: FixtureSet) -> dict[str, int]:
        """Upsert every record by its natural key; return how many were posted per list."""
        posted: dict[str, int] = {}
        for name in FIXTURE_LISTS:
            records: list[SandboxModel] = getattr(fixture_set, name)
            table = self.fixtures[name]
            for record in records:
                table[_KEYS[name](record)] = record
            posted[name] = len(records)
        return posted

    def fixture_counts(self) -> dict[str, int]:
        return {name: len(table) for name, table in self.fixtures.items()}

    def sent_counts(self) -> dict[str, int]:
        return {"payments": len(self.payments), "sms": len(self.sms), "cabinet": len(self.cabinet)}

    def clear(self) -> None:
        """Forget fixtures, everything sent out and the call log (faults stay)."""
        for table in self.fixtures.values():
            table.clear()
        self.payments.clear()
        self.sms.clear()
        self.cabinet.clear()
        self.calls.clear()

    def records(self, name: str) -> list[SandboxModel]:
        return list(self.fixtures[name].values())

    def find(self, name: str, fields: tuple[str, ...], iin: str) -> list[dict[str, Any]]:
        """Records of list ``name`` where any of ``fields`` equals ``iin``, in load order."""
        return [
            record.public()
            for record in self.fixtures[name].values()
            if any(getattr(record, field) == iin for field in fields)
        ]

    def dump(self) -> dict[str, list[dict[str, Any]]]:
        return {name: [r.public() for r in table.values()] for name, table in self.fixtures.items()}

    # --- call log -----------------------------------------------------------

    def log_call(self, entry: dict[str, Any]) -> None:
        self.calls.append(entry)
