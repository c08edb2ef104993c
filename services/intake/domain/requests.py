"""Request bodies of POST /api/v1/applications (api.md), one pydantic model per benefit, keyed on ``benefit``.

Shapes only; the rules that need several fields at once (who may apply through which channel,
who is listed twice) live in ``validation.py`` so that one 422 names every bad field.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, model_validator

from common.identifiers import bin_error, iban_error, iin_error
from common.strict_json import HostileJson, check_storable


class Channel(str, Enum):
    portal = "portal"
    proactive = "proactive"
    state_corp = "state_corp"
    provider = "provider"


def _valid(error_of: Any) -> Any:
    """An AfterValidator raising the identifier's own error message."""

    def check(value: str) -> str:
        problem = error_of(value)
        if problem:
            raise ValueError(problem)
        return value

    return AfterValidator(check)


Iin = Annotated[str, _valid(iin_error)]
Bin = Annotated[str, _valid(bin_error)]
Iban = Annotated[str, _valid(iban_error)]

# D-Std p.4, p.10: the benefits one disability application may also cover (their rules are not in the seed).
# law: D-Std10.one-application
AlsoApplyFor = Literal["special_state_disability", "child_with_disability_carer", "group1_from_childhood_carer"]


class Applicant(BaseModel):
    model_config = ConfigDict(extra="forbid")
    iin: Iin | None = None
    bin: Bin | None = None


class Consents(BaseModel):
    # Consent is a real boolean: "yes", 1 or "true" are not consent (Law on Personal Data, art. 8).
    personal_data: StrictBool | None = None
    proactive: StrictBool | None = None


class BankAccount(BaseModel):
    iban: Iban


def _date_as_text(value: Any) -> Any:
    """A date is written YYYY-MM-DD: pydantic would also read 0 as 1970-01-01 (a Unix time)."""
    if value is not None and not isinstance(value, (str, date)):
        raise ValueError("must be a date written YYYY-MM-DD")
    return value


IsoDate = Annotated[date, BeforeValidator(_date_as_text)]


class Document(BaseModel):
    """A document named in the application (B-Std p.8, D-Std p.8, S§7)."""

    type: str = Field(min_length=1, max_length=64)
    number: str | None = Field(default=None, max_length=64)
    issued_on: IsoDate | None = None


class ApplicationBase(BaseModel):
    """What every application carries, whatever the benefit."""

    model_config = ConfigDict(extra="ignore")

    benefit: str
    channel: Channel
    applicant: Applicant
    phone: str | None = Field(default=None, pattern=r"^\+7[0-9]{10}$", examples=["+77011234567"])
    consents: Consents = Field(default_factory=Consents)
    bank_account: BankAccount | None = None
    documents: list[Document] = Field(default_factory=list, max_length=20)

    @property
    def deceased(self) -> str | None:
        """The deceased person's IIN where the benefit has one."""
        return None

    @property
    def listed_dependants(self) -> tuple[str, ...]:
        """The people the application is made for, where the benefit lists them."""
        return ()

    @property
    def also_applied_for(self) -> tuple[str, ...]:
        """Other benefits the same application covers (D-Std p.4, p.10)."""
        return ()


class BurialApplication(ApplicationBase):
    """Burial payment (B§5): a person or a legal entity, for one deceased.

    The fields the rules need, not Annex 1 / Annex 5 (in base Order 256). [law: B-Std8.application-form]
    """

    benefit: Literal["burial"]
    deceased_iin: Iin | None = None

    @property
    def deceased(self) -> str | None:
        return self.deceased_iin


class DisabilityApplication(ApplicationBase):
    """State social disability benefit (D§4): the applicant applies for themselves.

    The fields the rules need, not the Annex 1, 2 or 8 forms (in base Order 257). [law: D-Std8.application-forms]
    """

    benefit: Literal["disability"]
    also_apply_for: list[AlsoApplyFor] = Field(default_factory=list, max_length=3)

    @property
    def also_applied_for(self) -> tuple[str, ...]:
        return tuple(self.also_apply_for)


class SurvivorApplication(ApplicationBase):
    """Loss-of-breadwinner benefit (S§7): for the dependants of one deceased.

    The fields the rules need, not the Annex 1 / Annex 8 forms (in base Order 257). [law: S-Std8.application-form]
    """

    benefit: Literal["survivor"]
    deceased_iin: Iin | None = None
    dependants: list[Iin] = Field(default_factory=list, max_length=20)

    @property
    def deceased(self) -> str | None:
        return self.deceased_iin

    @property
    def listed_dependants(self) -> tuple[str, ...]:
        return tuple(self.dependants)


class AnyApplication(ApplicationBase):
    """The shape check of a body whose benefit is unknown: every field, so each bad one is still named."""

    deceased_iin: Iin | None = None
    dependants: list[Iin] = Field(default_factory=list, max_length=20)
    also_apply_for: list[str] = Field(default_factory=list, max_length=3)


ApplicationRequest = BurialApplication | DisabilityApplication | SurvivorApplication

# Fields that belong to some benefits only; a body naming one its benefit does not take is malformed.
BENEFIT_FIELDS = ("deceased_iin", "dependants", "also_apply_for")


class DocumentIn(BaseModel):
    """A document an operator attaches (api.md Documents)."""

    model_config = ConfigDict(extra="ignore")

    type: str = Field(min_length=1, max_length=64)
    number: str | None = Field(default=None, max_length=64)
    # Strict (issue 6): "foreign": "yes" is not a foreign document, "apostille": 1 is not an apostille,
    # "issued_on": 0 is not a date.
    issued_on: IsoDate | None = None
    issued_by: str | None = Field(default=None, max_length=200)
    foreign: StrictBool = False
    apostille: StrictBool = False
    about: str | None = None
    facts: dict[str, Any] = Field(default_factory=dict)


class DocumentsIn(BaseModel):
    documents: list[DocumentIn] = Field(min_length=1, max_length=20)

    @model_validator(mode="before")
    @classmethod
    def _storable(cls, data: Any) -> Any:
        """What JSONB cannot hold (NUL, lone surrogates, endless nesting) is refused before anything is stored."""
        try:
            check_storable(data)
        except HostileJson as bad:
            raise ValueError(f"{bad.field}: {bad.message}") from None
        return data


def attached(document: DocumentIn, *, at: datetime, by: str | None) -> dict[str, Any]:
    """The document as the application keeps it (common.events.DocumentRef), with who attached it and when."""
    return document.model_dump(mode="json") | {"attached_at": at.isoformat(), "attached_by": by}
