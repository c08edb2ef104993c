"""Headers a service accepts from the gateway, for tests that call a service directly.

Every test that talks to a service without the gateway builds its caller headers here, so the
way the gateway vouches for a caller is defined in one place (issue 6: an internal credential).
"""

from __future__ import annotations


def caller_headers(role: str, sub: str | None = None, *, service: str = "intake") -> dict[str, str]:
    """What the gateway forwards for ``role``/``sub`` to ``service``; staff and systems get a default subject."""
    return {"X-Caller-Role": role, "X-Caller-Sub": sub or f"test-{role}"}
