"""Typed event contracts: one pydantic model per event type and version (docs/events.md).

Producer and consumer share these models. A producer builds the model and
wraps it with :func:`envelope_of`; a consumer reads ``Model.of(envelope)``,
which checks the type and validates the payload. Payloads are JSON in the
envelope's ``data``; dates travel as ISO strings and come back as ``date``.

Adding a field with a default is compatible; renaming or removing one needs a
new version (a new class with ``VERSION = 2``) while consumers still read v1.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, ClassVar, Literal, TypeVar

import rfc8785
from pydantic import BaseModel, ConfigDict, Field

from common.envelope import TYPE_PREFIX, Envelope

Benefit = Literal["burial", "disability", "survivor"]
Channel = Literal["portal", "proactive", "state_corp", "provider"]
ApplicationStatus = Literal[
    "received",
    "rejected",
    "registered",
    "awaiting_documents",
    "awaiting_signature",
    "assigned",
    "refused",
    "payment_queued",
    "paid",
]
DecisionStatus = Literal["awaiting_signature", "assigned", "refused"]
Outcome = Literal["assign", "refuse"]

E = TypeVar("E", bound="Event")


class Contract(BaseModel):
    """Base of every payload part: unknown fields are kept out, values are immutable."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class Event(Contract):
    """Base of an event payload; subclasses set TYPE (e.g. 'application.registered') and VERSION."""

    TYPE: ClassVar[str] = ""
    VERSION: ClassVar[int] = 1

    @classmethod
    def type_name(cls) -> str:
        return f"{TYPE_PREFIX}{cls.TYPE}.v{cls.VERSION}"

    @classmethod
    def of(cls: type[E], envelope: Envelope) -> E:
        """The typed payload of `envelope`; ValueError when the envelope is of another type."""
        if envelope.type != cls.type_name():
            raise ValueError(f"expected {cls.type_name()}, got {envelope.type}")
        return cls.model_validate(envelope.data)


# --- parts ----------------------------------------------------------------------------


class ApplicantRef(Contract):
    iin: str | None = None
    bin: str | None = None


class Contact(Contract):
    """Where the citizen hears from us: SMS (proactive), the cabinet (portal), or nobody electronically."""

    channel: Literal["sms", "cabinet"] | None = None
    phone: str | None = None
    iin: str | None = None


class DocumentRef(Contract):
    """A document given with the application or attached later by an operator (api.md Documents)."""

    type: str
    number: str | None = None
    issued_on: date | None = None
    issued_by: str | None = None
    foreign: bool = False
    apostille: bool = False
    about: str | None = None  # the IIN the document is about (a dependant, the deceased); None: the applicant
    facts: dict[str, Any] = Field(default_factory=dict)  # what the operator read off it, e.g. {"date": "..."}
    attached_at: datetime | None = None
    attached_by: str | None = None


class RequestedDocument(Contract):
    """A document the case needs because a registry has no record or contradicts it."""

    type: str
    about: str | None = None
    reason: str
    paragraph: str | None = None


class ReasonRef(Contract):
    """A reason code with its ground and texts (common.reasons), optionally about one person."""

    code: str
    ground: int | None = None
    paragraph: str | None = None
    message: str = ""
    message_kk: str | None = None
    message_ru: str | None = None
    subject: str | None = None


class RuleResult(Contract):
    """One line of a decision's explanation: the rule, its paragraph, what it found, and the obligations it applied.

    ``obligations`` are ids of the law map (common/law/obligations.json, e.g. ``B13.check5.within-3-years``); lines
    written before they were added, and lines of no obligation, have none.
    """

    rule: str
    paragraph: str
    outcome: Literal["pass", "fail", "value"]
    facts: dict[str, Any] = Field(default_factory=dict)
    subject: str | None = None
    obligations: tuple[str, ...] = ()


class Evidence(Contract):
    """What a decision relied on: a registry answer or a document, with its source and time."""

    source: Literal["registry", "document"] = "registry"
    registry: str
    query: str
    status: int | None = None
    answer: Any = None
    received_at: datetime


class Payment(Contract):
    payee_iin: str | None = None
    payee_bin: str | None = None
    iban: str | None = None


# --- applications (topic "applications", producer intake) --------------------------------


class ApplicationData(Event):
    """What intake knows of an application; every application.* event carries it whole."""

    application_id: uuid.UUID
    benefit: Benefit
    channel: Channel
    status: ApplicationStatus
    received_at: datetime
    received_on: date  # Asia/Almaty; the day of application (for proactive, of consent)
    applicant: ApplicantRef
    deceased_iin: str | None = None
    dependants: tuple[str, ...] = ()
    also_apply_for: tuple[str, ...] = ()
    iban: str | None = None
    documents: tuple[DocumentRef, ...] = ()
    consents: dict[str, bool | None] = Field(default_factory=dict)
    registration_number: str | None = None
    registered_on: date | None = None
    due_by: date | None = None
    contact: Contact = Field(default_factory=Contact)
    reasons: tuple[ReasonRef, ...] = ()
    requested_documents: tuple[RequestedDocument, ...] = ()


class ApplicationReceived(ApplicationData):
    TYPE = "application.received"


class ApplicationRegistered(ApplicationData):
    TYPE = "application.registered"


class ApplicationRejected(ApplicationData):
    TYPE = "application.rejected"


class DocumentsRequested(ApplicationData):
    """The case waits for documents (D§7, S§7); due_by moved by the extension (D-Std p.3, S-Std p.3)."""

    TYPE = "application.documents_requested"


class DocumentsProvided(ApplicationData):
    """An operator attached the requested documents; the checks run again with them as evidence."""

    TYPE = "application.documents_provided"


