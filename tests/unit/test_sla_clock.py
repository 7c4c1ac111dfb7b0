"""R7, R8: a ticket's clock, its timers and extensions, as pure rules on real 2026 dates."""
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from hotline_common.actors import Actor
from hotline_common.errors import Conflict, Forbidden, NotFound, NotYet, RuleViolation, ValidationFailed
from services.sla import commands as c
from services.sla import domain as d
from services.sla import events as ev
from services.sla.calendar_source import build_calendar, parse_year
from services.sla.fakes import dispatched, reopened, replied

CONFIG = Path(__file__).resolve().parents[2] / "config"
CAL = build_calendar(CONFIG)
POLICY = d.Policy({"consult": 2, "suggest": 2, "help": 20, "complain": 20, "report": 20})
SYSTEM = Actor("system", "system")
LEADER = Actor("city.environment.leader", "unit_leader", "city.environment")
OPERATOR = Actor("op", "operator")
BJ = timezone(timedelta(hours=8))
FIRE = c.FireTimers()
RECOMPUTE = c.RecomputeDeadline()
REASON = "需协调多个部门联合执法"


def at(y, m, day, hh=0, mm=0):
    return datetime(y, m, day, hh, mm, tzinfo=BJ).astimezone(UTC)


def clock_for(when, ticket_type="complain"):
    clock, (event,) = d.start_clock(None, dispatched(when, ticket_type=ticket_type), now=when, actor=SYSTEM,
                                    calendar=CAL, policy=POLICY)
    assert isinstance(event, ev.DeadlineSet)
    return clock


def fire(clock, now, **kwargs):
    return d.fire(clock, replace(FIRE, **kwargs), now=now, actor=SYSTEM, calendar=CAL)


def ask(clock, days, now, actor=LEADER, reason=REASON):
    return d.request_extension(clock, c.RequestExtension(key="t1", working_days=days, reason=reason), now=now,
                               actor=actor, calendar=CAL, policy=POLICY)


def decide(clock, approve, days, note, now, actor=OPERATOR):
    return d.decide_extension(clock, c.DecideExtension(key="t1", approve=approve, working_days=days, note=note),
                              now=now, actor=actor, calendar=CAL, policy=POLICY)


def stop(clock, when, dispatch_no=1, round_no=1):
    return d.stop_on_reply(clock, replied(when, dispatch_no=dispatch_no, round_no=round_no), now=when, actor=SYSTEM)


def test_a_consult_dispatched_monday_is_due_wednesday_with_its_timers():
    clock = clock_for(at(2026, 11, 2, 9), "consult")
    assert clock.due_date == date(2026, 11, 4) and clock.due_at == at(2026, 11, 5)
    assert (clock.next_fire_kind, clock.next_fire_at) == ("due_soon", at(2026, 11, 4))
    clock, events = fire(clock, at(2026, 11, 3, 23, 59))
    assert events == []
    clock, events = fire(clock, at(2026, 11, 4, 0, 1))
    assert [type(e) for e in events] == [ev.DeadlineDueSoon]
    clock, events = fire(clock, at(2026, 11, 5, 0, 0))
    assert [type(e) for e in events] == [ev.DeadlineOverdue]
    clock, events = fire(clock, at(2026, 11, 5, 12))
    assert events == []  # exactly once


def test_a_jump_far_past_the_deadline_fires_everything_once_and_in_order():
    clock = clock_for(at(2026, 11, 2, 9), "consult")
    # Nov 4 due; working days after: Nov 5 (1), 6 (2), 9 (3) ... at the end of Nov 9, 3 working days overdue
    clock, events = fire(clock, at(2026, 11, 10, 0, 0))
    assert [type(e) for e in events] == [ev.DeadlineDueSoon, ev.DeadlineOverdue] + [ev.DeadlineStillOverdue] * 3
    assert [e.working_days_overdue for e in events[2:]] == [1, 2, 3]
    assert [e.seq for e in events] == [2, 3, 4, 5, 6]
    _, again = fire(clock, at(2026, 11, 10, 0, 0))
    assert again == []


