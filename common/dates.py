"""Calendar arithmetic the rules share: years, calendar months and ages (facts.md Retroactivity, S§7).

One definition for every service, so that "the 18th birthday" or "3 months back" means the same day
in eligibility and in decision. A 29 February birthday falls on 28 February in other years.
"""

from __future__ import annotations

import calendar
from datetime import date


def add_years(day: date, years: int) -> date:
    """Same day and month ``years`` later (or earlier); 29 February becomes 28 February."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def months_before(day: date, months: int) -> date:
    """``day`` minus ``months`` calendar months, clamped to the month's last day (31 May − 3 months = 28/29 Feb)."""
    index = day.year * 12 + (day.month - 1) - months
    year, month = divmod(index, 12)
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def age_on(birth: date, on: date) -> int:
    """Full years of age on ``on``: a birthday counts from its day (29 February: from 28 February)."""
    years = on.year - birth.year
    return years - (1 if on < add_years(birth, years) else 0)
