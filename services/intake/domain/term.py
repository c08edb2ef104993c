"""Registration day and due date of an application (facts.md "Deadline arithmetic"; B-Std p.3, D§24, S§24)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from common.calendar import DueDate, WorkingCalendar
from services.intake.domain.policies.base import IntakePolicy


def registration_day(calendar: WorkingCalendar, policy: IntakePolicy, received_at: datetime) -> date:
    """Each Std p.7: the day of registration; the benefit says whether the hour (after 18:00) moves it.

    [law: B-Std7.portal-around-the-clock, D-Std7.portal-around-the-clock, S-Std7.portal-around-the-clock]
    """
    return calendar.registration_day(received_at, after_hours_moves=policy.after_hours_moves)


@dataclass(frozen=True)
class Due:
    due: DueDate
    automated: bool  # True while the automated term (D§20-1, D§21-1) applies


def due_of(
    calendar: WorkingCalendar,
    policy: IntakePolicy,
    channel: str,
    *,
    registered_on: date,
    automated: bool,
    extension_days: int = 0,
) -> Due:
    """The N-th working day after registration, N = the benefit's term plus any documents extension.

    Adding the extension to the term equals adding it to the term's due date: both count working days
    strictly after the previous one (D-Std p.3, S-Std p.3).
    [law: B-Std3.term-state-corp-3wd, D24.term-7wd, S24.term-7wd, D-Std3.extension-5wd, S-Std3.extension-5wd,
    B-Std3.extension-5wd]
    """
    term = policy.term(channel, on=registered_on, automated=automated)
    return Due(calendar.due_by(registered_on, term.working_days + extension_days), term.automated)
