"""Calendar-month arithmetic for retroactivity caps (D§4, D§24, S§24; facts.md Retroactivity)."""

from __future__ import annotations

from datetime import date

from common.dates import age_on, months_before

__all__ = ["age_on", "capped_start", "months_before"]


def capped_start(right_from: date, applied_on: date, months: int) -> date:
    """D§4, D§24, S§24: from the day the right arose, but no more than `months` calendar months before applying.

    [law: D4.period-start-cap, S24.period-start-cap]
    """
    return max(right_from, months_before(applied_on, months))

