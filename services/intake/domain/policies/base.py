"""What intake needs to know of a benefit: its request, channels, claims, registration, working time and term."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import ClassVar

from common.law.params import CHANNELS, service_term_days
from services.intake.domain.requests import ApplicationBase

Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class Claim:
    """One uniqueness claim an application holds (docs/benefits.md "uniqueness claim"); ``subject`` is the person."""

    key: str
    subject: str | None = None


@dataclass(frozen=True)
class Term:
    working_days: int
    automated: bool


class IntakePolicy:
    """Base of the per-benefit intake policies; a subclass sets the class attributes and overrides what differs."""

    name: ClassVar[str]
    number_prefix: ClassVar[str]  # registration numbers: BUR-/DIS-/SUR-<date>-<serial>
    request_model: ClassVar[type[ApplicationBase]]
    channel_paragraph: ClassVar[str]
    legal_entity_may_apply: ClassVar[bool] = False
    after_hours_moves: ClassVar[bool]  # each Std p.7; domain.md "Working time"
    auto_term_channels: ClassVar[frozenset[str]] = frozenset()  # channels registered with the automated term
    required: ClassVar[Sequence[tuple[Loc, str]]] = ()
    conflict_assigned: ClassVar[str]  # reason code when the claim's holder is assigned
    conflict_filed: ClassVar[str]  # reason code when the claim's holder is still in progress

    @property
    def channels(self) -> frozenset[str]:
        """Channels of the benefit's standard, p.2 (common.law.params.CHANNELS)."""
        return CHANNELS[self.name]

    def claims(self, *, applicant_iin: str | None, deceased_iin: str | None, dependants: Sequence[str]) -> list[Claim]:
        """The uniqueness claims an application of this benefit takes."""
        raise NotImplementedError

    def registers_on_receipt(self, channel: str) -> bool:
        """Registered when received (D§15, S§14), unless the policy waits for the checks."""
        return True

    def term(self, channel: str, *, on: date, automated: bool) -> Term:
        """The service term in working days from registration (B-Std p.3, D§24, S§24)."""
        auto = automated and channel in self.auto_term_channels
        return Term(service_term_days(self.name, channel, auto=auto, on=on), auto)

    def claims_released_on_assignment(self, claims: Iterable[Claim], reasons: Iterable[tuple[str, str | None]]) -> list[str]:
        """Claim keys an assignment lets go (by default none: an assignment keeps every claim)."""
        return []
