"""Working-day calendar (facts.md "Calendar", "Deadline arithmetic"; each Std p.7)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone, tzinfo

import pytest

from common.calendar import (
    ALMATY,
    DueDate,
    FixedHoliday,
    WorkingCalendar,
    YearData,
    almaty_offset_ok,
    calendar_from_data,
    default_calendar,
    load_almaty,
    load_calendar_data,
)

CAL = default_calendar()
UTC = timezone.utc


def almaty(y: int, m: int, d: int, hh: int, mm: int = 0) -> datetime:
    """A wall-clock instant in Asia/Almaty."""
    return datetime(y, m, d, hh, mm, tzinfo=ALMATY)


# --- time zone -------------------------------------------------------------------------

def test_almaty_is_utc_plus_5_since_march_2024() -> None:
    """facts.md Identifiers/time zone: Asia/Almaty; single UTC+5 zone since 1 Mar 2024."""
    assert datetime(2026, 1, 15, 12, tzinfo=UTC).astimezone(ALMATY).utcoffset() == timedelta(hours=5)
    assert datetime(2024, 3, 1, 12, tzinfo=UTC).astimezone(ALMATY).utcoffset() == timedelta(hours=5)


def test_offset_check_rejects_old_plus_6_zone() -> None:
    """An outdated tz database (Almaty still +06) must be detected, not used."""
    assert not almaty_offset_ok(timezone(timedelta(hours=6)))
    assert almaty_offset_ok(timezone(timedelta(hours=5)))


def test_load_almaty_falls_back_then_refuses() -> None:
    """load_almaty: skip a wrong or missing zone, take the next one; never return a wrong offset."""
    old = timezone(timedelta(hours=6))
    good = timezone(timedelta(hours=5))

    def missing() -> tzinfo:
        raise ModuleNotFoundError("tzdata")

    assert load_almaty([lambda: old, missing, lambda: good]) is good
    with pytest.raises(RuntimeError, match="UTC\\+5"):
        load_almaty([lambda: old, missing])


# --- working days in loaded years -------------------------------------------------------

@pytest.mark.parametrize(
    ("day", "working", "rule"),
    [
        (date(2025, 1, 3), False, "facts.md 2025: Fri 3 Jan off, moved from Sun 5 Jan"),
        (date(2025, 1, 5), True, "facts.md 2025: Sun 5 Jan is a working Sunday"),
        (date(2025, 1, 4), False, "Saturday 4 Jan 2025 stays a day off"),
        (date(2025, 1, 6), True, "Mon 6 Jan 2025 ordinary working day"),
        (date(2025, 1, 7), False, "7 Jan Orthodox Christmas"),
        (date(2025, 3, 10), False, "facts.md 2025: Mon 10 Mar for Sat 8 Mar"),
        (date(2025, 3, 21), False, "Nauryz 21 Mar 2025"),
        (date(2025, 3, 24), False, "Nauryz moved, 24 Mar 2025"),
        (date(2025, 3, 25), False, "Nauryz moved, 25 Mar 2025"),
        (date(2025, 3, 26), True, "Wed 26 Mar 2025 after Nauryz"),
        (date(2025, 6, 6), False, "facts.md 2025: Kurban ait 6 Jun"),
        (date(2025, 7, 7), False, "facts.md 2025: Mon 7 Jul for Sun 6 Jul"),
        (date(2025, 9, 1), False, "facts.md 2025: Mon 1 Sep for Sat 30 Aug"),
        (date(2025, 10, 27), False, "facts.md 2025: Mon 27 Oct for Sat 25 Oct"),
        (date(2025, 12, 16), False, "16 Dec Independence Day"),
        (date(2025, 12, 17), True, "17 Dec is no longer a holiday"),
        (date(2026, 1, 7), False, "7 Jan 2026 Orthodox Christmas"),
        (date(2026, 3, 9), False, "facts.md 2026: Mon 9 Mar for Sun 8 Mar"),
        (date(2026, 3, 20), True, "Fri 20 Mar 2026, Nauryz eve, working"),
        (date(2026, 3, 23), False, "facts.md calendar: 2026-03-23..25 Nauryz"),
        (date(2026, 3, 24), False, "facts.md calendar: 2026-03-23..25 Nauryz"),
        (date(2026, 3, 25), False, "facts.md calendar: 2026-03-23..25 Nauryz"),
        (date(2026, 3, 26), True, "Thu 26 Mar 2026 back to work"),
        (date(2026, 5, 11), False, "facts.md 2026: Mon 11 May for Sat 9 May"),
        (date(2026, 5, 27), False, "facts.md 2026: Kurban ait 27 May"),
        (date(2026, 8, 31), False, "facts.md 2026: Mon 31 Aug for Sun 30 Aug (unverified)"),
        (date(2026, 10, 26), False, "facts.md 2026: Mon 26 Oct for Sun 25 Oct"),
        (date(2026, 5, 9), False, "Saturday is a day off"),
    ],
)
def test_loaded_days(day: date, working: bool, rule: str) -> None:
    """facts.md Calendar: observed days off and working days of 2025 and 2026."""
    assert CAL.is_working_day(day) is working, rule
    assert not CAL.is_provisional(day)


def test_loaded_data_equals_rule_plus_published_transfers() -> None:
    """facts.md Calendar: loaded days off = rule result + Kurban ait + Government transfer (2025: 3 Jan)."""
    for year, extra in {2025: {date(2025, 1, 3), date(2025, 6, 6)}, 2026: {date(2026, 5, 27)}}.items():
        data = CAL.year_data(year)
        assert data is not None
        assert data.days_off == CAL.rule_days_off(year) | extra


def test_year_data_carries_source_and_open_questions() -> None:
    """facts.md Calendar: each year's data names its source; 2026 Aug 31 and 15 Mar are unverified."""
    for year in (2025, 2026):
        data = CAL.year_data(year)
        assert data is not None and "267-II" in data.source
    open_2026 = {q.date for q in CAL.year_data(2026).unverified}  # type: ignore[union-attr]
    assert open_2026 == {date(2026, 8, 31), date(2026, 3, 15)}
    assert CAL.year_data(2025).unverified == ()  # type: ignore[union-attr]


