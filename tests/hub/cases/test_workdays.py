"""Working days on the official schedule, and the deadline rules (pure)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.domain.cases import deadlines
from hub.domain.cases.deadlines import Colour
from hub.domain.workdays import CalendarError, WorkCalendar
from hub.services.cases.calendar import package_years


@pytest.fixture(scope="module")
def cal() -> WorkCalendar:
    _, years = package_years()
    rows = [r for y in years.values() for r in y]
    return WorkCalendar.from_days(
        [d for d, k, _ in rows if k == "holiday"],
        [d for d, k, _ in rows if k == "workday"],
        known_through=max(years),
        known_from=min(years),
    )


def test_seven_working_days_across_national_day_2025(cal: WorkCalendar) -> None:
    # CASES.md §1: 2025-09-28 is itself a make-up Sunday, but the day of the event is not
    # counted; 1-8 Oct are off and Saturday 11 Oct is worked.
    d = cal.add_working_days(date(2025, 9, 28), 7)
    assert d.due == date(2025, 10, 14)
    assert d.provisional is False


def test_make_up_saturday_counts_and_holiday_weekday_does_not(cal: WorkCalendar) -> None:
    assert cal.is_working_day(date(2025, 10, 11))  # Saturday, 调休上班
    assert not cal.is_working_day(date(2025, 10, 8))  # Wednesday, 国庆
    assert not cal.is_working_day(date(2025, 10, 12))  # plain Sunday
    assert cal.is_working_day(date(2025, 10, 13))


def test_past_the_schedule_is_provisional_and_skips_fixed_holidays(cal: WorkCalendar) -> None:
    assert cal.known_through == 2026
    d = cal.add_working_days(date(2027, 9, 29), 3)
    # 30 Sep (Thu) 1; 1-3 Oct fixed holidays; 4 Oct (Mon) 2; 5 Oct 3.
    assert d == deadlines.Deadline(date(2027, 10, 5), True)
    assert not cal.is_working_day(date(2027, 1, 1))
    # A period that only starts inside the known years but ends past them is provisional too.
    assert cal.add_working_days(date(2026, 12, 30), 3).provisional
    assert not cal.add_working_days(date(2026, 12, 1), 3).provisional


def test_calendar_days_roll_past_a_day_off(cal: WorkCalendar) -> None:
    # 15 days after 2025-09-20 is Sunday 5 Oct (国庆): it ends on Thursday 9 Oct.
    assert cal.add_calendar_days(date(2025, 9, 20), 15).due == date(2025, 10, 9)
    assert cal.add_calendar_days(date(2025, 9, 20), 15, roll_to_working_day=False).due == date(
        2025, 10, 5
    )
    assert cal.add_months(date(2025, 1, 31), 1, roll_to_working_day=False).due == date(2025, 2, 28)


def test_contradictory_schedule_is_refused() -> None:
    with pytest.raises(CalendarError, match="both off and working"):
        WorkCalendar.from_days([date(2025, 10, 11)], [date(2025, 10, 11)], 2025)
    with pytest.raises(CalendarError, match="Saturday or Sunday"):
        WorkCalendar.from_days([], [date(2025, 10, 13)], 2025)
    with pytest.raises(ValueError, match="1-1000"):
        WorkCalendar.from_days([], [], 2025).add_working_days(date(2025, 1, 1), 0)


@given(st.dates(date(2018, 1, 1), date(2026, 12, 1)), st.integers(1, 30))
def test_working_day_count_matches_a_day_by_day_count(start: date, n: int) -> None:
    _, years = package_years()
    rows = [r for y in years.values() for r in y]
    cal = WorkCalendar.from_days(
        [d for d, k, _ in rows if k == "holiday"], [d for d, k, _ in rows if k == "workday"], 2026
    )
    due = cal.add_working_days(start, n).due
    days = [start + timedelta(days=i) for i in range(1, (due - start).days + 1)]
    assert sum(cal.is_working_day(d) for d in days) == n
    assert cal.is_working_day(due)


def test_preservation_timer_due_warn_and_colours(cal: WorkCalendar) -> None:
    # Preserved at 10:00 Beijing time on Sunday 28 Sep 2025 -> due end of 14 Oct, yellow from
    # 10 Oct (2 working days before the due day: 13 Oct and 11 Oct are worked).
    started = datetime(2025, 9, 28, 2, 0, tzinfo=UTC)
    t = deadlines.compute(deadlines.RULES["preservation"], started, cal)
    assert t.due == date(2025, 10, 14)
    assert t.due_at == datetime(2025, 10, 15, tzinfo=deadlines.SHANGHAI)
    assert t.warn_at == datetime(2025, 10, 11, tzinfo=deadlines.SHANGHAI)
    assert t.colour(datetime(2025, 10, 10, 12, tzinfo=deadlines.SHANGHAI)) is Colour.GREEN
    assert t.colour(datetime(2025, 10, 13, 12, tzinfo=deadlines.SHANGHAI)) is Colour.YELLOW
    assert t.colour(datetime(2025, 10, 15, 0, 1, tzinfo=deadlines.SHANGHAI)) is Colour.RED


def test_hour_timer_and_config(cal: WorkCalendar) -> None:
    started = datetime(2025, 10, 1, 8, 0, tzinfo=UTC)
    t = deadlines.compute(deadlines.RULES["emergency_report"], started, cal)
    assert t.due is None and t.due_at == started + timedelta(hours=24)
    assert t.warn_at == started + timedelta(hours=20)
    rules = deadlines.configured({"clue_filing": 30})
    assert rules["clue_filing"].length == 30
    with pytest.raises(ValueError, match=r"fixed by 行政处罚法 Art\. 56"):
        deadlines.configured({"preservation": 10})
    with pytest.raises(ValueError, match="no deadline rule"):
        deadlines.configured({"nope": 1})
    with pytest.raises(ValueError, match="time zone"):
        deadlines.compute(deadlines.RULES["payment"], datetime(2025, 1, 1), cal)


def test_every_rule_computes(cal: WorkCalendar) -> None:
    started = datetime(2025, 12, 20, 1, 0, tzinfo=UTC)
    for rule in deadlines.RULES.values():
        t = deadlines.compute(rule, started, cal)
        assert t.warn_at <= t.due_at, rule.code
        assert t.due_at > started, rule.code
