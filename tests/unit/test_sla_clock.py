"""R7, R8: a ticket's clock, its timers and extensions, as pure rules on real 2026 dates."""
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from hotline_common.actors import Actor
from hotline_common.errors import Conflict, Forbidden, NotFound, RuleViolation
from hotline_common.events import T
from services.sla import domain as d
from services.sla.calendar_source import build_calendar, parse_year

CONFIG = Path(__file__).resolve().parents[2] / "config"
CAL = build_calendar(CONFIG)
POLICY = d.Policy({"consult": 2, "suggest": 2, "help": 20, "complain": 20, "report": 20})
SYSTEM = Actor("system", "system")
LEADER = Actor("city.environment.leader", "unit_leader", "city.environment")
OPERATOR = Actor("op", "operator")
BJ = timezone(timedelta(hours=8))


def at(y, m, day, hh=0, mm=0):
    return datetime(y, m, day, hh, mm, tzinfo=BJ).astimezone(timezone.utc)


def dispatched(when, ticket_type="complain", dispatch_no=1):
    return {"ticket_id": "t1", "number": "AS20261102000001", "type": ticket_type, "unit_id": "city.environment",
            "unit_leaders": ["city.environment.leader", "city.environment.deputy"], "dispatch_no": dispatch_no,
            "dispatched_at": when.isoformat().replace("+00:00", "Z")}


def clock_for(when, ticket_type="complain"):
    clock, (event,) = d.start_clock(dispatched(when, ticket_type), POLICY, CAL, SYSTEM)
    assert event.type == T.DEADLINE_SET
    return clock


def test_a_consult_dispatched_monday_is_due_wednesday_with_its_timers():
    clock = clock_for(at(2026, 11, 2, 9), "consult")
    assert clock["due_date"] == "2026-11-04" and clock["due_at"] == at(2026, 11, 5)
    assert (clock["next_fire_kind"], clock["next_fire_at"]) == ("due_soon", at(2026, 11, 4))
    clock, events = d.fire(clock, at(2026, 11, 3, 23, 59), CAL, SYSTEM)
    assert events == []
    clock, events = d.fire(clock, at(2026, 11, 4, 0, 1), CAL, SYSTEM)
    assert [e.type for e in events] == [T.DEADLINE_DUE_SOON]
    clock, events = d.fire(clock, at(2026, 11, 5, 0, 0), CAL, SYSTEM)
    assert [e.type for e in events] == [T.DEADLINE_OVERDUE]
    clock, events = d.fire(clock, at(2026, 11, 5, 12), CAL, SYSTEM)
    assert events == []  # exactly once


def test_a_jump_far_past_the_deadline_fires_everything_once_and_in_order():
    clock = clock_for(at(2026, 11, 2, 9), "consult")
    # Nov 4 due; working days after: Nov 5 (1), 6 (2), 9 (3) ... at the end of Nov 9, 3 working days overdue
    clock, events = d.fire(clock, at(2026, 11, 10, 0, 0), CAL, SYSTEM)
    assert [e.type for e in events] == [T.DEADLINE_DUE_SOON, T.DEADLINE_OVERDUE] + [T.DEADLINE_STILL_OVERDUE] * 3
    assert [e.data["working_days_overdue"] for e in events[2:]] == [1, 2, 3]
    assert [e.data["seq"] for e in events] == [2, 3, 4, 5, 6]
    _, again = d.fire(clock, at(2026, 11, 10, 0, 0), CAL, SYSTEM)
    assert again == []


def test_overdue_ticks_skip_weekends_and_holidays():
    clock = clock_for(at(2026, 9, 28, 9), "consult")  # due Sep 30; Oct 1-7 off, Oct 10 (Sat) works
    clock, events = d.fire(clock, at(2026, 10, 11, 0, 0), CAL, SYSTEM)
    ticks = [e for e in events if e.type == T.DEADLINE_STILL_OVERDUE]
    assert [e.data["working_days_overdue"] for e in ticks] == [1, 2, 3]  # Oct 8, 9, 10 are the working days


def test_reply_stops_the_clock_met_or_missed():
    clock = clock_for(at(2026, 11, 2, 9), "consult")
    met, (event,) = d.stop_on_reply(clock, at(2026, 11, 4, 23, 59), SYSTEM)
    assert met["state"] == "met" and event.type == T.DEADLINE_MET and met["next_fire_at"] is None
    missed, (event,) = d.stop_on_reply(clock, at(2026, 11, 5, 0, 0), SYSTEM)
    assert missed["state"] == "missed" and event.type == T.DEADLINE_MISSED
    assert d.stop_on_reply(met, at(2026, 11, 6), SYSTEM) == (met, [])


