from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, StrictInt, field_validator

from common.events import Evidence, RuleResult


class DecisionOut(BaseModel):
    id: uuid.UUID
    application_id: uuid.UUID
    benefit: str
    channel: str
    status: str = Field(description="awaiting_signature, assigned or refused.")
    outcome: str | None = Field(description="The signed outcome; for a draft, the proposal (see proposed_outcome).")
    proposed_outcome: str
    amount_kzt: int = Field(description="One-time (burial) or monthly (disability, survivor); 0 while unknown.")
    amount_kind: str = Field(description="one_time or monthly.")
    amount_known: bool = Field(description="False: no verified parameter gives the amount; the specialist enters it.")
    period_start: date | None
    reasons: list[dict]
    signed_at: datetime | None
    signed_by: str | None
    due_by: date | None = Field(description="The application's due date (term of service, extended for documents).")
    also_apply_for: list[str] = Field(description="Benefits also applied for in the same application (D-Std p.4).")


class LawRef(BaseModel):
    """One obligation of the law map (common/law/obligations.json) an explanation line applied."""

    paragraph: str = Field(description="The paragraph of Order 509 as the code cites it, e.g. 'B§13 check 5'.")
    kk: str = Field(description="A short exact quote of the Kazakh text (docs/law/order-509-kk.txt), to find it.")
    statement: str = Field(description="What the paragraph obliges the system to do, in English.")
    status: str = Field(description="implemented or project_decision (the seed is silent and the project chose).")


class DecisionDetail(DecisionOut):
    case_file: dict
    case_file_sha256: str
    explanation: list[RuleResult] = Field(description="The rules applied, in order; each names its obligations.")
    evidence: list[Evidence]
    law: dict[str, LawRef] = Field(
        default_factory=dict,
        description="Each obligation id named in the explanation, with its paragraph, Kazakh quote and statement.",
    )


class DecisionList(BaseModel):
    items: list[DecisionOut]


class SignReason(BaseModel):
    code: str
    subject: str | None = Field(
        default=None, pattern=r"^[0-9]{12}$", description="The IIN of the one person the reason concerns."
    )


class SignIn(BaseModel):
    outcome: Literal["assign", "refuse"]
    reasons: list[SignReason] = Field(
        default_factory=list, description="Reason codes, or objects with a 'code' and optionally a 'subject' IIN."
    )
    note: str | None = Field(default=None, max_length=4000, description="Required when overriding the proposal.")
    amount_kzt: StrictInt | None = Field(
        default=None, gt=0, le=100_000_000, description="Required when the amount is not known by law."
    )

    @field_validator("reasons", mode="before")
    @classmethod
    def _codes(cls, value: Any) -> Any:
        if not isinstance(value, list):
            return value
        return [{"code": item} if isinstance(item, str) else item for item in value]


class FollowUpOut(BaseModel):
    id: uuid.UUID
    application_id: uuid.UUID
    decision_id: uuid.UUID
    benefit: str = Field(description="The benefit also applied for.")
    status: str
    created_at: datetime


class FollowUpList(BaseModel):
    items: list[FollowUpOut]


class Verification(BaseModel):
    decision_id: uuid.UUID
    valid: bool = Field(description="The signature verifies with the key the decision names (current or retired).")
    algorithm: str
    key_id: str | None = Field(description="The kid of the key that signed (decision's JWKS).")
    key_known: bool = Field(default=True, description="The kid is one of decision's keys, current or retired.")
    public_key_pem: str = Field(description="The public key named by key_id; empty when the kid is unknown.")
    public_key_jwk: dict | None = Field(default=None, description="The same key as a JWK (RFC 8037).")
    canonicalization: str = Field(default="RFC 8785", description="How the document was turned into signed bytes.")
    case_file_matches: bool | None = Field(
        default=None, description="The stored case file still hashes to the signed case_file_sha256.")
    signed_document: dict | None
    signature: str | None
