"""Burial payment: 35 MCI at the MCI in force on the date of death, one-time (B§19-1; facts.md Amounts)."""

from __future__ import annotations

from collections.abc import Mapping

from common.events import RuleResult
from common.law.params import AUTO_CHANNELS, burial_amount_kzt, int_on, value_on
from services.decision.domain.model import (
    PAYEE_SAFETY,
    AmountKind,
    Assessment,
    CannotAssign,
    Case,
    fact_date,
    payee_safety_gaps,
    signer_line,
)


class BurialPolicy:
    amount_kind: AmountKind = "one_time"
    refusal_paragraph: str = "B-Std p.9"
    grounds_law: Mapping[int, str] = {1: "B-Std9.ground1.unreliable", 2: "B-Std9.ground2.requirements-not-met", 3: "B-Std9.ground3.no-consent"}
    refusal_law: tuple[str, ...] = ("B19-1.auto-refusal-missing-data",)
    approval_law: tuple[str, ...] = ("B19-1.auto-approve-eds",)

    def assess(self, case: Case) -> Assessment:
        """B§19-1, facts.md Amounts: 35 MCI at the MCI in force on the date of death; no period. [law: B19-1.amount-35-mci]"""
        died = fact_date(case.facts, "date_of_death")
        if died is None:
            raise CannotAssign("the case file has no confirmed date of death to compute the amount from")
        amount = burial_amount_kzt(died)
        mci, multiple = value_on("mci", died), value_on("burial.mci_multiple", died)
        line = RuleResult(
            rule="amount",
            paragraph="B§19-1",
            outcome="value",
            obligations=("B19-1.amount-35-mci",),
            facts={
                "amount_kzt": amount,
                "amount_kind": self.amount_kind,
                "mci_kzt": int_on("mci", died),
                "multiple": str(multiple.value),
                "date_of_death": died.isoformat(),
                "sources": [mci.source, multiple.source],
            },
        )
        return Assessment(amount, self.amount_kind, None, (line,))

    def signer_line(self, case: Case, assessment: Assessment | None) -> RuleResult:
        """B§19-1: portal and proactive cases are approved by the system; desk cases by a specialist.

        An assignment (``assessment`` given) is also held to PAYEE_SAFETY: the applicant's own account and kinship.
        [law: B19-1.auto-only-portal-proactive, B19-1.payee-safety]
        """
        law = ("B19-1.auto-only-portal-proactive",)
        if case.application.channel not in AUTO_CHANNELS:
            return signer_line(auto=False, paragraph="B§19-1", why="application at a desk: a specialist decides", obligations=law)
        gaps = payee_safety_gaps(case, kinship_needed=True) if assessment is not None else ()
        if gaps:
            return signer_line(auto=False, paragraph=f"B§19-1; {PAYEE_SAFETY}", why="; ".join(gaps),
                               obligations=law + ("B19-1.payee-safety",))
        if not case.checks.automated:
            return signer_line(auto=False, paragraph="B§19-1", why="the checks did not clear the automatic path",
                               obligations=law + ("B19-1.payee-safety",))
        return signer_line(auto=True, paragraph="B§19-1", why="portal or proactive application", obligations=law)


POLICY = BurialPolicy()
