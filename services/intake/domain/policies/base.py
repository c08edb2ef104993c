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
    standard: ClassVar[str]  # the benefit's service standard as the code cites it: B-Std, D-Std, S-Std
    legal_entity_may_apply: ClassVar[bool] = False
    after_hours_moves: ClassVar[bool]  # each Std p.7; domain.md "Working time"
    auto_term_channels: ClassVar[frozenset[str]] = frozenset()  # channels registered with the automated term
    required: ClassVar[Sequence[tuple[Loc, str]]] = ()
    conflict_assigned: ClassVar[str]  # reason code when the claim's holder is assigned
    conflict_filed: ClassVar[str]  # reason code when the claim's holder is still in progress

    @property
    def channels(self) -> frozenset[str]:
        """Channels of the benefit's standard, p.2 (common.law.params.CHANNELS).

        [law: B-Std2.channels, D-Std2.channels, S-Std2.channels, B-Std4.form, D-Std4.form, S-Std4.form]
        """
        return CHANNELS[self.name]

    def claims(self, *, applicant_iin: str | None, deceased_iin: str | None, dependants: Sequence[str]) -> list[Claim]:
        """The uniqueness claims an application of this benefit takes."""
        raise NotImplementedError

    def registers_on_receipt(self, channel: str) -> bool:
        """Registered at once, on every channel, unless the policy waits for the checks (D§20-1 for disability).

        Project reading: the seed's D§15 and S§14 are about the receipt, not registration. [law: D20-1.auto-registration]
        """
        return True

    def term(self, channel: str, *, on: date, automated: bool) -> Term:
        """The service term in working days from registration (B-Std p.3, D§24, S§24).

        [law: B-Std3.term-state-corp-3wd, B-Std3.term-portal-proactive-1wd, D24.term-7wd, D24.term-1wd-auto, S24.term-7wd]
        """
        auto = automated and channel in self.auto_term_channels
        return Term(service_term_days(self.name, channel, auto=auto, on=on), auto)

    def claims_released_on_assignment(self, claims: Iterable[Claim], reasons: Iterable[tuple[str, str | None]]) -> list[str]:
        """Claim keys an assignment lets go (by default none: an assignment keeps every claim)."""
        return []
