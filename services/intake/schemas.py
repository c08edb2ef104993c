"""Request and response shapes of the applications API (api.md)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import Enum
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from common.identifiers import bin_error, iban_error, iin_error


class Benefit(str, Enum):
    burial = "burial"
    disability = "disability"
    survivor = "survivor"


class Channel(str, Enum):
    portal = "portal"
    proactive = "proactive"
    state_corp = "state_corp"
    provider = "provider"


def _check(error_fn, value: str | None) -> str | None:
    if value is None:
        return value
    problem = error_fn(value)
    if problem:
        raise ValueError(problem)
    return value


class Applicant(BaseModel):
    model_config = ConfigDict(extra="forbid")
    iin: str | None = None
    bin: str | None = None

    _iin = field_validator("iin")(lambda cls, v: _check(iin_error, v))
    _bin = field_validator("bin")(lambda cls, v: _check(bin_error, v))


class Consents(BaseModel):
    personal_data: bool | None = None
    proactive: bool | None = None


class BankAccount(BaseModel):
    iban: str

    _iban = field_validator("iban")(lambda cls, v: _check(iban_error, v))


class Document(BaseModel):
    type: str = Field(min_length=1, max_length=64)
    number: str | None = Field(default=None, max_length=64)
    issued_on: date | None = None


class ApplicationIn(BaseModel):
    """An application as a portal, the mobile backend or an operator sends it."""

    model_config = ConfigDict(extra="ignore")

    benefit: Benefit
    channel: Channel
    applicant: Applicant
    phone: str | None = Field(default=None, pattern=r"^\+7\d{10}$", examples=["+77011234567"])
    consents: Consents = Field(default_factory=Consents)
    bank_account: BankAccount | None = None
    deceased_iin: str | None = None
    dependants: list[Annotated[str, AfterValidator(lambda v: _check(iin_error, v))]] = Field(default_factory=list, max_length=20)
    also_apply_for: list[str] = Field(default_factory=list, max_length=5)
    documents: list[Document] = Field(default_factory=list, max_length=20)

    _deceased = field_validator("deceased_iin")(lambda cls, v: _check(iin_error, v))

    @model_validator(mode="wrap")
    @classmethod
    def _every_error_at_once(cls, data: Any, handler):
        """Name every bad field in one answer: shape errors and per-benefit/channel requirements together."""
        missing = required_field_errors(data) if isinstance(data, dict) else []
        try:
            model = handler(data)
        except ValidationError as exc:
            details = [_as_detail(e) for e in exc.errors()]
            known = {tuple(d["loc"]) for d in details}
            details += [m for m in missing if tuple(m["loc"]) not in known]
            raise ValidationError.from_exception_data(cls.__name__, details) from None
        if missing:
            raise ValidationError.from_exception_data(cls.__name__, missing)
        return model


def _as_detail(error: dict) -> InitErrorDetails:
    message = error["msg"].removeprefix("Value error, ")
    return {"type": PydanticCustomError(error["type"], message), "loc": error["loc"], "input": error.get("input")}


def _missing(loc: tuple, message: str) -> InitErrorDetails:
    return {"type": PydanticCustomError("missing", message), "loc": loc, "input": None}


def required_field_errors(data: dict) -> list[InitErrorDetails]:
    """Fields required for a benefit and channel (api.md; B§5, B§19-1, S§7)."""
    benefit, channel = data.get("benefit"), data.get("channel")
    applicant = data.get("applicant") if isinstance(data.get("applicant"), dict) else {}
    consents = data.get("consents") if isinstance(data.get("consents"), dict) else {}
    errors: list[InitErrorDetails] = []
    has_iin, has_bin = bool(applicant.get("iin")), bool(applicant.get("bin"))
    if "applicant" in data and has_iin == has_bin:
        errors.append(_missing(("applicant",), "give exactly one of applicant.iin or applicant.bin"))
    if has_bin and benefit in ("disability", "survivor"):
        errors.append(_missing(("applicant", "bin"), "only a burial payment may be claimed by a legal entity (B§5)"))
    if has_bin and channel in ("portal", "proactive"):
        errors.append(_missing(("applicant", "bin"), "a legal entity applies through the State Corporation (B§5)"))
    if benefit == "burial" and channel == "provider":
        errors.append(
            _missing(("channel",), "the burial payment is applied for through the State Corporation, the portal or the proactive service (B-Std p.2)")
        )
    if consents.get("personal_data") is None:
        errors.append(_missing(("consents", "personal_data"), "say whether the applicant consents to access to personal data"))
    if benefit in ("burial", "survivor") and not data.get("deceased_iin"):
        errors.append(_missing(("deceased_iin",), f"required for the {benefit} benefit"))
    if benefit == "survivor" and not data.get("dependants"):
        errors.append(_missing(("dependants",), "list who the survivor benefit is claimed for (S§7)"))
    if channel == "proactive":
        if not data.get("phone"):
            errors.append(_missing(("phone",), "required for the proactive channel: the result is sent by SMS (B§19-1)"))
        if data.get("bank_account") is None:
            errors.append(_missing(("bank_account",), "required for the proactive channel: confirm the account to pay to (B-Std p.8)"))
        if consents.get("proactive") is None:
            errors.append(_missing(("consents", "proactive"), "the proactive channel needs the citizen's SMS consent"))
    if benefit in ("disability", "survivor"):
        errors.append(
            _missing(
                ("benefit",),
                f"the {benefit} benefit is not yet taken by this system; burial is (see README 'Scope')",
            )
        )
    return errors


class ReasonOut(BaseModel):
    code: str
    ground: int | None
    message: str
    paragraph: str | None = None
    message_kk: str | None = None
    message_ru: str | None = None


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


class ApplicationList(BaseModel):
    items: list[ApplicationOut]
