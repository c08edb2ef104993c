"""Loss-of-breadwinner benefit at intake (S§7, S§14, S§24, S-Std p.2, p.7)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from services.intake.domain.policies.base import Claim, IntakePolicy
from services.intake.domain.requests import SurvivorApplication


class SurvivorPolicy(IntakePolicy):
    name = "survivor"
    number_prefix = "SUR"
    request_model = SurvivorApplication
    channel_paragraph = "S-Std p.2"
    standard = "S-Std"
    after_hours_moves = False  # S-Std p.7: only days off and holidays move it; law: S-Std7.day-off-next-working-day
    required = (
        (("deceased_iin",), "required for the survivor benefit"),
        (("dependants",), "list who the survivor benefit is claimed for (S§7)"),
    )
    conflict_assigned = "already_receiving"
    conflict_filed = "application_in_progress"

    def claims(self, *, applicant_iin: str | None, deceased_iin: str | None, dependants: Sequence[str]) -> list[Claim]:
        """Project decision (cited as S§7): each dependant of a deceased is claimed for once. [law: S7.one-claim-per-dependant]"""
        return [Claim(f"survivor:{deceased_iin}:{d}", d) for d in dependants]

    def claims_released_on_assignment(self, claims: Iterable[Claim], reasons: Iterable[tuple[str, str | None]]) -> list[str]:
        """S-Std p.9 ground 2: a listed person found not a dependant is not receiving; someone may claim them again.

        [law: S-Std9.ground2.requirements-not-met, S-Std9.reapply-after-cause-removed]
        """
        not_dependants = {subject for code, subject in reasons if code == "not_dependant" and subject}
        return [c.key for c in claims if c.subject in not_dependants]


POLICY = SurvivorPolicy()
