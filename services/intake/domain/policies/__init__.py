"""The benefit seam of intake: one policy per benefit, looked up by the benefit's name (docs/benefits.md)."""

from __future__ import annotations

from collections.abc import Mapping

from services.intake.domain.policies import burial, disability, survivor
from services.intake.domain.policies.base import Claim, IntakePolicy, Term

POLICIES: Mapping[str, IntakePolicy] = {
    "burial": burial.POLICY,
    "disability": disability.POLICY,
    "survivor": survivor.POLICY,
}


def policy_for(benefit: str) -> IntakePolicy:
    """The benefit's intake policy; KeyError names a benefit with no policy module."""
    try:
        return POLICIES[benefit]
    except KeyError:
        raise KeyError(f"no intake policy for benefit {benefit!r}") from None


__all__ = ["POLICIES", "Claim", "IntakePolicy", "Term", "policy_for"]
