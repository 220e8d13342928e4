"""Working days and calendar days on the official holiday schedule (CASES.md §1). Pure.

China moves working days around its holidays (调休): a Saturday can be a working day and a
Wednesday a day off, so a weekday-only count is wrong around 春节 and 国庆. The schedule is data
(the State Council publishes each year's in November); a ``WorkCalendar`` is built from it and
knows the last year it holds. Past that year a date is computed on weekends and the fixed-date
holidays alone and the result says so (``Deadline.provisional``) - never silently.

Counting (期间的计算): the day of the event is not counted; the period starts the day after
(民事诉讼法 2023 Art. 85 ¶2 "期间开始的时和日，不计算在期间内", the rule administrative practice
follows). 行政处罚法 Art. 85: 二日、三日、五日、七日 are working days, statutory holidays excluded;
行政强制法 Art. 69: periods of 十日以内 are working days. For a period in calendar days whose
last day is a day off, the period ends on the next working day (民事诉讼法 Art. 85 ¶3).
"""

from __future__ import annotations

import calendar as _cal
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta

# The statutory holidays that fall on the same Gregorian day every year (全国年节及纪念日放假办法,
# 2024 revision, Art. 2): 元旦 1 Jan; 劳动节 1-2 May; 国庆节 1-3 Oct. The lunar ones (春节, 清明,
# 端午, 中秋) move, so a year whose schedule is not published cannot know them.
FIXED_HOLIDAYS: frozenset[tuple[int, int]] = frozenset(
    {(1, 1), (5, 1), (5, 2), (10, 1), (10, 2), (10, 3)}
)

# A working-day period longer than this is a typo, not a statute (the longest is 30).
MAX_WORKING_DAYS = 1000


@dataclass(frozen=True)
class Deadline:
    """A computed due date; ``provisional`` when any day counted lies past the published
    schedule (it may move when the schedule is loaded)."""

    due: date
    provisional: bool


class CalendarError(ValueError):
    """A schedule that contradicts itself (a day both off and a make-up working day)."""


@dataclass(frozen=True)
class WorkCalendar:
    """The official schedule: statutory days off (``holidays``, including the swapped weekdays)
    and make-up working days (``workdays``, weekend days that are worked), known through
    ``known_through`` (a year)."""

    holidays: frozenset[date]
    workdays: frozenset[date]
    known_through: int
    known_from: int = 1900
    names: dict[date, str] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        both = self.holidays & self.workdays
        if both:
            days = ", ".join(d.isoformat() for d in sorted(both)[:5])
            raise CalendarError(f"days both off and working: {days}")
        weekday_makeup = [d for d in self.workdays if d.weekday() < 5]
        if weekday_makeup:
            raise CalendarError(
                f"a make-up working day must be a Saturday or Sunday: {weekday_makeup[0]}"
            )

    @classmethod
    def from_days(
        cls,
        holidays: Iterable[date],
        workdays: Iterable[date],
        known_through: int,
        known_from: int = 1900,
        names: dict[date, str] | None = None,
    ) -> WorkCalendar:
        return cls(frozenset(holidays), frozenset(workdays), known_through, known_from, names or {})

    def known(self, d: date) -> bool:
        """Is ``d`` in a year whose official schedule this calendar holds?"""
        return self.known_from <= d.year <= self.known_through

    def is_working_day(self, d: date) -> bool:
        if d in self.workdays:
            return True
        if d in self.holidays:
            return False
        if not self.known(d) and (d.month, d.day) in FIXED_HOLIDAYS:
            return False
        return d.weekday() < 5

    def add_working_days(self, start: date, n: int) -> Deadline:
        """The ``n``-th working day after ``start`` (``start`` itself is not counted)."""
        if not 0 < n <= MAX_WORKING_DAYS:
            raise ValueError(f"a period of working days must be 1-{MAX_WORKING_DAYS}, not {n}")
        d, counted, provisional = start, 0, False
        while counted < n:
            d += timedelta(days=1)
            provisional = provisional or not self.known(d)
            if self.is_working_day(d):
                counted += 1
        return Deadline(d, provisional)

    def add_calendar_days(
        self, start: date, n: int, *, roll_to_working_day: bool = True
    ) -> Deadline:
        """``n`` calendar days after ``start``; with ``roll_to_working_day`` a last day that is
        a day off moves to the next working day (民事诉讼法 Art. 85 ¶3)."""
        if n < 1:
            raise ValueError(f"a period of days must be at least 1, not {n}")
        due = start + timedelta(days=n)
        return self._settle(due, roll_to_working_day)

    def add_months(self, start: date, months: int, *, roll_to_working_day: bool = True) -> Deadline:
        """The same day ``months`` later (the month's last day where it is shorter: 31 Jan +
        1 month = 28/29 Feb), rolled like ``add_calendar_days``."""
        if months < 1:
            raise ValueError(f"a period of months must be at least 1, not {months}")
        y, m = divmod(start.month - 1 + months, 12)
        year, month = start.year + y, m + 1
        due = date(year, month, min(start.day, _cal.monthrange(year, month)[1]))
        return self._settle(due, roll_to_working_day)

    def _settle(self, due: date, roll: bool) -> Deadline:
        # A calendar period counts no working days: only where it lands (and rolls to) can
        # move when a schedule is loaded.
        provisional = not self.known(due)
        if roll:
            while not self.is_working_day(due):
                due += timedelta(days=1)
                provisional = provisional or not self.known(due)
        return Deadline(due, provisional)

    def subtract_working_days(self, due: date, n: int) -> date:
        """The working day ``n`` working days before ``due`` (for a warning ahead of it)."""
        d, counted = due, 0
        while counted < n:
            d -= timedelta(days=1)
            if self.is_working_day(d):
                counted += 1
        return d
