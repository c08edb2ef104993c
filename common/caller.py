"""Who is calling: the identity the gateway verified and vouches for (docs/security.md).

A service believes only the gateway's internal credential (common/internal_auth.py): a
short-lived JWT in ``Authorization: Bearer``, minted for this service, signed with a key from
the gateway's JWKS. Anything else — no credential, a forged ``X-Caller-Role`` header, a
credential for another service, an expired one — is 401, in dev mode and in tests too.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Request

from common.internal_auth import SAFE_SUB, dev_paths, internal_rules
from common.jwks import AuthError, KeyRing, verify_token
from common.problems import Problem

ROLES = ("citizen", "mobile", "operator", "specialist", "ops")
# Roles whose every action is a person's (or the mobile backend's) and must name them (issue 6, audit).
STAFF_ROLES = frozenset({"operator", "specialist", "ops"})


@dataclass(frozen=True)
class Caller:
    role: str
    sub: str | None

    def require(self, *roles: str) -> None:
        if self.role not in roles:
            raise Problem(403, "forbidden", f"Role '{self.role}' may not do this; allowed: {', '.join(roles)}.")


def internal_key_source(settings: object) -> str:
    """INTERNAL_JWKS, or in dev mode the key set the gateway writes under DATA_DIR."""
    source = getattr(settings, "internal_jwks", None)
    if source:
        return str(source)
    data_dir: Path = settings.data_dir
    return str(dev_paths(data_dir)[1])


def _keys(request: Request) -> tuple[KeyRing, str]:
    runtime = request.app.state.runtime
    ring = runtime.extras.get("internal_keys")
    if ring is None:
        ring = runtime.extras["internal_keys"] = KeyRing(internal_key_source(runtime.settings))
    return ring, runtime.name


def _unauthenticated(detail: str) -> Problem:
    return Problem(401, "not-authenticated", detail, headers={"WWW-Authenticate": "Bearer"})


async def get_caller(request: Request) -> Caller:
    authorization = request.headers.get("authorization") or ""
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthenticated("Call this API through the gateway with a bearer token.")
    ring, service = _keys(request)
    try:
        claims = await verify_token(token.strip(), ring, internal_rules(service))
    except AuthError as exc:
        raise _unauthenticated(f"The gateway's credential was refused: {exc}") from None
    role, sub = claims.get("role"), claims.get("sub")
    if role not in ROLES or not isinstance(sub, str) or not SAFE_SUB.fullmatch(sub):
        raise _unauthenticated("The gateway's credential names no acceptable role and subject.")
    return Caller(role=role, sub=sub)


CallerDep = Annotated[Caller, Depends(get_caller)]


_audit = logging.getLogger("audit")


def audit(caller: Caller, action: str, subject: str) -> None:
    """Who read or changed which case (architecture.md guarantee 8); the formatter masks IINs."""
    _audit.info("%s by %s:%s on %s", action, caller.role, caller.sub or "-", subject)