def test_overdue_keeps_counting_past_thirty_working_days_one_tick_per_day_in_order():
    clock = clock_for(at(2026, 11, 2, 9), "consult")              # due Nov 4
    end = d.end_of_day(CAL.add_working_days(date(2026, 11, 4), 50))
    clock, events = fire(clock, end, max_events=100)              # a jump of 50 working days at once
    ticks = [e for e in events if isinstance(e, ev.DeadlineStillOverdue)]
    assert [e.working_days_overdue for e in ticks] == list(range(1, 51))
    assert [e.seq for e in events] == list(range(2, 54))          # one order, no gaps
    assert clock.overdue_ticks == 50 and clock.next_fire_kind == "still_overdue"
    assert clock.next_fire_at == d.end_of_day(CAL.add_working_days(date(2026, 11, 4), 51))  # and it goes on
    clock, (tick,) = fire(clock, clock.next_fire_at)
    assert tick.working_days_overdue == 51


def test_a_firing_carries_at_most_max_events_and_the_rest_stays_due():
    clock = clock_for(at(2026, 11, 2, 9), "consult")
    end = d.end_of_day(CAL.add_working_days(date(2026, 11, 4), 50))
    clock, first = fire(clock, end, max_events=20)
    assert len(first) == 20 and clock.next_fire_at <= end
    clock, rest = fire(clock, end, max_events=100)
    assert [e.working_days_overdue for e in rest] == list(range(19, 51))
    assert [e.seq for e in first + rest] == list(range(2, 54))


def test_overdue_ticks_skip_weekends_and_holidays():
    clock = clock_for(at(2026, 9, 28, 9), "consult")  # due Sep 30; Oct 1-7 off, Oct 10 (Sat) works
    clock, events = fire(clock, at(2026, 10, 11, 0, 0))
    ticks = [e for e in events if isinstance(e, ev.DeadlineStillOverdue)]
    assert [e.working_days_overdue for e in ticks] == [1, 2, 3]  # Oct 8, 9, 10 are the working days


def test_reply_stops_the_clock_met_or_missed():
    clock = clock_for(at(2026, 11, 2, 9), "consult")
    met, (event,) = stop(clock, at(2026, 11, 4, 23, 59))
    assert met.state == "met" and isinstance(event, ev.DeadlineMet) and met.next_fire_at is None
    assert met.stopped_at == at(2026, 11, 4, 23, 59) and event.replied_at == "2026-11-04T15:59:00.000Z"
    missed, (event,) = stop(clock, at(2026, 11, 5, 0, 0))
    assert missed.state == "missed" and isinstance(event, ev.DeadlineMissed)
    assert stop(met, at(2026, 11, 6)) == (met, [])


def test_a_reply_counts_only_against_its_own_rounds_clock():
    clock = clock_for(at(2026, 11, 2, 9), "consult")
    with pytest.raises(NotYet):                                  # round 2's clock has not arrived yet
        stop(clock, at(2026, 11, 3), round_no=2)
    round2, _ = d.reopen_clock(clock, reopened(at(2026, 11, 3), round_no=2, working_days=5, ticket_type="consult"),
                               now=at(2026, 11, 3), actor=SYSTEM, calendar=CAL, policy=POLICY)
    with pytest.raises(Conflict):                                # a late reply of round 1: not this clock's
        stop(round2, at(2026, 11, 4), round_no=1)


def test_a_re_dispatch_starts_a_new_clock_whose_events_follow_the_old_ones():
    old = clock_for(at(2026, 11, 2, 9))
    new, (event,) = d.start_clock(old, dispatched(at(2026, 11, 3, 10), dispatch_no=2, unit_id="city.enforcement"),
                                  now=at(2026, 11, 3, 10), actor=SYSTEM, calendar=CAL, policy=POLICY)
    assert new.unit_id == "city.enforcement" and event.seq == 2 and event.dispatch_no == 2
    assert new.due_date == CAL.add_working_days(date(2026, 11, 3), 20)
    assert [(p.dispatch_no, p.round, p.state, p.late) for p in new.history] == [(1, 1, "stopped", False)]
    assert new.history[0].stopped_at == at(2026, 11, 3, 10)
    assert d.start_clock(new, dispatched(at(2026, 11, 3, 10), dispatch_no=2), now=at(2026, 11, 3), actor=SYSTEM,
                         calendar=CAL, policy=POLICY) == (new, [])
    with pytest.raises(Conflict):
        d.start_clock(new, dispatched(at(2026, 11, 2, 9)), now=at(2026, 11, 3), actor=SYSTEM, calendar=CAL,
                      policy=POLICY)


