"""Burial payment: 35 MCI at the MCI in force on the date of death, one-time (B§19-1; facts.md Amounts)."""

from __future__ import annotations

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

    def assess(self, case: Case) -> Assessment:
        """B§19-1, facts.md Amounts: 35 MCI at the MCI in force on the date of death; no period."""
        died = fact_date(case.facts, "date_of_death")
        if died is None:
            raise CannotAssign("the case file has no confirmed date of death to compute the amount from")
        amount = burial_amount_kzt(died)
        mci, multiple = value_on("mci", died), value_on("burial.mci_multiple", died)
        line = RuleResult(
            rule="amount",
            paragraph="B§19-1",
            outcome="value",
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
        """
        if case.application.channel not in AUTO_CHANNELS:
            return signer_line(auto=False, paragraph="B§19-1", why="application at a desk: a specialist decides")
        gaps = payee_safety_gaps(case, kinship_needed=True) if assessment is not None else ()
        if gaps:
            return signer_line(auto=False, paragraph=f"B§19-1; {PAYEE_SAFETY}", why="; ".join(gaps))
        if not case.checks.automated:
            return signer_line(auto=False, paragraph="B§19-1", why="the checks did not clear the automatic path")
        return signer_line(auto=True, paragraph="B§19-1", why="portal or proactive application")


POLICY = BurialPolicy()
