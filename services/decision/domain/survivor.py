"""Survivor benefit: ПМ on the application day × multiple(eligible dependants), monthly (S§24, S-Std p.2)."""

from __future__ import annotations

from collections.abc import Mapping

from common.events import RuleResult
from common.law.params import (
    retro_months,
    subsistence_minimum_kzt,
    survivor_monthly_kzt,
    survivor_multiplier,
    value_on,
)
from services.decision.domain.model import AmountKind, Assessment, CannotAssign, Case, fact_date, signer_line
from services.decision.domain.periods import capped_start, months_before


class SurvivorPolicy:
    amount_kind: AmountKind = "monthly"
    refusal_paragraph: str = "S-Std p.9"
    grounds_law: Mapping[int, str] = {1: "S-Std9.ground1.unreliable", 2: "S-Std9.ground2.requirements-not-met", 3: "S-Std9.ground3.no-consent"}
    refusal_law: tuple[str, ...] = ()
    approval_law: tuple[str, ...] = ()  # S-Std p.2: no automated path

    def assess(self, case: Case) -> Assessment:
        """S§24: the family's monthly amount by eligible dependants, from max(right arose, applied − 12 months).

        [law: S24.period-start-cap, S24.cap-counted-from-application-day]
        """
        dependants = [str(iin) for iin in case.facts.get("eligible_dependants") or ()]
        if not dependants:
            raise CannotAssign("no dependant in the case file is eligible")
        right_arose = fact_date(case.facts, "right_arose_on")
        if right_arose is None:
            raise CannotAssign("the case file has no date the right arose (death or court declaration)")
        on = case.received_on
        # Project decision: the cap counts back from the application day (for proactive, consent), as facts.md says.
        # law: S24.cap-counted-from-application-day
        months = retro_months("survivor", on)
        period_start = capped_start(right_arose, on, months)
        multiple, minimum = survivor_multiplier(len(dependants), on), value_on("subsistence_minimum", on)
        amount = survivor_monthly_kzt(len(dependants), on)
        lines = (
            RuleResult(
                rule="amount",
                paragraph="S§24; Social Code (loss of a breadwinner)",
                outcome="value",
                facts={
                    "amount_kzt": amount,
                    "amount_kind": self.amount_kind,
                    "dependants": len(dependants),
                    "eligible_dependants": dependants,
                    "subsistence_minimum_kzt": subsistence_minimum_kzt(on),
                    "multiple": str(multiple.value),
                    "on": on.isoformat(),
                    "sources": [minimum.source, multiple.source],
                },
            ),
            RuleResult(
                rule="period_start",
                paragraph="S§24",
                outcome="value",
                obligations=("S24.period-start-cap", "S24.cap-counted-from-application-day", "S24.right-arises"),
                facts={
                    "period_start": period_start.isoformat(),
                    "right_arose_on": right_arose.isoformat(),
                    "right_source": case.facts.get("right_source"),
                    "received_on": on.isoformat(),
                    "retro_months": months,
                    "earliest": months_before(on, months).isoformat(),
                },
            ),
        )
        return Assessment(amount, self.amount_kind, period_start, lines)

    def signer_line(self, case: Case, assessment: Assessment | None) -> RuleResult:
        """S-Std p.2: no automated path; every survivor decision is signed by a specialist. [law: S-Std2.specialist-signs]"""
        return signer_line(auto=False, paragraph="S-Std p.2", why="the survivor benefit has no automated path",
                           obligations=("S-Std2.specialist-signs",))


POLICY = SurvivorPolicy()
