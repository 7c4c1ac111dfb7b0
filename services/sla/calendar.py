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
from functools import lru_cache


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
        rules = tuple(sorted(self.years.items()))
        self._ordinals = _working_ordinals(self.first_year, last_year, rules)

    def _ensure(self, year: int) -> None:
        if year > self.last_year:
            self._build(year + self.SPAN_YEARS)
        if year < self.first_year:
            raise ValueError(f"the calendar starts in {self.first_year}")

    def _is_working(self, day: date) -> bool:
        return _is_working(day, self.years)

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


@lru_cache(maxsize=64)
def _working_ordinals(first_year: int, last_year: int, rules: tuple[tuple[int, YearRules], ...]) -> tuple[int, ...]:
    """The sorted ordinals of every working day from `first_year` to `last_year` (~13,000 days for
    35 years, a second of CPU to walk): the same rules give the same array, built once per process."""
    years = dict(rules)
    first, last = date(first_year, 1, 1).toordinal(), date(last_year, 12, 31).toordinal()
    return tuple(o for o in range(first, last + 1) if _is_working(date.fromordinal(o), years))


def _is_working(day: date, years: dict[int, YearRules]) -> bool:
    rules = years.get(day.year)
    if rules is not None:
        if day in rules.workdays:
            return True
        if day in rules.holidays:
            return False
    return day.weekday() < 5
