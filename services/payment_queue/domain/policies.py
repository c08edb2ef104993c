"""The benefit seam of the payment queue: one policy per benefit, looked up by the benefit's name."""

from __future__ import annotations

from collections.abc import Mapping

from services.payment_queue.domain import burial, disability, survivor
from services.payment_queue.domain.model import PaymentPolicy

POLICIES: Mapping[str, PaymentPolicy] = {
    "burial": burial.POLICY,
    "disability": disability.POLICY,
    "survivor": survivor.POLICY,
}


def policy_for(benefit: str) -> PaymentPolicy:
    """The benefit's payment policy; KeyError names a benefit with no policy module."""
    try:
        return POLICIES[benefit]
    except KeyError:
        raise KeyError(f"no payment policy for benefit {benefit!r}") from None