def test_a_reopening_starts_a_new_round_with_the_days_given_or_the_types_limit():
    first = clock_for(at(2026, 11, 2, 9), "consult")
    late, _ = stop(first, at(2026, 11, 6, 10))
    again, (event,) = d.reopen_clock(late, reopened(at(2026, 11, 9, 10), round_no=2, working_days=5),
                                     now=at(2026, 11, 9, 10), actor=SYSTEM, calendar=CAL, policy=POLICY)
    assert isinstance(event, ev.DeadlineSet) and (event.round, event.working_days, event.seq) == (2, 5, 3)
    assert again.due_date == date(2026, 11, 16) and again.running
    assert [(p.round, p.state, p.due_date, p.late) for p in again.history] == [(1, "missed", date(2026, 11, 4), True)]
    unsatisfied, _ = d.reopen_clock(late, reopened(at(2026, 11, 9, 10), round_no=2, reason="unsatisfied"),
                                    now=at(2026, 11, 9, 10), actor=SYSTEM, calendar=CAL, policy=POLICY)
    assert unsatisfied.working_days == 2                          # the consult's limit
    assert d.reopen_clock(again, reopened(at(2026, 11, 9, 10), round_no=2), now=at(2026, 11, 9), actor=SYSTEM,
                          calendar=CAL, policy=POLICY) == (again, [])
    with pytest.raises(NotYet):
        d.reopen_clock(again, reopened(at(2026, 11, 9), round_no=3, dispatch_no=2), now=at(2026, 11, 9),
                       actor=SYSTEM, calendar=CAL, policy=POLICY)
    round3, _ = d.reopen_clock(again, reopened(at(2026, 11, 10), round_no=3), now=at(2026, 11, 10), actor=SYSTEM,
                               calendar=CAL, policy=POLICY)
    with pytest.raises(Conflict):
        d.reopen_clock(round3, reopened(at(2026, 11, 9), round_no=2), now=at(2026, 11, 10), actor=SYSTEM,
                       calendar=CAL, policy=POLICY)


def test_extension_asked_one_working_day_before_the_deadline_is_refused_with_the_rule():
    clock = clock_for(at(2026, 11, 2, 9))                  # 20 working days: due Nov 30 (Mon)
    assert clock.due_date == date(2026, 11, 30)
    with pytest.raises(RuleViolation) as err:               # Fri Nov 27: one working day (Nov 30) is left
        ask(clock, 5, at(2026, 11, 27, 10))
    assert "2个工作日" in err.value.detail and err.value.extra["working_days_left"] == 1
    assert err.value.detail.startswith(d.R8_RULE)


def test_extension_asked_three_days_before_and_approved_moves_the_deadline():
    clock = clock_for(at(2026, 11, 2, 9))
    clock, (requested,) = ask(clock, 5, at(2026, 11, 25, 10))
    assert isinstance(requested, ev.ExtensionRequested) and requested.requested_working_days == 5
    with pytest.raises(Conflict):
        ask(clock, 2, at(2026, 11, 25, 11), reason="再次申请延期办理")
    clock, (extended,) = decide(clock, True, 3, "同意延期3个工作日", at(2026, 11, 26))
    assert isinstance(extended, ev.DeadlineExtended) and extended.previous_due_date == "2026-11-30"
    assert clock.due_date == date(2026, 12, 3) and clock.extended_days == 3   # Nov 30 + 3 working days
    assert clock.next_fire_kind == "due_soon" and clock.extensions[0].status == "approved"
    assert clock.extensions[0].approved_working_days == 3 and clock.extensions[0].note == "同意延期3个工作日"
    with pytest.raises(Conflict):
        decide(clock, True, None, "", at(2026, 11, 27))     # nothing is waiting


