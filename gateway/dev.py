"""Dev mode only: mint tokens for any role. Not mounted at all outside dev mode."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field, ValidationInfo, field_validator

from common.identifiers import iin_error
from gateway.auth import DevTokenIssuer

Role = Literal["citizen", "mobile", "operator", "specialist", "ops"]


class DevTokenRequest(BaseModel):
    role: Role
    sub: str | None = Field(
        default=None,
        validate_default=True,
        pattern=r"^[A-Za-z0-9._:@+/=-]{1,128}$",
        description="The caller's id; for `citizen` their 12-digit IIN. Defaults to `dev-<role>` for other roles.",
        examples=["900101300011"],
    )

    @field_validator("sub")
    @classmethod
    def _sub_fits_role(cls, sub: str | None, info: ValidationInfo) -> str:
        role = info.data.get("role")
        if role == "citizen":
            if sub is None:
                raise ValueError("required for role citizen: the citizen's IIN")
            error = iin_error(sub)
            if error:
                raise ValueError(f"not a valid IIN: {error}")
            return sub
        return sub or f"dev-{role}"


class DevToken(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="Seconds until the token expires.")


def dev_router(issuer: DevTokenIssuer, throttle: Callable[[Request], None]) -> APIRouter:
    router = APIRouter(tags=["dev"])

    @router.post(
        "/api/v1/dev/token",
        summary="Issue a test token (dev mode only)",
        openapi_extra={"security": []},  # the one /api/v1 route callable without a token
    )
    async def issue_token(body: DevTokenRequest, request: Request) -> DevToken:
        throttle(request)
        assert body.sub is not None  # filled in by the validator
        return DevToken(access_token=issuer.issue(body.role, body.sub), expires_in=issuer.lifetime_s)

    return router