# --- rule mode (years without data) --------------------------------------------------------

@pytest.mark.parametrize(
    ("day", "working", "rule"),
    [
        (date(2028, 1, 3), False, "Jan 1 2028 Sat -> Mon 3 Jan (holiday on a day off moves)"),
        (date(2028, 1, 4), False, "Jan 2 2028 Sun -> Tue 4 Jan"),
        (date(2028, 1, 5), True, "Wed 5 Jan 2028 working"),
        (date(2028, 1, 7), False, "7 Jan 2028 Fri holiday"),
        (date(2034, 1, 9), True, "7 Jan 2034 on Saturday does not move (facts.md exception)"),
        (date(2029, 1, 8), True, "7 Jan 2029 on Sunday does not move (facts.md exception)"),
        (date(2034, 1, 3), False, "1 Jan 2034 Sun -> Tue 3 Jan (Mon 2 Jan is itself a holiday)"),
        (date(2027, 5, 3), False, "1 May 2027 Sat -> Mon 3 May"),
        (date(2027, 3, 8), False, "8 Mar 2027 Monday"),
        (date(2027, 3, 22), False, "Nauryz 22 Mar 2027 Monday"),
        (date(2027, 3, 24), False, "Nauryz 2027: 21 Mar Sun -> Wed 24 Mar after 22-23"),
        (date(2027, 3, 25), True, "Thu 25 Mar 2027 working"),
        (date(2027, 5, 10), False, "9 May 2027 Sun -> Mon 10 May"),
        (date(2027, 8, 30), False, "30 Aug 2027 Monday holiday by rule (unverified under the new Constitution)"),
    ],
)
def test_rule_mode_days(day: date, working: bool, rule: str) -> None:
    """facts.md Calendar: fixed holidays + move-to-next-working-day except 7 Jan; provisional."""
    assert CAL.is_working_day(day) is working, rule
    assert CAL.is_provisional(day)


def test_rule_mode_saturday_holiday_moves_to_monday() -> None:
    """facts.md Calendar rule: a holiday on Saturday moves to Monday (tiny calendar, no year data)."""
    cal = WorkingCalendar([FixedHoliday(6, 6, "test holiday")])  # 6 Jun 2026 is a Saturday
    assert date(2026, 6, 6).weekday() == 5
    assert not cal.is_working_day(date(2026, 6, 8))
    assert cal.is_working_day(date(2026, 6, 9))
    not_moving = WorkingCalendar([FixedHoliday(6, 6, "test holiday", moves=False)])
    assert not_moving.is_working_day(date(2026, 6, 8))


def test_rule_mode_reproduces_2025_apart_from_decree_and_kurban_ait() -> None:
    """Rule alone misses only the data-only days: Kurban ait and Government transfers."""
    raw = load_calendar_data()
    rule_only = calendar_from_data({"rules": raw["rules"], "years": {}})
    assert rule_only.is_working_day(date(2025, 1, 3))  # decree transfer unknown to the rule
    assert rule_only.is_working_day(date(2025, 6, 6))  # Kurban ait unknown to the rule
    assert not rule_only.is_working_day(date(2025, 1, 5))  # the working Sunday is unknown too
    assert rule_only.is_provisional(date(2025, 6, 6))


# --- registration day (facts.md Deadline arithmetic; each Std p.7) ------------------------

