"""Named fault points for crash tests (docs/design.md "Fault points").

A process started with CRASH_POINT=<name> exits abruptly the first time it
reaches that point, as a power cut would: no cleanup, no flush.
"""

from __future__ import annotations

import os

_armed: str | None = None


def arm(point: str | None) -> None:
    global _armed
    _armed = point or None


def point(name: str) -> None:
    if _armed == name:
        os._exit(86)