def test_only_the_units_leader_signs_and_only_the_office_decides():
    clock = clock_for(at(2026, 11, 2, 9))
    with pytest.raises(Forbidden):
        ask(clock, 5, at(2026, 11, 10), actor=Actor("c", "unit_handler", "city.environment"))
    with pytest.raises(Forbidden):
        ask(clock, 5, at(2026, 11, 10), actor=Actor("someone", "unit_leader", "city.environment"))
    with pytest.raises(NotFound):
        ask(clock, 5, at(2026, 11, 10), actor=Actor("x", "unit_leader", "city.housing"))
    clock, _ = ask(clock, 5, at(2026, 11, 10))
    with pytest.raises(Forbidden):
        decide(clock, True, None, "", at(2026, 11, 11), actor=LEADER)
    with pytest.raises(ValidationFailed):
        decide(clock, True, 6, "", at(2026, 11, 11))        # more than was asked
    clock, (rejected,) = decide(clock, False, None, "理由不充分", at(2026, 11, 11))
    assert isinstance(rejected, ev.ExtensionRejected) and clock.due_date == date(2026, 11, 30)
    assert rejected.note == "理由不充分" and clock.extensions[0].approved_working_days == 0


def test_an_extension_request_needs_days_within_the_limit_and_a_reason():
    clock = clock_for(at(2026, 11, 2, 9))
    with pytest.raises(ValidationFailed) as err:
        ask(clock, 21, at(2026, 11, 10), reason="太短")
    assert set(err.value.errors) == {"working_days", "reason"}
    stopped, _ = stop(clock, at(2026, 11, 10))
    with pytest.raises(Conflict):
        ask(stopped, 5, at(2026, 11, 11))


def test_a_provisional_deadline_becomes_exact_when_the_year_arrives():
    clock = clock_for(at(2026, 12, 15, 10))
    assert clock.provisional_years == (2027,) and clock.due_date == date(2027, 1, 12)
    calendar = CAL.with_year(parse_year({"year": 2027, "source": "国务院办公厅通知",
                                         "holidays": [{"date": "2027-01-01", "name": "元旦"}]}, "2027"))
    updated, (event,) = d.recompute(clock, RECOMPUTE, now=at(2026, 12, 20), actor=SYSTEM, calendar=calendar,
                                    policy=POLICY)
    assert isinstance(event, ev.DeadlineChanged) and event.previous_due_date == "2027-01-12"
    assert updated.due_date == date(2027, 1, 13) and updated.provisional_years == ()
    assert d.recompute(updated, RECOMPUTE, now=at(2026, 12, 20), actor=SYSTEM, calendar=calendar,
                       policy=POLICY) == (updated, [])


def test_a_year_whose_arrangement_keeps_the_due_date_only_loses_the_provisional_mark():
    clock = clock_for(at(2026, 12, 15, 10))
    clock, _ = fire(clock, at(2027, 1, 12, 1))                     # due soon fired
    calendar = CAL.with_year(parse_year({"year": 2027, "source": "国务院办公厅通知"}, "2027"))
    updated, (event,) = d.recompute(clock, RECOMPUTE, now=at(2027, 1, 12, 1), actor=SYSTEM, calendar=calendar,
                                    policy=POLICY)
    assert updated.due_date == clock.due_date and not updated.provisional and updated.fired.due_soon
    assert updated.next_fire_kind == "overdue" and event.reason == "calendar"
    done, _ = stop(updated, at(2027, 1, 12, 2))
    assert d.recompute(done, RECOMPUTE, now=at(2027, 1, 13), actor=SYSTEM, calendar=calendar,
                       policy=POLICY) == (done, [])


def test_events_carry_the_deadline_and_validate_as_their_contract():
    from hotline_common.events import envelope
    from tests.support import validate_event
    clock, (event,) = d.start_clock(None, dispatched(at(2026, 12, 15, 10)), now=at(2026, 12, 15, 10),
                                    actor=SYSTEM, calendar=CAL, policy=POLICY)
    assert (event.due_date, event.provisional, event.provisional_years) == ("2027-01-12", True, [2027])
    assert event.actor.role == "system" and event.state == "running"
    validate_event(envelope(event, source_service="sla", time=at(2026, 12, 15, 10)))


def test_working_days_left():
    clock = clock_for(at(2026, 11, 2, 9), "consult")
    assert d.working_days_left(clock, date(2026, 11, 2), CAL) == 2
    assert d.working_days_left(clock, date(2026, 11, 4), CAL) == 0
    assert d.working_days_left(clock, date(2026, 11, 6), CAL) == -2