@pytest.mark.law(
    "B-Std7.portal-around-the-clock", "D-Std7.portal-around-the-clock", "S-Std7.portal-around-the-clock",
    "D-Std7.after-hours-next-working-day",
)
@pytest.mark.parametrize(
    ("received_at", "expected", "rule"),
    [
        (almaty(2026, 3, 20, 17, 59), date(2026, 3, 20), "each Std p.7: Friday 17:59 -> same day"),
        (almaty(2026, 3, 20, 18, 0), date(2026, 3, 26), "each Std p.7: 18:00 on Nauryz eve -> after 23..25 Mar"),
        (almaty(2026, 1, 16, 17, 59), date(2026, 1, 16), "Friday 17:59 -> that Friday"),
        (almaty(2026, 1, 16, 18, 0), date(2026, 1, 19), "each Std p.7: after 18:00 -> next working day (Monday)"),
        (almaty(2026, 1, 17, 10, 0), date(2026, 1, 19), "Saturday -> Monday"),
        (almaty(2026, 3, 23, 9, 0), date(2026, 3, 26), "on a holiday (Nauryz) -> next working day"),
        (almaty(2025, 1, 5, 10, 0), date(2025, 1, 5), "2025 working Sunday 5 Jan counts as a working day"),
        (almaty(2025, 1, 2, 23, 0), date(2025, 1, 5), "2 Jan 2025 evening -> working Sunday 5 Jan"),
        (almaty(2026, 1, 15, 0, 0), date(2026, 1, 15), "midnight counts as before 18:00"),
        (datetime(2026, 1, 16, 12, 59, tzinfo=UTC), date(2026, 1, 16), "12:59 UTC = 17:59 Almaty"),
        (datetime(2026, 1, 16, 13, 0, tzinfo=UTC), date(2026, 1, 19), "13:00 UTC = 18:00 Almaty"),
        (datetime(2026, 1, 15, 19, 30, tzinfo=UTC), date(2026, 1, 16), "19:30 UTC Thu = 00:30 Fri Almaty"),
    ],
)
def test_registration_day(received_at: datetime, expected: date, rule: str) -> None:
    """facts.md Deadline arithmetic: working day and before 18:00 Asia/Almaty, else next working day."""
    assert CAL.registration_day(received_at) == expected, rule


def test_registration_day_requires_aware_datetime() -> None:
    """A naive datetime has no defined Almaty time: refuse it."""
    with pytest.raises(ValueError, match="timezone-aware"):
        CAL.registration_day(datetime(2026, 1, 15, 12, 0))


# --- add_working_days / due_by ---------------------------------------------------------------

@pytest.mark.parametrize(
    ("start", "n", "expected", "rule"),
    [
        (date(2026, 3, 20), 1, date(2026, 3, 26), "due_by across Nauryz 2026: 1 day after Fri 20 Mar"),
        (date(2026, 3, 19), 3, date(2026, 3, 27), "3 days after Thu 19 Mar: 20, 26, 27"),
        (date(2026, 3, 18), 7, date(2026, 4, 1), "D§24 7 days from 18 Mar: 19,20,26,27,30,31,1 Apr"),
        (date(2025, 1, 2), 1, date(2025, 1, 5), "2025: the working Sunday is the next working day"),
        (date(2025, 1, 2), 2, date(2025, 1, 6), "2025: Sun 5, Mon 6 Jan"),
        (date(2026, 1, 16), 1, date(2026, 1, 19), "Friday + 1 -> Monday"),
        (date(2026, 12, 30), 2, date(2027, 1, 5), "31 Dec 2026; 1 Jan Fri, 2 Jan Sat -> Mon 4 Jan off (rule)"),
    ],
)
def test_add_working_days(start: date, n: int, expected: date, rule: str) -> None:
    """facts.md Deadline arithmetic: the N-th working day strictly after the start."""
    assert CAL.add_working_days(start, n) == expected, rule


def test_add_working_days_requires_positive_n() -> None:
    """'the N-th working day after' is undefined for N < 1."""
    with pytest.raises(ValueError):
        CAL.add_working_days(date(2026, 1, 15), 0)


@pytest.mark.parametrize(
    ("registered_on", "n", "expected"),
    [
        (date(2026, 3, 20), 1, DueDate(date(2026, 3, 26), False)),
        (date(2026, 3, 19), 7, DueDate(date(2026, 4, 2), False)),  # 20,26,27,30,31 Mar, 1,2 Apr
        (date(2026, 12, 29), 2, DueDate(date(2026, 12, 31), False)),
        (date(2026, 12, 29), 3, DueDate(date(2027, 1, 5), True)),
        (date(2027, 5, 10), 1, DueDate(date(2027, 5, 11), True)),
    ],
)
def test_due_by(registered_on: date, n: int, expected: DueDate) -> None:
    """facts.md Deadline arithmetic; 2027 data not loaded -> provisional (never silently)."""
    assert CAL.due_by(registered_on, n) == expected


def test_due_by_provisional_flag_for_2027() -> None:
    """facts.md Calendar: a year without data is computed by rule and marked provisional."""
    assert 2027 not in CAL.loaded_years
    assert CAL.due_by(date(2027, 2, 1), 3).provisional is True
    assert CAL.due_by(date(2026, 2, 2), 3).provisional is False


def test_year_data_rejects_inconsistent_entries() -> None:
    """Data errors are caught at load: a day both off and working, or in the wrong year."""
    with pytest.raises(ValueError):
        YearData(2025, frozenset({date(2025, 1, 5)}), frozenset({date(2025, 1, 5)}), "x")
    with pytest.raises(ValueError):
        YearData(2025, frozenset({date(2026, 1, 1)}), frozenset(), "x")


def test_default_calendar_is_cached() -> None:
    """default_calendar builds once and returns the same object."""
    assert default_calendar() is default_calendar()
