"""The SLA view's arithmetic (services/intake/sla.py): due today is not late, yesterday is, and "today"
is the day in Asia/Almaty (UTC+5), not in UTC."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from common.calendar import default_calendar
from services.intake.sla import (
    DUE_NEXT_WORKING_DAY,
    DUE_TODAY,
    OVERDUE,
    Bucket,
    OverdueCase,
    almaty_today,
    per_benefit_channel,
    report,
    term_state,
)

# Monday 23 November 2026; the next working day is Tuesday 24.
TODAY = date(2026, 11, 23)
NEXT = date(2026, 11, 24)
AT = datetime(2026, 11, 10, 4, 0, tzinfo=timezone.utc)


def bucket(status: str, due_by: date | None, count: int = 1, *, benefit="burial", channel="portal", at=AT) -> Bucket:
    return Bucket(benefit, channel, status, due_by, count, at)


@pytest.mark.parametrize(
    ("due_by", "expected"),
    [
        (date(2026, 11, 22), OVERDUE),  # yesterday
        (date(2026, 11, 1), OVERDUE),
        (TODAY, DUE_TODAY),  # the last day of the term is not late
        (NEXT, DUE_NEXT_WORKING_DAY),
        (date(2026, 11, 25), None),
        (None, None),  # received, not registered yet
    ],
)
def test_term_state_boundaries(due_by, expected):
    assert term_state("awaiting_signature", due_by, today=TODAY, next_working_day=NEXT) == expected


def test_next_working_day_spans_a_weekend():
    friday, monday = date(2026, 11, 20), date(2026, 11, 23)
    assert term_state("registered", monday, today=friday, next_working_day=monday) == DUE_NEXT_WORKING_DAY
    assert term_state("registered", date(2026, 11, 24), today=friday, next_working_day=monday) is None


@pytest.mark.parametrize("status", ["assigned", "payment_queued"])
def test_a_decided_case_has_met_its_term(status):
    assert term_state(status, date(2026, 11, 1), today=TODAY, next_working_day=NEXT) is None


def test_today_is_the_day_in_almaty_not_in_utc():
    # 18:59:59 UTC is 23:59:59 in Almaty (UTC+5): still the 23rd; a second later it is the 24th there,
    # while UTC still says the 23rd.
    assert almaty_today(datetime(2026, 11, 23, 18, 59, 59, tzinfo=timezone.utc)) == date(2026, 11, 23)
    assert almaty_today(datetime(2026, 11, 23, 19, 0, 0, tzinfo=timezone.utc)) == date(2026, 11, 24)
    # 20:00 UTC on the 22nd is already the 23rd in Almaty.
    assert almaty_today(datetime(2026, 11, 22, 20, 0, tzinfo=timezone.utc)) == date(2026, 11, 23)
    with pytest.raises(ValueError):
        almaty_today(datetime(2026, 11, 23, 12, 0))


def test_a_case_due_on_the_23rd_turns_overdue_at_almaty_midnight():
    cal = default_calendar()
    due = date(2026, 11, 23)
    for now, expected in [
        (datetime(2026, 11, 23, 18, 59, 59, tzinfo=timezone.utc), 0),  # 23:59:59 in Almaty: due today
        (datetime(2026, 11, 23, 19, 0, 1, tzinfo=timezone.utc), 1),  # 00:00:01 on the 24th: overdue
    ]:
        today = almaty_today(now)
        result = report([bucket("registered", due)], [], now=now, next_working_day=cal.next_working_day(today))
        assert result.totals.overdue == expected
        assert result.totals.due_today == 1 - expected


def test_report_groups_by_benefit_channel_and_status_with_totals():
    earlier = datetime(2026, 11, 2, 3, 0, tzinfo=timezone.utc)
    buckets = [
        bucket("registered", date(2026, 11, 20), 2),  # overdue
        bucket("registered", TODAY, 3, at=earlier),  # due today; the group's oldest case
        bucket("registered", NEXT, 1),
        bucket("awaiting_signature", date(2026, 11, 30), 4, channel="proactive"),
        bucket("payment_queued", date(2026, 11, 2), 5),  # decided: open, not overdue
        bucket("received", None, 1, benefit="disability"),
    ]
    worst = OverdueCase("burial", "5a3c6f0e-0000-4000-8000-000000000001", date(2026, 11, 20), AT)
    now = datetime(2026, 11, 23, 6, 0, tzinfo=timezone.utc)
    result = report(buckets, [worst], now=now, next_working_day=NEXT)

    assert result.today == TODAY and result.next_working_day == NEXT
    assert result.totals.model_dump() == {"open": 16, "due_today": 3, "due_next_working_day": 1, "overdue": 2}
    groups = {(g.benefit, g.channel, g.status): g for g in result.groups}
    assert set(groups) == {
        ("burial", "portal", "registered"),
        ("burial", "proactive", "awaiting_signature"),
        ("burial", "portal", "payment_queued"),
        ("disability", "portal", "received"),
    }
    registered = groups[("burial", "portal", "registered")]
    assert (registered.open, registered.due_today, registered.due_next_working_day, registered.overdue) == (6, 3, 1, 2)
    assert registered.oldest_received_at == earlier and registered.oldest_due_by == TODAY
    assert groups[("burial", "portal", "payment_queued")].overdue == 0
    assert groups[("disability", "portal", "received")].oldest_due_by is None
    burial, disability = result.benefits
    assert (burial.benefit, burial.open, burial.overdue) == ("burial", 15, 2)
    assert burial.oldest_overdue is not None and burial.oldest_overdue.application_id == worst.application_id
    assert (disability.benefit, disability.open, disability.oldest_overdue) == ("disability", 1, None)


def test_per_benefit_channel_figures_for_the_gauges():
    figures = per_benefit_channel(
        [bucket("registered", date(2026, 11, 20), 2), bucket("registered", TODAY), bucket("assigned", date(2026, 11, 1))],
        today=TODAY,
        next_working_day=NEXT,
    )
    assert figures[("burial", "portal")].model_dump() == {"open": 4, "due_today": 1, "due_next_working_day": 0, "overdue": 2}
