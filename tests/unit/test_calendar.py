"""R7: the work calendar and the deadline rule, on real 2026 dates."""
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import chinese_calendar
import pytest

from services.sla.calendar import WorkCalendar, YearRules
from services.sla.calendar_source import CalendarFileError, build_calendar, chinese_calendar_years, parse_year
from services.sla.domain import compute_deadline

CONFIG = Path(__file__).resolve().parents[2] / "config"


@pytest.fixture(scope="module")
def calendar():
    return build_calendar(CONFIG)


def shanghai(y, m, d, hh=10, mm=0):
    return datetime(y, m, d, hh, mm, tzinfo=timezone(timedelta(hours=8))).astimezone(UTC)


def test_matches_chinese_calendar_for_every_day_it_covers(calendar):
    day = date(2004, 1, 1)
    while day <= date(2026, 12, 31):
        assert calendar.is_working_day(day) == chinese_calendar.is_workday(day), day
        day += timedelta(days=1)


def test_dispatched_on_2026_09_30_skips_golden_week_and_counts_the_adjusted_saturday(calendar):
    deadline = compute_deadline(shanghai(2026, 9, 30, 16, 30), 20, calendar)
    # Oct 1-7 off; Sat Oct 10 is a working day (调休); the 20th working day after Sep 30 is Nov 3
    assert calendar.is_working_day(date(2026, 10, 10))
    assert not calendar.is_working_day(date(2026, 10, 5))
    assert deadline.due_date == date(2026, 11, 3)
    assert deadline.due_at == datetime(2026, 11, 3, 16, 0, tzinfo=UTC)  # midnight Nov 4 in Beijing
    assert not deadline.provisional


def test_two_day_limit_over_golden_week(calendar):
    # consult dispatched Sep 30: Oct 8 (Thu) and Oct 9 (Fri) are the two working days
    assert compute_deadline(shanghai(2026, 9, 30), 2, calendar).due_date == date(2026, 10, 9)


def test_spring_festival_2026(calendar):
    # Feb 14 (Sat) is a working day, Feb 15-23 are off, Feb 28 (Sat) is a working day
    assert compute_deadline(shanghai(2026, 2, 13), 2, calendar).due_date == date(2026, 2, 24)
    assert compute_deadline(shanghai(2026, 2, 12), 2, calendar).due_date == date(2026, 2, 14)
    assert compute_deadline(shanghai(2026, 2, 26), 2, calendar).due_date == date(2026, 2, 28)


def test_friday_evening_starts_counting_on_monday(calendar):
    friday_night = shanghai(2026, 11, 20, 23, 50)
    assert compute_deadline(friday_night, 2, calendar).due_date == date(2026, 11, 24)


def test_late_evening_utc_is_already_the_next_day_in_beijing(calendar):
    # 2026-11-19 17:00 UTC is Friday 01:00 in Beijing: the dispatch day is Friday, not Thursday
    assert compute_deadline(datetime(2026, 11, 19, 17, 0, tzinfo=UTC), 2, calendar).due_date == date(2026, 11, 24)


def test_dispatched_on_a_holiday(calendar):
    # National Day itself: counting starts on the first working day after it (Oct 8)
    assert compute_deadline(shanghai(2026, 10, 3), 2, calendar).due_date == date(2026, 10, 9)


def test_mid_december_deadline_runs_into_2027_and_is_provisional(calendar):
    deadline = compute_deadline(shanghai(2026, 12, 15), 20, calendar)
    assert deadline.provisional_years == (2027,)
    # weekends only in 2027: Dec 16..31 gives 12 working days, then Jan 1.. 8 more -> Jan 12
    assert deadline.due_date == date(2027, 1, 12)


def test_a_2027_arrangement_makes_it_exact():
    rules = parse_year({"year": 2027, "source": "test", "holidays": [{"date": "2027-01-01", "name": "元旦"}],
                        "workdays": []}, "2027.yaml")
    calendar = build_calendar(CONFIG).with_year(rules)
    deadline = compute_deadline(shanghai(2026, 12, 15), 20, calendar)
    assert deadline.provisional_years == ()
    assert deadline.due_date == date(2027, 1, 13)  # New Year's Day is off now


def test_years_without_data_never_raise(calendar):
    assert calendar.add_working_days(date(2031, 12, 30), 300) > date(2032, 12, 31)
    assert calendar.provisional_years(date(2026, 12, 1), date(2028, 1, 5)) == (2027, 2028)


def test_working_days_between(calendar):
    assert calendar.working_days_between(date(2026, 9, 30), date(2026, 11, 3)) == 20
    assert calendar.working_days_between(date(2026, 11, 3), date(2026, 11, 3)) == 0


def test_chinese_calendar_layer_covers_2004_to_2026():
    years = chinese_calendar_years()
    assert min(years) == 2004 and max(years) >= 2026


@pytest.mark.parametrize("bad, message", [
    ({"year": 2027, "holidays": [{"date": "2028-01-01"}]}, "outside 2027"),
    ({"year": 2027, "workdays": [{"date": "2027-01-04"}]}, "weekend"),
    ({"year": 2027, "holidays": [{"date": "2027-01-02"}], "workdays": [{"date": "2027-01-02"}]}, "both"),
    ({"holidays": []}, "year"),
])
def test_bad_override_files_are_refused_with_the_reason(bad, message):
    with pytest.raises(CalendarFileError, match=message):
        parse_year(bad, "x.yaml")


def test_override_beats_the_library():
    base = WorkCalendar({2026: YearRules(2026, frozenset(), frozenset())})
    assert base.is_working_day(date(2026, 10, 1))
    changed = base.with_year(YearRules(2026, frozenset({date(2026, 10, 1)}), frozenset()))
    assert not changed.is_working_day(date(2026, 10, 1))
