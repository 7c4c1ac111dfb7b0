"""Where the calendar's facts come from, in layers (DESIGN §5):

1. override files `config/calendar/<year>.yaml` (and overrides stored through the admin API),
2. `chinese-calendar` for the years it covers (its data dicts; calling its functions outside those
   years raises NotImplementedError, so this module reads the data, never the functions),
3. nothing: the calendar counts weekends only and marks deadlines provisional.
"""
from __future__ import annotations

from datetime import date
from pathlib import Path

from hotline_common.config_files import parse_yaml

from .calendar import WorkCalendar, YearRules


def chinese_calendar_years() -> dict[int, YearRules]:
    from chinese_calendar import constants  # data only

    holidays: dict[int, dict] = {}
    workdays: dict[int, dict] = {}
    for day, name in constants.holidays.items():
        holidays.setdefault(day.year, {})[day] = str(name)
    for day, name in constants.workdays.items():
        workdays.setdefault(day.year, {})[day] = str(name)
    years = {}
    # the library lists every year it covers in `holidays` (each has at least New Year's Day)
    for year in sorted(holidays):
        off, on = holidays.get(year, {}), workdays.get(year, {})
        years[year] = YearRules(year, frozenset(off), frozenset(on), "chinese-calendar",
                                tuple(sorted({**off, **on}.items())))
    return years


class CalendarFileError(ValueError):
    pass


def parse_year(data: dict, origin: str) -> YearRules:
    """An override document: {year, source, holidays: [{date, name}], workdays: [{date, name}]}."""
    try:
        year = int(data["year"])
        off = {_day(e["date"]): str(e.get("name", "")) for e in data.get("holidays") or []}
        on = {_day(e["date"]): str(e.get("name", "")) for e in data.get("workdays") or []}
    except (KeyError, TypeError, ValueError) as exc:
        raise CalendarFileError(f"{origin}: {exc}") from None
    wrong = [d for d in [*off, *on] if d.year != year]
    if wrong:
        raise CalendarFileError(f"{origin}: dates outside {year}: {', '.join(map(str, wrong))}")
    clash = set(off) & set(on)
    if clash:
        raise CalendarFileError(f"{origin}: both holiday and workday: {', '.join(map(str, sorted(clash)))}")
    if any(d.weekday() < 5 for d in on):
        raise CalendarFileError(f"{origin}: adjusted workdays must be weekend days")
    return YearRules(year, frozenset(off), frozenset(on), str(data.get("source") or origin),
                     tuple(sorted({**off, **on}.items())))


def _day(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def override_files(config_dir: Path) -> dict[int, YearRules]:
    years = {}
    for path in sorted((Path(config_dir) / "calendar").glob("*.yaml")):
        rules = parse_year(parse_yaml(path.read_text(encoding="utf-8")) or {}, path.name)
        years[rules.year] = rules
    return years


def build_calendar(config_dir: Path, stored_overrides: dict[int, YearRules] | None = None) -> WorkCalendar:
    years = chinese_calendar_years()
    years.update(override_files(config_dir))
    years.update(stored_overrides or {})
    return WorkCalendar(years)
