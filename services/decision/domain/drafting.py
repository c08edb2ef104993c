"""Drafting a decision from the case file, whatever the benefit: pure (B§19-1, D§20-1, S§24)."""

from __future__ import annotations

from common.events import RuleResult
from services.decision.domain.model import CannotAssign, Case, Draft
from services.decision.domain.policies import policy_for


def ready_to_draft(case: Case) -> bool:
    """D§7, S§7: a case waiting for documents is not decided; the next round of checks is.

    [law: D7.documents-when-registry-lacks, S6.documents-when-registry-lacks]
    """
    return not case.checks.requested_documents


def draft(case: Case) -> Draft:
    """Assign at the policy's amount and period, or refuse with the grounds the checks found.

    An eligible case keeps the checks' reasons: for a survivor they name the listed persons who are not
    dependants (S-Std p.9 ground 2) while the others are assigned.
    [law: B19-1.auto-draft-decision, B19-1.auto-refusal-missing-data, D21-1.auto-draft-approve-eds,
    D21-1.auto-refusal-missing-data, S-Std9.ground2.requirements-not-met]
    """
    policy = policy_for(case.checks.benefit)
    explanation = tuple(case.checks.explanation)
    if not case.checks.eligible:
        signer = policy.signer_line(case, None)
        grounds = tuple(dict.fromkeys(policy.grounds_law[r.ground] for r in case.checks.reasons if r.ground is not None))
        line = RuleResult(rule="outcome", paragraph=policy.refusal_paragraph, outcome="value",
                          facts={"outcome": "refuse", "reasons": [r.code for r in case.checks.reasons]},
                          obligations=policy.refusal_law + grounds)
        return Draft(
            outcome="refuse",
            amount_kzt=0,
            amount_kind=policy.amount_kind,
            period_start=None,
            reasons=case.checks.reasons,
            auto_sign=signer.facts["signer"] == "system",
            explanation=explanation + (line, signer),
            approval_law=policy.approval_law,
        )
    try:
        assessment = policy.assess(case)
    except CannotAssign as missing:
        # Eligibility never passes without these facts; a broken event must fail loudly, not become a refusal.
        raise ValueError(f"an eligible {case.checks.benefit} case is incomplete: {missing}") from missing
    signer = policy.signer_line(case, assessment)
    return Draft(
        outcome="assign",
        amount_kzt=assessment.amount_kzt or 0,
        amount_kind=assessment.amount_kind,
        period_start=assessment.period_start,
        reasons=case.checks.reasons,
        auto_sign=signer.facts["signer"] == "system",
        amount_known=assessment.amount_known,
        explanation=explanation + assessment.lines + (signer,),
        approval_law=policy.approval_law,
    )
