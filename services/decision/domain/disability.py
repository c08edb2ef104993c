"""Disability benefit: ПМ on the application day × multiple(cause, group), monthly (D§4, D§20-1, D§24)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from common.events import RuleResult
from common.law.params import (
    AUTO_CHANNELS,
    ParameterMissing,
    disability_monthly_kzt,
    disability_multiplier,
    retro_months,
    subsistence_minimum_kzt,
    value_on,
)
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
from services.decision.domain.periods import age_on, capped_start, months_before

# The disability registry (ЦБДИ) names causes one way, the amount parameters another (facts.md Amounts).
REGISTRY_CAUSES = {"general_illness": "general_illness", "work_injury": "work_injury", "childhood": "from_childhood"}
CHILD_YOUNGER_THAN = 7  # facts.md Amounts: "child under 7" has its own multiple, 7–18 that of "from childhood"


def parameter_cause(cause: str | None, birth_date: date | None, on: date) -> str | None:
    """facts.md Amounts: the parameter's cause for the registry's; a disabled child by age on the application day.

    None when it cannot be told (no cause, or a child without a birth date): the amount is then unknown.
    """
    if cause == "child":
        if birth_date is None:
            return None
        return "child_under_7" if age_on(birth_date, on) < CHILD_YOUNGER_THAN else "from_childhood"
    return REGISTRY_CAUSES.get(cause or "")


class DisabilityPolicy:
    amount_kind: AmountKind = "monthly"
    refusal_paragraph: str = "D-Std p.9"
    grounds_law: Mapping[int, str] = {1: "D-Std9.ground1.unreliable", 2: "D-Std9.ground2.requirements-not-met", 3: "D-Std9.ground3.no-consent"}
    refusal_law: tuple[str, ...] = ("D21-1.auto-refusal-missing-data",)
    approval_law: tuple[str, ...] = ("D21-1.auto-draft-approve-eds",)

    def assess(self, case: Case) -> Assessment:
        """D§4, D§24: monthly ПМ × multiple from max(established_on, applied − 3 months). [law: D4.period-start-cap]"""
        established = fact_date(case.facts, "established_on")
        if established is None:
            raise CannotAssign("the case file has no date the disability was established")
        on = case.received_on
        months = retro_months("disability", on)
        period_start = capped_start(established, on, months)
        period = RuleResult(
            rule="period_start",
            paragraph="D§4, D§24",
            outcome="value",
            obligations=("D4.period-start-cap",),
            facts={
                "period_start": period_start.isoformat(),
                "established_on": established.isoformat(),
                "received_on": on.isoformat(),
                "retro_months": months,
                "earliest": months_before(on, months).isoformat(),
            },
        )
        amount, amount_line = self._amount(case, on)
        return Assessment(amount, self.amount_kind, period_start, (amount_line, period))

    def _amount(self, case: Case, on: date) -> tuple[int | None, RuleResult]:
        """facts.md Amounts: ПМ on the application day × multiple; unknown (None) rather than guessed."""
        cause = case.facts.get("cause")
        raw_group = case.facts.get("group")
        group = int(raw_group) if raw_group in (1, 2, 3, "1", "2", "3") else None
        mapped = parameter_cause(cause, fact_date(case.facts, "applicant_birth_date"), on)
        facts: dict[str, object] = {"amount_kind": self.amount_kind, "cause": cause, "group": group,
                                    "parameter_cause": mapped, "on": on.isoformat()}
        try:
            if mapped is None or group is None:
                raise LookupError("cause or group of disability not known")
            multiple = disability_multiplier(mapped, group, on)
            minimum = value_on("subsistence_minimum", on)
            amount: int | None = disability_monthly_kzt(mapped, group, on)
            facts |= {"amount_kzt": amount, "subsistence_minimum_kzt": subsistence_minimum_kzt(on),
                      "multiple": str(multiple.value), "sources": [minimum.source, multiple.source]}
        except (ParameterMissing, LookupError) as missing:
            # Project decision: never guess an amount; a specialist decides and enters it.
            amount = None
            facts |= {"amount_kzt": None, "unknown_because": str(missing), "entered_by": "specialist"}
        return amount, RuleResult(rule="amount", paragraph="D§24; Social Code art. 177", outcome="value", facts=facts)

    def signer_line(self, case: Case, assessment: Assessment | None) -> RuleResult:
        """D§20-1, D§21-1: the system signs an automated case whose amount is a verified parameter, with an account.

        [law: D21-1.auto-only-general-illness-work-injury, D21-1.payee-safety]
        """
        law = ("D21-1.auto-only-general-illness-work-injury",)
        safety = law + ("D21-1.payee-safety",)
        if not (case.checks.automated and case.application.channel in AUTO_CHANNELS):
            return signer_line(auto=False, paragraph="D§20-1, D§21-1", why="not on the automated path", obligations=law)
        if assessment is not None and not assessment.amount_known:
            return signer_line(auto=False, paragraph="D§20-1, D§21-1", why="no verified amount: a specialist enters it",
                               obligations=safety)
        if assessment is not None and case.payee_iban is None:
            return signer_line(auto=False, paragraph="D§20-1, D§21-1", why="no bank account to pay to", obligations=safety)
        gaps = payee_safety_gaps(case, kinship_needed=False) if assessment is not None else ()
        if gaps:
            return signer_line(auto=False, paragraph=f"D§20-1, D§21-1; {PAYEE_SAFETY}", why="; ".join(gaps),
                               obligations=safety)
        return signer_line(auto=True, paragraph="D§20-1, D§21-1", why="automated path", obligations=law)


POLICY = DisabilityPolicy()
