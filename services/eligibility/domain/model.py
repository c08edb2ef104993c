"""What every benefit's eligibility policy shares: the registry port, the evaluation, explanation lines.

Pure: no SQLAlchemy, httpx or settings. Gathering talks to the registries only through the
``Registries`` protocol, which the adapter (adapters/egov.py) implements over the e-gov gateway.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal, Protocol

from common.events import ApplicationData, DocumentRef, RuleResult
from common.reasons import reason

Record = dict[str, Any]

# Channels where the law lets the system decide (B§19-1, D§20-1, D§21-1).
# law: B19-1.auto-only-portal-proactive, D21-1.auto-only-general-illness-work-injury
AUTOMATED_CHANNELS = frozenset({"portal", "proactive"})


class Registries(Protocol):
    """The registries behind the e-government gateway, as the rules need them."""

    async def person(self, iin: str) -> Record | None: ...
    async def death(self, iin: str) -> Record | None: ...
    async def recipient_periods(self, iin: str) -> list[Record]: ...
    async def bank_accounts(self, iin: str) -> list[Record]: ...
    async def legal_entity(self, bin_: str) -> Record | None: ...
    async def disabilities(self, iin: str) -> list[Record]: ...
    async def births(self, iin: str) -> list[Record]: ...
    async def marriages(self, iin: str) -> list[Record]: ...
    async def adoptions(self, iin: str) -> list[Record]: ...
    async def guardianships(self, iin: str) -> list[Record]: ...
    async def studies(self, iin: str) -> list[Record]: ...
    async def court_declarations(self, iin: str) -> list[Record]: ...


@dataclass(frozen=True)
class Evaluation:
    """The result of one benefit's rules on one case (the body of eligibility.checked)."""

    eligible: bool
    automated: bool
    reasons: tuple[Record, ...] = ()
    requested_documents: tuple[Record, ...] = ()
    facts: Record = field(default_factory=dict)
    explanation: tuple[RuleResult, ...] = ()


class Explanation:
    """Collects the explanation lines and the reasons of one evaluation, in the order the rules ran."""

    def __init__(self) -> None:
        self.lines: list[RuleResult] = []
        self.reasons: list[Record] = []
        self.requested: list[Record] = []

    def rule(self, rule: str, paragraph: str, passed: bool, subject: str | None = None, *,
             obligations: tuple[str, ...] = (), **facts: Any) -> bool:
        """One checked rule; ``obligations`` are the law map's ids it applies (RuleResult.obligations)."""
        outcome: Literal["pass", "fail"] = "pass" if passed else "fail"
        self.lines.append(RuleResult(rule=rule, paragraph=paragraph, outcome=outcome, facts=facts, subject=subject,
                                     obligations=obligations))
        return passed

    def value(self, rule: str, paragraph: str, subject: str | None = None, *,
              obligations: tuple[str, ...] = (), **facts: Any) -> None:
        """One value the rules found (no pass or fail), with the obligations it applies."""
        self.lines.append(RuleResult(rule=rule, paragraph=paragraph, outcome="value", facts=facts, subject=subject,
                                     obligations=obligations))

    def refuse(self, code: str, subject: str | None = None) -> None:
        item = reason(code, subject)
        if item not in self.reasons:
            self.reasons.append(item)

    def request(self, doc_type: str, about: str | None, why: str, paragraph: str) -> None:
        item = {"type": doc_type, "about": about, "reason": why, "paragraph": paragraph}
        if item not in self.requested:
            self.requested.append(item)


def iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


def parse_day(value: Any) -> date | None:
    """An ISO date from a registry answer or a document's facts; None when absent or malformed."""
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


def in_force(start: date | None, end: date | None, on: date) -> bool:
    """A record valid from ``start`` to ``end`` inclusive (None: open) covers ``on``."""
    return start is not None and start <= on and (end is None or on <= end)


def documents_of(application: ApplicationData, types: Iterable[str], about: str | None = None) -> list[DocumentRef]:
    """The application's documents of these types; with ``about``, those about that person (or about nobody named)."""
    wanted = set(types)
    return [d for d in application.documents if d.type in wanted and (about is None or d.about in (about, None))]


def documents_about(application: ApplicationData, types: Iterable[str], iin: str) -> list[DocumentRef]:
    """The application's documents of these types about exactly this person (about None: the applicant)."""
    wanted = set(types)
    return [
        d for d in application.documents
        if d.type in wanted and (d.about == iin or (d.about is None and iin == application.applicant.iin))
    ]


# Project decision (Trust boundaries, payee safety): the system pays by itself only to an account the banks'
# registry shows as the applicant's own; any other account is paid only after a specialist looked at it.
PAYEE_SAFETY = "project decision: the automatic path pays only to the applicant's own account (banks' registry)"


async def applicant_accounts(registries: Registries, application: ApplicationData) -> list[Record]:
    """The banks' registry's accounts of the applicant: to pay to when the application names no IBAN, and on the
    automatic path to check that the IBAN given is the applicant's own (PAYEE_SAFETY)."""
    if not _accounts_asked(application) or not application.applicant.iin:
        return []
    return await registries.bank_accounts(application.applicant.iin)


def payee_iban(application: ApplicationData, accounts: list[Record]) -> str | None:
    """The application's IBAN, else the first account the banks' registry knows for the applicant."""
    if application.iban:
        return application.iban
    first = accounts[0].get("iban") if accounts else None
    return first if isinstance(first, str) else None


def _accounts_asked(application: ApplicationData) -> bool:
    return bool(application.applicant.iin) and (not application.iban or application.channel in AUTOMATED_CHANNELS)


def account_owned(application: ApplicationData, accounts: list[Record]) -> bool | None:
    """PAYEE_SAFETY: whether the banks' registry lists the account paid to among the applicant's own.

    None when there is no account, or the registry was not asked (a desk case naming its IBAN, a legal entity).
    """
    iban = payee_iban(application, accounts)
    if iban is None or not _accounts_asked(application):
        return None
    normalised = iban.replace(" ", "").upper()
    return any(str(a.get("iban") or "").replace(" ", "").upper() == normalised for a in accounts)


def explain_payee(out: Explanation, *, owned: bool | None, from_application: bool, obligations: tuple[str, ...]) -> bool:
    """PAYEE_SAFETY as an explanation line; True when the automatic path may pay this account.

    ``obligations``: the benefit's payee-safety decision. [law: B19-1.payee-safety, D21-1.payee-safety]
    """
    return out.rule("payee_account_owned", PAYEE_SAFETY, owned is True, obligations=obligations, account_in_banks_registry=owned,
                    account_source="application" if from_application else "banks_registry")