def test_a_re_dispatch_starts_a_new_clock_whose_events_follow_the_old_ones():
    old = clock_for(at(2026, 11, 2, 9))
    new, (event,) = d.start_clock({**dispatched(at(2026, 11, 3, 10), dispatch_no=2), "unit_id": "city.enforcement"},
                                  POLICY, CAL, SYSTEM, previous=old)
    assert new["unit_id"] == "city.enforcement" and event.data["seq"] == 2
    assert new["due_date"] == CAL.add_working_days(date(2026, 11, 3), 20).isoformat()


def test_extension_asked_one_working_day_before_the_deadline_is_refused_with_the_rule():
    clock = clock_for(at(2026, 11, 2, 9))                  # 20 working days: due Nov 30 (Mon)
    assert clock["due_date"] == "2026-11-30"
    with pytest.raises(RuleViolation) as err:               # Fri Nov 27: one working day (Nov 30) is left
        d.request_extension(clock, 5, "需协调多个部门联合执法", LEADER, at(2026, 11, 27, 10), CAL, POLICY)
    assert "2个工作日" in err.value.detail and err.value.extra["working_days_left"] == 1


def test_extension_asked_three_days_before_and_approved_moves_the_deadline():
    clock = clock_for(at(2026, 11, 2, 9))
    clock, (requested,) = d.request_extension(clock, 5, "需协调多个部门联合执法", LEADER, at(2026, 11, 25, 10),
                                              CAL, POLICY)
    assert requested.type == T.EXTENSION_REQUESTED and requested.data["requested_working_days"] == 5
    with pytest.raises(Conflict):
        d.request_extension(clock, 2, "再次申请延期办理", LEADER, at(2026, 11, 25, 11), CAL, POLICY)
    clock, (extended,) = d.decide_extension(clock, True, 3, "同意延期3个工作日", OPERATOR, at(2026, 11, 26), CAL, POLICY)
    assert extended.type == T.DEADLINE_EXTENDED and extended.data["previous_due_date"] == "2026-11-30"
    assert clock["due_date"] == "2026-12-03" and clock["extended_days"] == 3   # Nov 30 + 3 working days
    assert clock["next_fire_kind"] == "due_soon" and clock["extensions"][0]["status"] == "approved"


def test_only_the_units_leader_signs_and_only_the_office_decides():
    clock = clock_for(at(2026, 11, 2, 9))
    with pytest.raises(Forbidden):
        d.request_extension(clock, 5, "需协调多个部门联合执法", Actor("c", "unit_handler", "city.environment"),
                            at(2026, 11, 10), CAL, POLICY)
    with pytest.raises(Forbidden):
        d.request_extension(clock, 5, "需协调多个部门联合执法", Actor("someone", "unit_leader", "city.environment"),
                            at(2026, 11, 10), CAL, POLICY)
    with pytest.raises(NotFound):
        d.request_extension(clock, 5, "需协调多个部门联合执法", Actor("x", "unit_leader", "city.housing"),
                            at(2026, 11, 10), CAL, POLICY)
    clock, _ = d.request_extension(clock, 5, "需协调多个部门联合执法", LEADER, at(2026, 11, 10), CAL, POLICY)
    with pytest.raises(Forbidden):
        d.decide_extension(clock, True, None, "", LEADER, at(2026, 11, 11), CAL, POLICY)
    clock, (rejected,) = d.decide_extension(clock, False, None, "理由不充分", OPERATOR, at(2026, 11, 11), CAL, POLICY)
    assert rejected.type == T.EXTENSION_REJECTED and clock["due_date"] == "2026-11-30"


def test_a_provisional_deadline_becomes_exact_when_the_year_arrives():
    clock = clock_for(at(2026, 12, 15, 10))
    assert clock["provisional_years"] == [2027] and clock["due_date"] == "2027-01-12"
    calendar = CAL.with_year(parse_year({"year": 2027, "source": "国务院办公厅通知",
                                         "holidays": [{"date": "2027-01-01", "name": "元旦"}]}, "2027"))
    updated, (event,) = d.recompute(clock, calendar, POLICY, SYSTEM)
    assert event.type == T.DEADLINE_CHANGED and event.data["previous_due_date"] == "2027-01-12"
    assert updated["due_date"] == "2027-01-13" and updated["provisional_years"] == []
    assert d.recompute(updated, calendar, POLICY, SYSTEM) == (updated, [])


def test_working_days_left():
    clock = clock_for(at(2026, 11, 2, 9), "consult")
    assert d.working_days_left(clock, date(2026, 11, 2), CAL) == 2
    assert d.working_days_left(clock, date(2026, 11, 4), CAL) == 0
    assert d.working_days_left(clock, date(2026, 11, 6), CAL) == -2
