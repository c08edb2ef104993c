"""Calendar-month arithmetic for retroactivity caps (D§4, D§24, S§24; facts.md Retroactivity)."""

from __future__ import annotations

import calendar
from datetime import date


def months_before(day: date, months: int) -> date:
    """`day` minus `months` calendar months, clamped to the month's last day (31 May − 3 months = 28/29 Feb)."""
    index = day.year * 12 + (day.month - 1) - months
    year, month = divmod(index, 12)
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def capped_start(right_from: date, applied_on: date, months: int) -> date:
    """D§4, D§24, S§24: from the day the right arose, but no more than `months` calendar months before applying."""
    return max(right_from, months_before(applied_on, months))


def age_on(birth: date, on: date) -> int:
    """Full years of age on `on` (a birthday counts from the day itself)."""
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))