# --- eligibility (topic "eligibility", producer eligibility) --------------------------------


class EligibilityChecked(Event):
    """The registries' answers judged by the benefit's rules.

    ``requested_documents`` non-empty: a person decides this case and a record is
    missing, so documents are asked for instead of a decision (D§7, S§7).
    ``automated``: the law lets the system decide and sign (B§19-1, D§20-1/D§21-1).
    ``facts`` are benefit-specific and JSON (see each benefit's eligibility policy).
    """

    TYPE = "eligibility.checked"

    application_id: uuid.UUID
    benefit: Benefit
    channel: Channel
    round: int = 1  # 1 for the first check, +1 after each set of documents
    eligible: bool
    automated: bool = False
    reasons: tuple[ReasonRef, ...] = ()
    requested_documents: tuple[RequestedDocument, ...] = ()
    facts: dict[str, Any] = Field(default_factory=dict)
    explanation: tuple[RuleResult, ...] = ()
    evidence: tuple[Evidence, ...] = ()
    checked_at: datetime


# --- decisions (topic "decisions", producer decision) ---------------------------------------


class DecisionData(Event):
    decision_id: uuid.UUID
    application_id: uuid.UUID
    benefit: Benefit
    channel: Channel
    status: DecisionStatus
    outcome: Outcome | None = None  # signed outcome; None while a draft
    proposed_outcome: Outcome
    amount_kzt: int = 0  # one-time (burial) or monthly (disability, survivor)
    amount_kind: Literal["one_time", "monthly"] = "one_time"
    period_start: date | None = None
    reasons: tuple[ReasonRef, ...] = ()
    signed_at: datetime | None = None
    signed_by: str | None = None
    registration_number: str | None = None
    contact: Contact = Field(default_factory=Contact)
    payment: Payment = Field(default_factory=Payment)


class DecisionDrafted(DecisionData):
    TYPE = "decision.drafted"


class DecisionSigned(DecisionData):
    """A signed decision. ``signed_document`` is what the signature covers (a ``DecisionDocument`` as JSON),
    ``signature`` the base64 Ed25519 signature of its RFC 8785 form, ``kid`` the key that made it (decision's JWKS).

    The payment queue pays only what the document says, after verifying it; the other fields are for reading.
    """

    TYPE = "decision.signed"

    signed_document: dict[str, Any] | None = None
    signature: str | None = None
    kid: str | None = None


# --- the signed decision document (decision signs it, payment_queue verifies it) ------------------

SIGNATURE_ALGORITHM = "Ed25519"
CANONICALIZATION = "RFC 8785"


def canonical_json(value: Any) -> bytes:
    """RFC 8785 (JSON Canonicalization Scheme) bytes of a JSON value: what is hashed and signed."""
    return bytes(rfc8785.dumps(value))


class SignedPayee(Contract):
    """Who is paid: the applicant's IIN (or BIN), and the name when the registries named them."""

    iin: str | None = None
    bin: str | None = None
    name: str | None = None


class SignedReason(Contract):
    code: str
    subject: str | None = None


class DecisionDocument(Contract):
    """What a decision's signature covers (B§19-1: approved with the EDS, verifiable later).

    The payment queue places exactly this: payee, IBAN, amount, kind and period come from here, never from the
    unsigned fields around it. ``case_file_sha256`` is the SHA-256 of the RFC 8785 form of the case file
    (Annex 7, Annex 11) the decision relied on, so the evidence cannot change after the signature either.
    """

    TYPE: ClassVar[str] = "kz.emaket.decision.signed.v2"  # v1: the earlier, sort_keys-canonicalised document

    type: Literal["kz.emaket.decision.signed.v2"] = "kz.emaket.decision.signed.v2"
    kid: str
    decision_id: uuid.UUID
    application_id: uuid.UUID
    benefit: Benefit
    channel: Channel
    outcome: Outcome
    amount_kzt: int
    amount_kind: Literal["one_time", "monthly"]
    period_start: date | None = None  # disability, survivor: the first day paid; the payment runs monthly from it
    reasons: tuple[SignedReason, ...] = ()
    payee: SignedPayee
    iban: str | None = None
    signed_by: str
    signed_at: datetime
    case_file_sha256: str


# --- payments (topic "payments", producer payment_queue) ------------------------------------


class PaymentQueued(Event):
    TYPE = "payment.queued"

    application_id: uuid.UUID
    decision_id: uuid.UUID
    benefit: Benefit | None = None
    order_id: str | None = None
    amount_kzt: int
    placed_at: datetime
    contact: Contact = Field(default_factory=Contact)


class PaymentPaid(Event):
    TYPE = "payment.paid"

    application_id: uuid.UUID
    decision_id: uuid.UUID
    order_id: str | None = None
    amount_kzt: int
    paid_at: datetime


# --- dead letters (topic "deadletter.<service>") ------------------------------------------


class DeadLettered(Event):
    TYPE = "deadletter"

    consumer: str
    topic: str
    partition: int
    offset: int
    error: str
    original: str


EVENTS: dict[str, type[Event]] = {
    cls.TYPE: cls
    for cls in (
        ApplicationReceived,
        ApplicationRegistered,
        ApplicationRejected,
        DocumentsRequested,
        DocumentsProvided,
        EligibilityChecked,
        DecisionDrafted,
        DecisionSigned,
        PaymentQueued,
        PaymentPaid,
        DeadLettered,
    )
}


def envelope_of(event: Event, *, source: str, subject: str) -> Envelope:
    """Wrap a typed payload in the CloudEvents envelope (dates and ids as JSON strings)."""
    return Envelope(type=event.type_name(), source=source, subject=subject, data=event.model_dump(mode="json"))
