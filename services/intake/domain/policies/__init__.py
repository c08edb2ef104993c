"""The benefit seam of intake: one policy per benefit, looked up by the benefit's name (docs/benefits.md)."""

from __future__ import annotations

from common.benefits import PolicyRegistry
from services.intake.domain.policies import burial, disability, survivor
from services.intake.domain.policies.base import Claim, IntakePolicy, Term

POLICIES: PolicyRegistry[IntakePolicy] = PolicyRegistry(
    "intake",
    {
        "burial": burial.POLICY,
        "disability": disability.POLICY,
        "survivor": survivor.POLICY,
    },
)
policy_for = POLICIES.of


__all__ = ["POLICIES", "Claim", "IntakePolicy", "Term", "policy_for"]
