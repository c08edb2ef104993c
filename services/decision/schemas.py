from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field, field_validator


class DecisionOut(BaseModel):
    id: uuid.UUID
    application_id: uuid.UUID
    benefit: str
    channel: str
    status: str
    outcome: str | None = Field(description="The signed outcome; for a draft, the proposal (see proposed_outcome).")
    proposed_outcome: str
    amount_kzt: int
    period_start: date | None
    reasons: list[dict]
    signed_at: datetime | None
    signed_by: str | None


class DecisionDetail(DecisionOut):
    case_file: dict
    case_file_sha256: str


class DecisionList(BaseModel):
    items: list[DecisionOut]


class SignIn(BaseModel):
    outcome: Literal["assign", "refuse"]
    reasons: list[str | dict] = Field(default_factory=list, description="Reason codes, or objects with a 'code'.")

    @field_validator("reasons")
    @classmethod
    def _codes(cls, value: list) -> list[str]:
        codes = []
        for item in value:
            code = item.get("code") if isinstance(item, dict) else item
            if not isinstance(code, str):
                raise ValueError("each reason is a code or an object with a 'code'")
            codes.append(code)
        return codes


class Verification(BaseModel):
    decision_id: uuid.UUID
    valid: bool
    algorithm: str
    key_id: str | None
    public_key_pem: str
    signed_document: dict | None
    signature: str | None
