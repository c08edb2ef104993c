"""Burial payment at intake (B§5, B§13, B§16, B-Std p.2, p.3, p.7)."""

from __future__ import annotations

from collections.abc import Sequence

from services.intake.domain.policies.base import Claim, IntakePolicy
from services.intake.domain.requests import BurialApplication

# B§16: proactive with consent and desk applications are registered at once; portal ones after the B§13 checks.
# law: B16.proactive-auto-registration, B13.passed-to-incoming-journal
_REGISTER_ON_RECEIPT = frozenset({"proactive", "state_corp"})


class BurialPolicy(IntakePolicy):
    name = "burial"
    number_prefix = "BUR"
    request_model = BurialApplication
    channel_paragraph = "B-Std p.2"
    standard = "B-Std"
    legal_entity_may_apply = True  # B§5; law: B5.applicant-who-buried
    # Project decision (domain.md "Working time"): only days off move it. law: B-Std7.day-off-next-working-day
    after_hours_moves = False
    required = ((("deceased_iin",), "required for the burial benefit"),)
    conflict_assigned = "already_assigned"
    conflict_filed = "duplicate_application"

    def claims(self, *, applicant_iin: str | None, deceased_iin: str | None, dependants: Sequence[str]) -> list[Claim]:
        """B§13 checks 2 and 3: one live burial claim per deceased. [law: B13.check2.no-payment-assigned, B13.check3.no-application-filed]"""
        return [Claim(f"burial:{deceased_iin}")]

    def registers_on_receipt(self, channel: str) -> bool:
        """B§16: registered at once except on the portal, where the B§13 checks come first.

        [law: B16.proactive-auto-registration, B13.passed-to-incoming-journal]
        """
        return channel in _REGISTER_ON_RECEIPT


POLICY = BurialPolicy()
