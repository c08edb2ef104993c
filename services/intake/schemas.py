"""Request and response shapes of the applications API (api.md).

The request bodies are one model per benefit, keyed on ``benefit`` (services/intake/domain/requests.py);
``parse_application`` names every bad field of a body at once.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field, TypeAdapter

from common.events import DocumentRef, RequestedDocument
from services.intake.domain.requests import (
    ApplicationBase,
    BurialApplication,
    Channel,
    DisabilityApplication,
    DocumentIn,
    DocumentsIn,
    IsoDate,
    SurvivorApplication,
)
from services.intake.domain.validation import parse_application

ApplicationIn = Annotated[
    BurialApplication | DisabilityApplication | SurvivorApplication, Field(discriminator="benefit")
]


def application_json_schema(ref_template: str) -> dict[str, Any]:
    """The published schema of POST /api/v1/applications (the body is parsed by hand to name every bad field)."""
    return TypeAdapter(ApplicationIn).json_schema(ref_template=ref_template)


class ReasonOut(BaseModel):
    code: str
    ground: int | None
    message: str
    paragraph: str | None = None
    message_kk: str | None = None
    message_ru: str | None = None
    subject: str | None = None


class DecisionOut(BaseModel):
    id: uuid.UUID | None = None
    outcome: str
    amount_kzt: int
    period_start: date | None = None
    signed_at: datetime | None = None
    signed_by: str | None = None


class HistoryOut(BaseModel):
    status: str
    at: datetime


class ApplicationOut(BaseModel):
    id: uuid.UUID
    benefit: str
    channel: str
    status: str
    registration_number: str | None
    received_at: datetime
    registered_on: date | None
    due_by: date | None
    due_by_provisional: bool = Field(
        description="True when due_by was computed by rule for a year whose holiday data is not loaded yet."
    )
    reasons: list[ReasonOut]
    decision: DecisionOut | None
    history: list[HistoryOut]
    # The same shapes the events carry (common.events), so the resource and the contract cannot drift apart.
    requested_documents: list[RequestedDocument] = Field(default_factory=list)
    documents: list[DocumentRef] = Field(default_factory=list)
    dependants: list[str] = Field(default_factory=list)
    also_apply_for: list[str] = Field(default_factory=list)


class ApplicationList(BaseModel):
    items: list[ApplicationOut]


__all__ = [
    "ApplicationBase",
    "ApplicationIn",
    "ApplicationList",
    "ApplicationOut",
    "BurialApplication",
    "Channel",
    "DisabilityApplication",
    "DocumentIn",
    "DocumentsIn",
    "IsoDate",
    "SurvivorApplication",
    "application_json_schema",
    "parse_application",
]
