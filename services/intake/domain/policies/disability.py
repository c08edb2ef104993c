"""State social disability benefit at intake (D§4, D§15, D§24, D-Std p.2, p.3, p.7)."""

from __future__ import annotations

from collections.abc import Sequence

from common.law.params import AUTO_CHANNELS
from services.intake.domain.policies.base import Claim, IntakePolicy
from services.intake.domain.requests import DisabilityApplication


class DisabilityPolicy(IntakePolicy):
    name = "disability"
    number_prefix = "DIS"
    request_model = DisabilityApplication
    channel_paragraph = "D-Std p.2"
    standard = "D-Std"
    after_hours_moves = True  # D-Std p.7: after 18:00 or on a day off -> the next working day; law: D-Std7.after-hours-next-working-day
    auto_term_channels = AUTO_CHANNELS  # D§20-1, D§21-1: 1 working day until the checks say otherwise; law: D24.term-1wd-auto
    conflict_assigned = "already_receiving"
    conflict_filed = "application_in_progress"

    def claims(self, *, applicant_iin: str | None, deceased_iin: str | None, dependants: Sequence[str]) -> list[Claim]:
        """Project decision (cited as D§4): one disability benefit per person; one application in progress at a time.

        [law: D4.one-benefit-per-person]
        """
        return [Claim(f"disability:{applicant_iin}", applicant_iin)]


POLICY = DisabilityPolicy()
