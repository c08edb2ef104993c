"""The benefit seam of the notifier: one policy per benefit, looked up by the benefit's name."""

from __future__ import annotations

from common.benefits import PolicyRegistry
from services.notifier.domain import burial, disability, survivor
from services.notifier.domain.model import NoticePolicy

POLICIES: PolicyRegistry[NoticePolicy] = PolicyRegistry(
    "notifier",
    {
        "burial": burial.POLICY,
        "disability": disability.POLICY,
        "survivor": survivor.POLICY,
    },
)
policy_for = POLICIES.of
