"""The work calendar (R7, DESIGN §5): which days are Chinese working days, and counting them.

Working days: Monday to Friday, except statutory holidays; plus the adjusted working weekends
(调休). A year with official data (an override file or chinese-calendar) uses it; a year without is
counted with weekends only, and every answer that touches it says so (`provisional_years`).

Counting is a binary search in a precomputed, sorted array of working-day ordinals: adding or
counting working days costs O(log n), whatever the distance.
"""
from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class YearRules:
    """The official arrangement for one year: extra days off and adjusted working days."""
    year: int
    holidays: frozenset = frozenset()   # days off that would otherwise be working days
    workdays: frozenset = frozenset()   # weekend days that are working days (调休上班)
    source: str = ""
    names: tuple = ()                   # ((date, name), ...) for display


class WorkCalendar:
    SPAN_YEARS = 12  # beyond the last official year, precompute this many weekend-only years

    def __init__(self, years: dict[int, YearRules], first_year: int = 2004):
        self.years = dict(years)
        self.first_year = min([first_year, *self.years]) if self.years else first_year
        last_official = max(self.years) if self.years else self.first_year
        self._build(last_official + self.SPAN_YEARS)

    def _build(self, last_year: int) -> None:
        self.last_year = last_year
        ordinals = []
        day = date(self.first_year, 1, 1).toordinal()
        end = date(last_year, 12, 31).toordinal()
        while day <= end:
            if self._is_working(date.fromordinal(day)):
                ordinals.append(day)
            day += 1
        self._ordinals = ordinals

    def _ensure(self, year: int) -> None:
        if year > self.last_year:
            self._build(year + self.SPAN_YEARS)
        if year < self.first_year:
            raise ValueError(f"the calendar starts in {self.first_year}")

    def _is_working(self, day: date) -> bool:
        rules = self.years.get(day.year)
        if rules is not None:
            if day in rules.workdays:
                return True
            if day in rules.holidays:
                return False
        return day.weekday() < 5

    # -- questions
    def is_official(self, year: int) -> bool:
        return year in self.years

    def is_working_day(self, day: date) -> bool:
        self._ensure(day.year)
        return self._is_working(day)

    def add_working_days(self, start: date, n: int) -> date:
        """The n-th working day after `start` (n >= 1); `start` itself never counts."""
        if n < 1:
            raise ValueError("n must be at least 1")
        self._ensure(start.year)
        while True:
            index = bisect_right(self._ordinals, start.toordinal()) + n - 1
            if index < len(self._ordinals):
                return date.fromordinal(self._ordinals[index])
            self._build(self.last_year + self.SPAN_YEARS)

    def working_days_between(self, start: date, end: date) -> int:
        """Working days in (start, end]: how many working days from `start` until `end` is over."""
        if end <= start:
            return -self.working_days_between(end, start) if end < start else 0
        self._ensure(end.year)
        return bisect_right(self._ordinals, end.toordinal()) - bisect_right(self._ordinals, start.toordinal())

    def provisional_years(self, start: date, end: date) -> tuple[int, ...]:
        """Years in [start, end] counted without official data."""
        lo, hi = sorted((start.year, end.year))
        return tuple(y for y in range(lo, hi + 1) if not self.is_official(y))

    def with_year(self, rules: YearRules) -> WorkCalendar:
        return WorkCalendar({**self.years, rules.year: rules}, self.first_year)
