"""The benefit seam of the payment queue: one policy per benefit, looked up by the benefit's name."""

from __future__ import annotations

from common.benefits import PolicyRegistry
from services.payment_queue.domain import burial, disability, survivor
from services.payment_queue.domain.model import PaymentPolicy

POLICIES: PolicyRegistry[PaymentPolicy] = PolicyRegistry(
    "payment_queue",
    {
        "burial": burial.POLICY,
        "disability": disability.POLICY,
        "survivor": survivor.POLICY,
    },
)
policy_for = POLICIES.of
