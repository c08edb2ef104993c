"""Who is calling: identity the gateway verified and forwarded (docs/design.md)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header

from common.problems import Problem

ROLES = ("citizen", "mobile", "operator", "specialist", "ops")


@dataclass(frozen=True)
class Caller:
    role: str
    sub: str | None

    def require(self, *roles: str) -> None:
        if self.role not in roles:
            raise Problem(403, "forbidden", f"Role '{self.role}' may not do this; allowed: {', '.join(roles)}.")


def get_caller(
    x_caller_role: Annotated[str | None, Header(include_in_schema=False)] = None,
    x_caller_sub: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Caller:
    if x_caller_role not in ROLES:
        raise Problem(401, "not-authenticated", "Call this API through the gateway with a bearer token.")
    return Caller(role=x_caller_role, sub=x_caller_sub or None)


CallerDep = Annotated[Caller, Depends(get_caller)]


_audit = logging.getLogger("audit")


def audit(caller: Caller, action: str, subject: str) -> None:
    """Who read or changed which case (architecture.md guarantee 8); the formatter masks IINs."""
    _audit.info("%s by %s:%s on %s", action, caller.role, caller.sub or "-", subject)
