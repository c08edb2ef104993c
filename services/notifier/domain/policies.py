"""The benefit seam of the notifier: one policy per benefit, looked up by the benefit's name."""

from __future__ import annotations

from collections.abc import Mapping

from services.notifier.domain import burial, disability, survivor
from services.notifier.domain.model import NoticePolicy

POLICIES: Mapping[str, NoticePolicy] = {
    "burial": burial.POLICY,
    "disability": disability.POLICY,
    "survivor": survivor.POLICY,
}


def policy_for(benefit: str) -> NoticePolicy:
    """The benefit's notice policy; KeyError names a benefit with no policy module."""
    try:
        return POLICIES[benefit]
    except KeyError:
        raise KeyError(f"no notice policy for benefit {benefit!r}") from None
