"""Reporting periods (R2, R16, R18): a day, an ISO week (Monday to Sunday), a month, a quarter, a year,
or any range of days. Days are Beijing days (Asia/Shanghai), written "YYYY-MM-DD" in the aggregates so
that a period is a range of strings. Pure.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal

from hotline_common.timeutil import local_date

Kind = Literal["day", "week", "month", "quarter", "year", "range"]
KINDS: tuple[Kind, ...] = ("day", "week", "month", "quarter", "year")
QUARTERS_CN = ("一", "二", "三", "四")


@dataclass(frozen=True)
class Period:
    kind: Kind
    start: date   # the first day
    end: date     # the day after the last (exclusive)

    @property
    def first_day(self) -> str:
        return self.start.isoformat()

    @property
    def last_day(self) -> str:
        return (self.end - timedelta(days=1)).isoformat()

    @property
    def end_day(self) -> str:
        """The first day after the period: the exclusive bound of a day-range query."""
        return self.end.isoformat()

    @property
    def length(self) -> int:
        return (self.end - self.start).days

    @property
    def year(self) -> int:
        return self.start.isocalendar()[0] if self.kind == "week" else self.start.year

    @property
    def key(self) -> str:
        s = self.start
        if self.kind == "day":
            return s.isoformat()
        if self.kind == "week":
            iso = s.isocalendar()
            return f"{iso[0]}-W{iso[1]:02d}"
        if self.kind == "month":
            return f"{s.year}-{s.month:02d}"
        if self.kind == "quarter":
            return f"{s.year}-Q{(s.month - 1) // 3 + 1}"
        if self.kind == "year":
            return str(s.year)
        return f"{self.first_day}..{self.last_day}"

    @property
    def label(self) -> str:
        """In Chinese, as the bulletin prints it."""
        s, last = self.start, self.end - timedelta(days=1)
        if self.kind == "day":
            return f"{s.year}年{s.month}月{s.day}日"
        if self.kind == "week":
            iso = s.isocalendar()
            return f"{iso[0]}年第{iso[1]}周（{s.month}月{s.day}日—{last.month}月{last.day}日）"
        if self.kind == "month":
            return f"{s.year}年{s.month}月"
        if self.kind == "quarter":
            return f"{s.year}年第{QUARTERS_CN[(s.month - 1) // 3]}季度"
        if self.kind == "year":
            return f"{s.year}年"
        return f"{s.year}年{s.month}月{s.day}日至{last.year}年{last.month}月{last.day}日"

    def days(self) -> list[str]:
        return [(self.start + timedelta(days=i)).isoformat() for i in range(self.length)]

    def contains(self, day: str) -> bool:
        return self.first_day <= day < self.end_day

    def previous(self, n: int = 1) -> Period:
        """The n-th period of the same kind before this one (a range: the same length, just before)."""
        p = self
        for _ in range(n):
            if p.kind == "range":
                p = Period("range", p.start - timedelta(days=p.length), p.start)
            else:
                p = period_of(p.kind, p.start - timedelta(days=1))
        return p

    def next(self) -> Period:
        if self.kind == "range":
            return Period("range", self.end, self.end + timedelta(days=self.length))
        return period_of(self.kind, self.end)

    def to_json(self) -> dict[str, str]:
        return {"kind": self.kind, "key": self.key, "label": self.label, "first_day": self.first_day,
                "last_day": self.last_day}


def period_of(kind: Kind, day: date) -> Period:
    """The period of `kind` that contains `day`."""
    if kind == "day":
        return Period("day", day, day + timedelta(days=1))
    if kind == "week":
        start = day - timedelta(days=day.weekday())
        return Period("week", start, start + timedelta(days=7))
    if kind == "month":
        start = day.replace(day=1)
        return Period("month", start, _add_months(start, 1))
    if kind == "quarter":
        start = date(day.year, (day.month - 1) // 3 * 3 + 1, 1)
        return Period("quarter", start, _add_months(start, 3))
    if kind == "year":
        return Period("year", date(day.year, 1, 1), date(day.year + 1, 1, 1))
    raise ValueError(f"no period kind {kind!r}")


def between(first: date, last: date) -> Period:
    """The days from `first` to `last`, both included."""
    if last < first:
        raise ValueError("the period ends before it starts")
    return Period("range", first, last + timedelta(days=1))


def parse_key(key: str) -> Period:
    """The period a key names: 2026-09-30, 2026-W11, 2026-09, 2026-Q3, 2026, 2026-09-01..2026-09-30."""
    try:
        if ".." in key:
            a, b = key.split("..", 1)
            return between(date.fromisoformat(a), date.fromisoformat(b))
        if "-W" in key:
            year, week = key.split("-W")
            return period_of("week", date.fromisocalendar(int(year), int(week), 1))
        if "-Q" in key:
            year, quarter = key.split("-Q")
            if not 1 <= int(quarter) <= 4:
                raise ValueError(key)
            return period_of("quarter", date(int(year), 3 * int(quarter) - 2, 1))
        parts = key.split("-")
        if len(parts) == 1:
            return period_of("year", date(int(parts[0]), 1, 1))
        if len(parts) == 2:
            return period_of("month", date(int(parts[0]), int(parts[1]), 1))
        return period_of("day", date.fromisoformat(key))
    except (ValueError, TypeError) as exc:
        raise ValueError(f"not a period: {key!r}") from exc


def last_ended(kind: Kind, now: datetime) -> Period:
    """The latest period of `kind` that has ended by `now` (Beijing time)."""
    return period_of(kind, local_date(now)).previous()


def _add_months(d: date, months: int) -> date:
    index = d.month - 1 + months
    return date(d.year + index // 12, index % 12 + 1, 1)


def resolve(period: str | None, at: date | None, from_: str | None, to: str | None, *, today: date,
            default: Period) -> Period:
    """The period a query names: `period` as a kind (with `at`, a day in it; default today) or a key;
    or `from`/`to`, each a date (included) or an instant (`from` included, `to` excluded); or `default`."""
    if from_ or to:
        if period or at:
            raise ValueError("give either period (with at) or from/to, not both")
        last = _bound(to, upper=True) if to else today
        first = _bound(from_, upper=False) if from_ else last - timedelta(days=29)
        return between(first, last)
    if period:
        if period in KINDS:
            return period_of(period, at or today)
        if at:
            raise ValueError("at goes with a period kind (day, week, month, quarter, year)")
        return parse_key(period)
    if at:
        raise ValueError("at needs a period kind")
    return default


def _bound(value: str, *, upper: bool) -> date:
    if len(value) <= 10:
        return date.fromisoformat(value)
    instant = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return local_date(instant - timedelta(microseconds=1) if upper else instant)
