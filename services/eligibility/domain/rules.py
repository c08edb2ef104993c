"""Burial eligibility as pure functions (Order 256 as amended by Order 509).

No I/O here: the facts come from registry answers gathered by the handler.
Each rule returns a reason code of common.reasons when it fails, else None.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from common.dates import add_years


@dataclass(frozen=True)
class RecipientPeriod:
    kind: str
    start: date
    end: date | None


@dataclass(frozen=True)
class BurialFacts:
    received_on: date  # the day of application (for proactive: of consent), Asia/Almaty
    death_date: date | None  # from the civil registry; None when it has no record
    death_certificate_given: bool
    deceased_known: bool  # the individuals' database knows the IIN
    recipient_periods: tuple[RecipientPeriod, ...]
    payment_account_known: bool  # an IBAN in the application or in the registry
    applicant_entity_known: bool = True  # for a BIN applicant: the legal entity exists
    death_from_document: bool = False  # the date of death comes from a certificate, not the civil registry


def check_complete(facts: BurialFacts) -> str | None:
    """B§13 check 1: the death is confirmed (registry or certificate) and there is an account to pay to.

    [law: B13.check1.completeness]
    """
    if facts.death_date is None and not facts.death_certificate_given:
        return "incomplete"
    if not facts.payment_account_known:
        return "incomplete"
    return None


def check_reliable(facts: BurialFacts) -> str | None:
    """B-Std p.9 ground 1: the registries confirm the person, the death and the applicant entity.

    [law: B-Std9.ground1.unreliable]
    """
    if not facts.deceased_known or not facts.applicant_entity_known:
        return "data_unreliable"
    if facts.death_date is None and facts.death_certificate_given and not facts.death_from_document:
        # A certificate the civil registry cannot confirm is not enough for the automatic path;
        # with no certificate either, check 1 (incomplete) already says what is missing.
        return "data_unreliable"
    return None


# B§13 check 4 names these four kinds of payment and no others. law: B13.check4.recipient-on-date-of-death
RECIPIENT_KINDS = frozenset({"age_pension", "basic_pension", "social_benefit", "special_benefit"})


def recipient_kind_on(facts: BurialFacts, day: date) -> str | None:
    """B§13 check 4: the kind of the four the deceased received on ``day``, or None."""
    for period in facts.recipient_periods:
        if period.kind in RECIPIENT_KINDS and period.start <= day and (period.end is None or day <= period.end):
            return period.kind
    return None


def check_recipient(facts: BurialFacts) -> str | None:
    """B§13 check 4: at the date of death a recipient of a pension or a state social/special benefit.

    A failure is refusal ground 2. [law: B13.check4.recipient-on-date-of-death, B-Std9.ground2.requirements-not-met]
    """
    day = facts.death_date
    if day is None:
        return None  # reported by check_reliable
    return None if recipient_kind_on(facts, day) else "not_a_recipient"


def check_deadline(facts: BurialFacts, within_years: int) -> str | None:
    """B§13 check 5: applied no later than `within_years` (3) years after the date of death.

    A failure is refusal ground 2. [law: B13.check5.within-3-years, B-Std9.ground2.requirements-not-met]
    """
    if facts.death_date is None:
        return None
    if facts.received_on > add_years(facts.death_date, within_years):
        return "deadline_passed"
    if facts.received_on < facts.death_date:
        return "data_unreliable"  # an application dated before the death contradicts the registry
    return None


def evaluate_burial(facts: BurialFacts, *, within_years: int) -> list[str]:
    """All failed checks in B§13 order (the citizen learns every reason at once)."""
    found = [
        check_complete(facts),
        check_reliable(facts),
        check_recipient(facts),
        check_deadline(facts, within_years),
    ]
    codes: list[str] = []
    for code in found:
        if code and code not in codes:
            codes.append(code)
    return codes
