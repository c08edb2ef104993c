"""The benefit seam of the decision service: one policy per benefit, looked up by the benefit's name."""

from __future__ import annotations

from common.benefits import PolicyRegistry
from services.decision.domain import burial, disability, survivor
from services.decision.domain.model import BenefitPolicy

POLICIES: PolicyRegistry[BenefitPolicy] = PolicyRegistry(
    "decision",
    {
        "burial": burial.POLICY,
        "disability": disability.POLICY,
        "survivor": survivor.POLICY,
    },
)
policy_for = POLICIES.of
