"""What a decision policy works on and gives back: pure values, no storage."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal, Protocol

from common.events import ApplicationData, EligibilityChecked, Outcome, ReasonRef, RuleResult

AmountKind = Literal["one_time", "monthly"]
# The paragraph that lets the system sign (B§19-1, D§20-1, D§21-1) is on the explanation's who_signs line.
AUTO_SIGNER = "e-maket:auto (on behalf of the authorised official)"


class CannotAssign(ValueError):
    """The case file lacks what an assignment needs (a date of death, an establishment date, a dependant)."""


@dataclass(frozen=True)
class Assessment:
    """What an assignment would pay: amount (None: no verified parameter, a specialist enters it) and period."""

    amount_kzt: int | None
    amount_kind: AmountKind
    period_start: date | None
    lines: tuple[RuleResult, ...] = ()

    @property
    def amount_known(self) -> bool:
        return self.amount_kzt is not None


@dataclass(frozen=True)
class Draft:
    """The draft decision (B§19-1, D§20-1, S§24): the proposal, who signs it, and why."""

    outcome: Outcome
    amount_kzt: int
    amount_kind: AmountKind
    period_start: date | None
    reasons: tuple[ReasonRef, ...]
    auto_sign: bool
    amount_known: bool = True
    explanation: tuple[RuleResult, ...] = field(default=())
    approval_law: tuple[str, ...] = ()  # the obligations the system's own signature applies (RuleResult.obligations)


@dataclass(frozen=True)
class Case:
    """Both halves of a case: the application as intake registered it and the (highest-round) checks."""

    application: ApplicationData
    checks: EligibilityChecked

    @property
    def facts(self) -> dict[str, Any]:
        return self.checks.facts

    @property
    def received_on(self) -> date:
        """The application day (Asia/Almaty); eligibility's copy first, intake's as the fallback."""
        return fact_date(self.facts, "received_on") or self.application.received_on

    @property
    def payee_iban(self) -> str | None:
        """The account to pay to: the application's IBAN, else the registry's (facts.payee_iban)."""
        iban = self.application.iban or self.facts.get("payee_iban")
        return str(iban) if iban else None


class BenefitPolicy(Protocol):
    """The per-benefit part of drafting and signing; one module per benefit, registered in POLICIES."""

    amount_kind: AmountKind
    refusal_paragraph: str  # the benefit's refusal grounds: <letter>-Std p.9
    grounds_law: Mapping[int, str]  # refusal ground n -> the obligation id of that ground
    refusal_law: tuple[str, ...]  # what a refusal drafted from the checks applies besides its grounds
    approval_law: tuple[str, ...]  # what the system's own approval applies (empty: no automated path)

    def assess(self, case: Case) -> Assessment:
        """Amount and period of an assignment; CannotAssign when the case file lacks what that needs."""
        ...

    def signer_line(self, case: Case, assessment: Assessment | None) -> RuleResult:
        """Who signs (system or specialist) and the paragraph that says so; facts.signer is the value."""
        ...


def fact_date(facts: dict[str, Any], key: str) -> date | None:
    """A date fact (ISO string in the event) or None."""
    value = facts.get(key)
    if value is None or value == "":
        return None
    return value if isinstance(value, date) else date.fromisoformat(str(value))


# Project decision (Trust boundaries, payee safety): the system assigns by itself only a payment to the applicant's
# own account (banks' registry) and, for burial, to a relative of the deceased (civil registry); anything else
# goes to a specialist with the reason on the explanation's who_signs line. Eligibility's facts say what it found;
# decision checks them itself, so a missing or older fact never lets the system pay a stranger.
PAYEE_SAFETY = "project decision: payee safety on the automatic path"  # law: B19-1.payee-safety, D21-1.payee-safety


def payee_safety_gaps(case: Case, *, kinship_needed: bool) -> tuple[str, ...]:
    """PAYEE_SAFETY: why the system may not assign this case by itself (empty: it may)."""
    gaps: list[str] = []
    if case.payee_iban is None:
        gaps.append("no bank account to pay to")
    elif case.facts.get("payee_account_owned") is not True:
        gaps.append("the account is not the applicant's own in the banks' registry")
    if kinship_needed and not case.facts.get("applicant_kinship"):
        gaps.append("the registries show no kinship of the applicant to the deceased")
    return tuple(gaps)


def signer_line(*, auto: bool, paragraph: str, why: str, obligations: tuple[str, ...] = ()) -> RuleResult:
    """The explanation line naming who signs: the system on behalf of the official, or a specialist."""
    return RuleResult(
        rule="who_signs",
        paragraph=paragraph,
        outcome="value",
        facts={"signer": "system" if auto else "specialist", "why": why},
        obligations=obligations,
    )
