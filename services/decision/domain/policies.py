"""The benefit seam of the decision service: one policy per benefit, looked up by the benefit's name."""

from __future__ import annotations

from collections.abc import Mapping

from services.decision.domain import burial, disability, survivor
from services.decision.domain.model import BenefitPolicy

POLICIES: Mapping[str, BenefitPolicy] = {
    "burial": burial.POLICY,
    "disability": disability.POLICY,
    "survivor": survivor.POLICY,
}


def policy_for(benefit: str) -> BenefitPolicy:
    """The benefit's decision policy; KeyError names a benefit with no policy module."""
    try:
        return POLICIES[benefit]
    except KeyError:
        raise KeyError(f"no decision policy for benefit {benefit!r}") from None
