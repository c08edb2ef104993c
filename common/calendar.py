"""Kazakhstan working-day calendar kept as data, and the deadline arithmetic on it.

Sources: docs/facts.md "Calendar" (Law No. 267-II "On holidays", Labour Code art. 85)
and "Deadline arithmetic"; each Std p.7 (after hours / day off -> next working day).
Observed days off per year live in ``common/law/calendar_kz.json``; a year without data is
computed by rule alone and every answer about it is marked provisional.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from functools import cache
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

REGISTRATION_CUTOFF = time(18, 0)  # facts.md Deadline arithmetic: received before 18:00 Asia/Almaty; law: D-Std7.after-hours-next-working-day
_UTC_PLUS_5 = timedelta(hours=5)  # single Kazakhstan zone since 1 March 2024
_ZONE_PROBE = datetime(2026, 1, 15, 12, 0, tzinfo=timezone.utc)
_MAX_SCAN_DAYS = 366  # no real calendar has a year-long run of days off
_DATA_FILE = "calendar_kz.json"


def almaty_offset_ok(zone: tzinfo) -> bool:
    """True when ``zone`` gives UTC+5 after 1 March 2024 (Kazakhstan's single zone; tzdata >= 2024a)."""
    return _ZONE_PROBE.astimezone(zone).utcoffset() == _UTC_PLUS_5


def _system_almaty() -> tzinfo:
    """Asia/Almaty from the system tz database (or the tzdata package when the system has none)."""
    return ZoneInfo("Asia/Almaty")


def _tzdata_almaty() -> tzinfo:
    """Asia/Almaty read explicitly from the ``tzdata`` pip package (for an outdated system database)."""
    with resources.files("tzdata").joinpath("zoneinfo/Asia/Almaty").open("rb") as fh:
        return ZoneInfo.from_file(fh, key="Asia/Almaty")


def load_almaty(loaders: Iterable[Callable[[], tzinfo]] = (_system_almaty, _tzdata_almaty)) -> tzinfo:
    """First Asia/Almaty zone with the correct UTC+5 offset; RuntimeError rather than a wrong offset."""
    for loader in loaders:
        try:
            zone = loader()
        except (ImportError, OSError, ValueError):
            continue
        if almaty_offset_ok(zone):
            return zone
    raise RuntimeError(
        "Asia/Almaty must be UTC+5 since 1 March 2024: update the system tz database "
        "or install the 'tzdata' package (>= 2024a)"
    )


ALMATY: tzinfo = load_almaty()


@dataclass(frozen=True)
class FixedHoliday:
    """A fixed-date public holiday (Law No. 267-II); ``moves`` if a Sat/Sun occurrence moves on."""

    month: int
    day: int
    name: str
    moves: bool = True


@dataclass(frozen=True)
class OpenQuestion:
    """A loaded day whose status is not verified (facts.md '?')."""

    date: date
    question: str


@dataclass(frozen=True)
class YearData:
    """Observed days off and working Saturdays/Sundays of one year, with their source."""

    year: int
    days_off: frozenset[date]
    working_days: frozenset[date]
    source: str
    unverified: tuple[OpenQuestion, ...] = ()

    def __post_init__(self) -> None:
        """Reject dates outside the year and a day that is both off and working."""
        for d in self.days_off | self.working_days:
            if d.year != self.year:
                raise ValueError(f"{d} does not belong to year {self.year}")
        if self.days_off & self.working_days:
            raise ValueError(f"{self.year}: a day cannot be both a day off and a working day")


@dataclass(frozen=True)
class DueDate:
    """A deadline; ``provisional`` when a counted day lies in a year without loaded calendar data."""

    date: date
    provisional: bool


def _is_weekend(d: date) -> bool:
    """Saturday or Sunday (Labour Code: working week Monday-Friday)."""
    return d.weekday() >= 5


class WorkingCalendar:
    """Working days: loaded year data where present, else the rule (provisional)."""

    def __init__(self, fixed_holidays: Iterable[FixedHoliday], years: Iterable[YearData] = ()) -> None:
        """Build from the fixed holidays (rule) and the per-year observed data."""
        self._fixed = tuple(fixed_holidays)
        self._years: dict[int, YearData] = {}
        for data in years:
            if data.year in self._years:
                raise ValueError(f"year {data.year} loaded twice")
            self._years[data.year] = data
        self._rule_cache: dict[int, frozenset[date]] = {}

    @property
    def loaded_years(self) -> tuple[int, ...]:
        """Years whose observed days off are loaded as data."""
        return tuple(sorted(self._years))

    def year_data(self, year: int) -> YearData | None:
        """Loaded data for ``year`` (source, open questions), or None."""
        return self._years.get(year)

    def is_provisional(self, d: date) -> bool:
        """True when ``d``'s year has no loaded data (facts.md: rule only, must be marked provisional)."""
        return d.year not in self._years

    def rule_days_off(self, year: int) -> frozenset[date]:
        """Weekday days off by rule alone: fixed holidays plus Sat/Sun holidays moved to the next working day.

        facts.md Calendar: a holiday on a day off moves to the next working day, except 7 Jan and
        Kurban ait; Kurban ait and Government transfers are unknown without year data.
        """
        cached = self._rule_cache.get(year)
        if cached is not None:
            return cached
        dated = sorted((date(year, h.month, h.day), h) for h in self._fixed)
        off = {d for d, _ in dated}
        for d, holiday in dated:
            if holiday.moves and _is_weekend(d):
                moved = d + timedelta(days=1)
                while _is_weekend(moved) or moved in off:
                    moved += timedelta(days=1)
                off.add(moved)
        result = frozenset(d for d in off if not _is_weekend(d))
        self._rule_cache[year] = result
        return result

    def is_working_day(self, d: date) -> bool:
        """Mon-Fri and not a day off, or a Sat/Sun declared a working day (facts.md Calendar)."""
        data = self._years.get(d.year)
        if data is None:
            return not _is_weekend(d) and d not in self.rule_days_off(d.year)
        if d in data.working_days:
            return True
        return not _is_weekend(d) and d not in data.days_off

    def next_working_day(self, d: date) -> date:
        """The first working day strictly after ``d``."""
        current = d
        for _ in range(_MAX_SCAN_DAYS):
            current += timedelta(days=1)
            if self.is_working_day(current):
                return current
        raise RuntimeError(f"no working day within {_MAX_SCAN_DAYS} days after {d}")

    def add_working_days(self, d: date, n: int) -> date:
        """The ``n``-th working day strictly after ``d`` (n >= 1; Civil Code: a period runs from the next day)."""
        if n < 1:
            raise ValueError("n must be >= 1")
        current = d
        for _ in range(n):
            current = self.next_working_day(current)
        return current

    def registration_day(self, received_at: datetime, *, after_hours_moves: bool = True) -> date:
        """facts.md Deadline arithmetic / each Std p.7: same day if working and before 18:00 Almaty, else next working day.

        ``after_hours_moves=False``: only a day off moves the registration, never the hour
        (S-Std p.7; the burial standard by project decision, domain.md). An application is taken at any hour.
        [law: D-Std7.after-hours-next-working-day, S-Std7.day-off-next-working-day, B-Std7.day-off-next-working-day,
        B-Std7.portal-around-the-clock, D-Std7.portal-around-the-clock, S-Std7.portal-around-the-clock]
        """
        if received_at.tzinfo is None or received_at.utcoffset() is None:
            raise ValueError("received_at must be timezone-aware")
        local = received_at.astimezone(ALMATY)
        day = local.date()
        if self.is_working_day(day) and (not after_hours_moves or local.time() < REGISTRATION_CUTOFF):
            return day
        return self.next_working_day(day)

    def due_by(self, registered_on: date, working_days: int) -> DueDate:
        """facts.md Deadline arithmetic: the N-th working day after registration; provisional if any counted day is."""
        due = self.add_working_days(registered_on, working_days)
        counted = (registered_on + timedelta(days=i) for i in range(1, (due - registered_on).days + 1))
        provisional = any(self.is_provisional(d) for d in counted)
        return DueDate(date=due, provisional=provisional)


def _parse_date(value: str) -> date:
    """ISO date from the data file."""
    return date.fromisoformat(value)


def calendar_from_data(raw: Mapping[str, Any]) -> WorkingCalendar:
    """Build a WorkingCalendar from the JSON structure of ``common/law/calendar_kz.json``."""
    fixed = [
        FixedHoliday(h["month"], h["day"], h["name"], bool(h.get("moves", True)))
        for h in raw["rules"]["fixed_holidays"]
    ]
    years = []
    for year, entry in raw["years"].items():
        years.append(
            YearData(
                year=int(year),
                days_off=frozenset(_parse_date(x["date"]) for x in entry["days_off"]),
                working_days=frozenset(_parse_date(x["date"]) for x in entry.get("working_days", [])),
                source=entry["source"],
                unverified=tuple(
                    OpenQuestion(_parse_date(q["date"]), q["question"]) for q in entry.get("unverified", [])
                ),
            )
        )
    return WorkingCalendar(fixed, years)


def load_calendar_data() -> dict[str, Any]:
    """The raw calendar data shipped with the package (common/law/calendar_kz.json)."""
    text = resources.files("common.law").joinpath(_DATA_FILE).read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


@cache
def default_calendar() -> WorkingCalendar:
    """The Kazakhstan calendar built from the loaded data (built once, on first use)."""
    return calendar_from_data(load_calendar_data())
