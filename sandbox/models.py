"""Request bodies of the sandbox: fixture sets, outbound messages, fault settings.

Fixture records mirror what the real registries behind the e-gov gateway hold
(ГБД ФЛ, ИС ЗАГС, ЦБДИ, НОБД, ...). Every model forbids unknown fields so a
typo in a test fixture is a 422 naming the field instead of silent data loss.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationInfo, field_validator

Iin = Annotated[str, StringConstraints(pattern=r"^\d{12}$")]
Bin = Annotated[str, StringConstraints(pattern=r"^\d{12}$")]
Iban = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}\d{2}[A-Z0-9]{1,30}$")]
Phone = Annotated[str, StringConstraints(pattern=r"^\+?\d{10,15}$")]
Ident = Annotated[str, StringConstraints(min_length=1, max_length=128)]
Code = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Text = Annotated[str, StringConstraints(min_length=1, max_length=4000)]

System = Literal["egov", "payments", "sms", "cabinet"]


class SandboxModel(BaseModel):
    """Base of every sandbox body: unknown fields are rejected."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    def public(self) -> dict[str, Any]:
        """JSON-ready dict using the wire names (``from``, not ``from_``)."""
        return self.model_dump(mode="json", by_alias=True)


# --- fixture records (one class per registry list) -------------------------


class Person(SandboxModel):
    """ГБД ФЛ – state database of individuals."""

    iin: Iin
    last_name: Text
    first_name: Text
    middle_name: Text | None = None
    birth_date: date
    phone: Phone | None = None


class Death(SandboxModel):
    """ИС ЗАГС – civil registry death record."""

    iin: Iin
    date: date


class CourtDeclaration(SandboxModel):
    """Court decision declaring a person missing or dead."""

    iin: Iin
    kind: Literal["missing", "dead"]
    date: date


class Birth(SandboxModel):
    """ИС ЗАГС – birth record (parents as registered)."""

    child_iin: Iin
    mother_iin: Iin | None = None
    father_iin: Iin | None = None
    date: date


class Marriage(SandboxModel):
    """ИС ЗАГС – marriage record; ``dissolved_on`` set after divorce."""

    iin_a: Iin
    iin_b: Iin
    date: date
    dissolved_on: date | None = None


class Adoption(SandboxModel):
    """ИС ЗАГС – adoption record."""

    child_iin: Iin
    parent_iin: Iin
    date: date


class Disability(SandboxModel):
    """ЦБДИ – central database of persons with disabilities."""

    iin: Iin
    group: Literal[1, 2, 3] | None = None
    cause: Literal["general_illness", "work_injury", "childhood", "child"]
    established_on: date
    until: date | None = None


class Recipient(SandboxModel):
    """ЦБД получателей – who receives a pension or benefit, and when."""

    iin: Iin
    kind: Literal["age_pension", "basic_pension", "social_benefit", "special_benefit"]
    from_: date = Field(alias="from")
    to: date | None = None


class Study(SandboxModel):
    """НОБД – national education database (full-time study of dependants)."""

    iin: Iin
    form: Literal["full_time", "distance"]
    from_: date = Field(alias="from")
    to: date | None = None


class BankAccount(SandboxModel):
    """Second-tier bank account known for a person."""

    iin: Iin
    iban: Iban


class LegalEntity(SandboxModel):
    """ГБД ЮЛ – state database of legal entities."""

    bin: Bin
    name: Text


class Guardianship(SandboxModel):
    """НОБД – guardianship (trusteeship) of a minor."""

    child_iin: Iin
    guardian_iin: Iin
    from_: date = Field(alias="from")
    to: date | None = None


class FixtureSet(SandboxModel):
    """``POST /sandbox/fixtures`` body; every list is optional."""

    persons: list[Person] = []
    deaths: list[Death] = []
    court_declarations: list[CourtDeclaration] = []
    births: list[Birth] = []
    marriages: list[Marriage] = []
    adoptions: list[Adoption] = []
    disabilities: list[Disability] = []
    recipients: list[Recipient] = []
    studies: list[Study] = []
    bank_accounts: list[BankAccount] = []
    legal_entities: list[LegalEntity] = []
    guardianships: list[Guardianship] = []


FIXTURE_LISTS: tuple[str, ...] = tuple(FixtureSet.model_fields)


# --- what the system sends out ---------------------------------------------


class PaymentOrderIn(SandboxModel):
    """Payment order placed in the payments database (ОДҚ / ЦБД)."""

    decision_id: Ident
    application_id: Ident
    iin: Iin
    amount_kzt: int = Field(gt=0)
    iban: Iban
    benefit: Code
    purpose: Text
    amount_kind: Literal["one_time", "monthly"] = "one_time"
    period_start: date | None = None  # monthly benefits: the first day the benefit is paid for


class SmsIn(SandboxModel):
    """Message handed to the SMS gateway."""

    message_id: Ident
    phone: Phone
    text: Text
    kind: Code


class CabinetMessageIn(SandboxModel):
    """Notification put into the citizen's portal personal cabinet."""

    message_id: Ident
    iin: Iin
    application_id: Ident
    kind: Code
    text_kk: Text
    text_ru: Text


# --- faults -----------------------------------------------------------------


class FaultIn(SandboxModel):
    """``POST /sandbox/faults`` body: how one external system misbehaves."""

    system: System
    error_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    timeout_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    latency_ms: int = Field(default=0, ge=0, le=60_000)
    fail_next: int = Field(default=0, ge=0, le=10_000)
    timeout_next: int = Field(default=0, ge=0, le=10_000)
    seed: int | None = None

    @field_validator("timeout_rate")
    @classmethod
    def _rates_sum(cls, value: float, info: ValidationInfo) -> float:
        error_rate = info.data.get("error_rate")
        if error_rate is not None and error_rate + value > 1.0:
            raise ValueError("error_rate + timeout_rate must not exceed 1")
        return value
