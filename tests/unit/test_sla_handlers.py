"""sla's use cases through its handler table, over the in-memory store, outbox and clock (R7, R8)."""
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from hotline_common.actors import Actor
from hotline_common.dispatch import Outcome
from hotline_common.errors import (
    Conflict,
    Forbidden,
    NotAllowedHere,
    NotFound,
    NotYet,
    StaleVersion,
    TransientError,
    ValidationFailed,
)
from services.sla import domain
from services.sla import events as ev
from services.sla.fakes import SlaKit, dispatched, reopened, replied
from services.sla.handlers import HANDLERS
from tests.support import validate_event

CONFIG = Path(__file__).resolve().parents[2] / "config"
BJ = timezone(timedelta(hours=8))
ADMIN = Actor("admin.1", "admin")
OPERATOR = Actor("operator.1", "operator")
LEADER = Actor("city.environment.leader", "unit_leader", "city.environment")
HANDLER = Actor("city.environment.handler", "unit_handler", "city.environment")
OTHER_UNIT = Actor("city.housing.handler", "unit_handler", "city.housing")
NUMBER = "AS20261102000001"
REASON = "需会同公安、城管联合执法，现场取证时间较长"


def at(y, m, d, hh=0, mm=0):
    return datetime(y, m, d, hh, mm, tzinfo=BJ).astimezone(UTC)


@pytest.fixture
def sla():
    return SlaKit(at(2026, 11, 2, 9), CONFIG)


def started(sla, when=None, **kwargs):
    when = when or sla.now()
    assert sla.react(dispatched(when, **kwargs)) == Outcome.APPLIED
    return sla.clock_of(kwargs.get("ticket_id", "t1"))


def data(envelopes, field):
    return [e["data"][field] for e in envelopes]


def test_the_table_names_every_rpc_and_the_three_events_sla_follows():
    assert sorted(HANDLERS.commands) == sorted([
        "deadline", "request_extension", "decide_extension", "list_extensions", "calendar_year",
        "put_calendar_year", "reload_calendar", "get_clock", "set_clock", "advance_clock"])
    assert [t.rsplit(".", 2)[-2:] for t in HANDLERS.event_types()] == [
        ["assignment", "reopened"], ["assignment", "withdrawn"], ["ticket", "dispatched"], ["ticket", "replied"]]


# -- R7: a dispatch starts the clock, a reply stops it ----------------------------------------------------

def test_a_dispatch_starts_the_clock_once(sla):
    event = dispatched(sla.now(), ticket_type="consult")
    assert sla.react(event, event_id="e1") == Outcome.APPLIED
    assert sla.react(event, event_id="e1") == Outcome.DUPLICATE      # a redelivery
    (deadline_set,) = sla.published()
    assert deadline_set["type"] == ev.DeadlineSet.full_type() and deadline_set["data"]["due_date"] == "2026-11-04"
    validate_event(deadline_set)
    view = sla.execute("deadline", OPERATOR, params={"key": NUMBER})
    assert view["ticket_id"] == "t1" and view["working_days_left"] == 2 and view["overdue"] is False
    assert view["version"] == 1 and view["next_fire_kind"] == "due_soon" and view["history"] == []
    assert sla.execute("deadline", HANDLER, params={"key": "t1"})["due_date"] == "2026-11-04"


def test_a_units_people_see_only_their_units_deadlines(sla):
    started(sla)
    with pytest.raises(NotFound):
        sla.execute("deadline", OTHER_UNIT, params={"key": NUMBER})
    with pytest.raises(NotFound):
        sla.execute("deadline", OPERATOR, params={"key": "AS20990101000001"})
    with pytest.raises(ValidationFailed):
        sla.execute("deadline", OPERATOR, params={"key": NUMBER}, body={"x": 1})


def test_a_reply_stops_the_clock_met_or_missed(sla):
    started(sla, ticket_type="consult")
    assert sla.react(replied(at(2026, 11, 4, 18))) == Outcome.APPLIED
    assert sla.react(replied(at(2026, 11, 4, 19))) == Outcome.DUPLICATE  # stopped already
    (met,) = sla.published(ev.DeadlineMet)
    assert met["data"]["state"] == "met" and met["data"]["replied_at"] == "2026-11-04T10:00:00.000Z"
    view = sla.execute("deadline", OPERATOR, params={"key": NUMBER})
    assert view["state"] == "met" and "working_days_left" not in view and view["stopped_at"] == at(2026, 11, 4, 18)
    assert view["next_fire_at"] is None


def test_a_reply_before_its_dispatch_is_retried_later(sla):
    with pytest.raises(NotYet):
        sla.react(replied(sla.now()))
    started(sla)
    with pytest.raises(NotYet):                                  # the reopening of round 2 is on its way
        sla.react(replied(sla.now(), round_no=2))


def test_a_reopening_before_the_clock_is_retried_later(sla):
    with pytest.raises(NotYet):
        sla.react(reopened(sla.now(), round_no=2))


def test_a_re_dispatch_replaces_the_clock_for_the_new_unit(sla):
    started(sla)
    assert sla.react(dispatched(at(2026, 11, 3, 10), dispatch_no=2, unit_id="city.enforcement")) == Outcome.APPLIED
    assert sla.react(dispatched(at(2026, 11, 3, 10), dispatch_no=2)) == Outcome.DUPLICATE
    assert sla.react(dispatched(at(2026, 11, 2, 9), dispatch_no=1), event_id="late") == Outcome.DUPLICATE
    clock = sla.clock_of("t1")
    assert (clock.unit_id, clock.dispatch_no, clock.event_seq) == ("city.enforcement", 2, 2)
    assert sla.react(replied(at(2026, 11, 4), dispatch_no=1)) == Outcome.NO_CHANGE  # the old unit's reply
    assert sla.react(dispatched(at(2026, 11, 4, 10), dispatch_no=3, ticket_id="t2", number="AS2")) == Outcome.APPLIED
    assert sla.clock_of("t2").dispatch_no == 3                  # a later dispatch with no clock before it


def test_a_re_investigation_round_is_judged_against_its_own_deadline_and_round_one_stays_missed(sla):
    started(sla, ticket_type="consult")                                      # round 1 due Nov 4
    sla.set_now(at(2026, 11, 6, 10))
    sla.tick()
    assert sla.react(replied(at(2026, 11, 6, 10))) == Outcome.APPLIED         # late: missed
    sla.set_now(at(2026, 11, 9, 10))                                         # 督办中心 orders re-investigation
    assert sla.react(reopened(at(2026, 11, 9, 10), round_no=2, working_days=5)) == Outcome.APPLIED
    assert sla.react(reopened(at(2026, 11, 9, 10), round_no=2, working_days=5)) == Outcome.DUPLICATE
    round2 = sla.execute("deadline", OPERATOR, params={"key": NUMBER})
    assert (round2["round"], round2["due_date"], round2["state"]) == (2, "2026-11-16", "running")
    assert round2["history"] == [{"dispatch_no": 1, "round": 1, "unit_id": "city.environment", "state": "missed",
                                  "due_date": "2026-11-04", "stopped_at": at(2026, 11, 6, 10), "late": True}]
    assert sla.react(replied(at(2026, 11, 12, 10), round_no=1), event_id="old") == Outcome.NO_CHANGE
    assert sla.react(replied(at(2026, 11, 13, 10), round_no=2)) == Outcome.APPLIED   # within round 2's 5 days
    (missed,) = sla.published(ev.DeadlineMissed)
    (met,) = sla.published(ev.DeadlineMet)
    assert (missed["data"]["round"], missed["data"]["due_date"]) == (1, "2026-11-04")
    assert (met["data"]["round"], met["data"]["due_date"]) == (2, "2026-11-16")
    assert [e["data"]["seq"] for e in sla.published()] == list(range(1, len(sla.published()) + 1))
    for envelope in sla.published():
        validate_event(envelope)


def test_a_re_investigation_of_an_unreplied_overdue_round_keeps_that_round_late_on_record(sla):
    started(sla, ticket_type="consult")                                      # due Nov 4, never replied
    sla.set_now(at(2026, 11, 10, 10))
    sla.tick()                                                               # overdue, 3 working days past
    sla.react(reopened(at(2026, 11, 10, 10), round_no=2, working_days=5))    # re-investigation ordered
    sla.react(replied(at(2026, 11, 12, 10), round_no=2))
    view = sla.execute("deadline", OPERATOR, params={"key": NUMBER})
    assert (view["round"], view["state"]) == (2, "met")
    assert [(p["round"], p["state"], p["late"]) for p in view["history"]] == [(1, "stopped", True)]
    assert len(sla.published(ev.DeadlineOverdue)) == 1 and sla.published(ev.DeadlineOverdue)[0]["data"]["round"] == 1
    assert sla.published(ev.DeadlineStillOverdue)[-1]["data"]["working_days_overdue"] == 3


def test_a_round_replied_after_its_own_deadline_is_missed_even_if_round_one_was_on_time(sla):
    started(sla, ticket_type="consult")
    sla.react(replied(at(2026, 11, 3, 10)))                                   # round 1 met
    sla.react(reopened(at(2026, 11, 5, 10), round_no=2, reason="unsatisfied"))  # the type's limit: due Nov 9
    sla.set_now(at(2026, 11, 12, 10))
    sla.tick()
    sla.react(replied(at(2026, 11, 12, 10), round_no=2))
    assert [(e["data"]["round"], e["type"].rsplit(".", 1)[-1]) for e in sla.published()
            if e["type"] in (ev.DeadlineMet.full_type(), ev.DeadlineMissed.full_type())] == [(1, "met"), (2, "missed")]


def test_a_concurrent_change_is_re_read_and_a_lasting_race_retried_later(sla, monkeypatch):
    started(sla)
    save, calls = sla.store.save, []

    def racing(clock, events, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise StaleVersion("moved")
        return save(clock, events, **kwargs)
    monkeypatch.setattr(sla.store, "save", racing)
    assert sla.react(replied(at(2026, 11, 3))) == Outcome.APPLIED and len(calls) == 2

    monkeypatch.setattr(sla.store, "save", lambda *a, **k: (_ for _ in ()).throw(StaleVersion("moved")))
    with pytest.raises(TransientError):
        sla.react(reopened(at(2026, 11, 5), round_no=2))


def test_a_return_in_a_later_round_gives_the_new_unit_a_clock_in_that_round(sla):
    started(sla)
    sla.react(reopened(at(2026, 11, 5, 10), round_no=2, reason="unsatisfied"))
    assert sla.react(dispatched(at(2026, 11, 6, 10), dispatch_no=2, round_no=2, unit_id="city.enforcement")) \
        == Outcome.APPLIED
    assert sla.clock_of("t1").key == (2, 2)
    assert sla.react(replied(at(2026, 11, 9, 10), dispatch_no=2, round_no=2, unit_id="city.enforcement")) \
        == Outcome.APPLIED
    assert sla.clock_of("t1").state == "met"
    assert [(p.dispatch_no, p.round) for p in sla.clock_of("t1").history] == [(1, 1), (1, 2)]


def test_a_provisional_deadline_is_counted_and_logged(sla, caplog):
    sla.set_now(at(2026, 12, 15, 10))
    started(sla)
    assert sla.execute("deadline", OPERATOR, params={"key": NUMBER})["provisional"] is True
    assert "no holiday data for 2027" in caplog.text


# -- timers -------------------------------------------------------------------------------------------------

def test_timers_fire_once_in_order(sla):
    started(sla, ticket_type="consult")
    assert sla.tick() == 0
    sla.set_now(at(2026, 11, 4, 0, 1))
    assert sla.tick() == 1 and sla.tick() == 0
    sla.set_now(at(2026, 11, 6, 0, 5))
    assert sla.tick() == 1
    assert [e["type"].split(".", 3)[-1] for e in sla.published()] == [
        "deadline.set", "deadline.due_soon", "deadline.overdue", "deadline.still_overdue"]
    view = sla.execute("deadline", OPERATOR, params={"key": NUMBER})
    assert view["overdue"] is True and view["working_days_left"] == -2 and view["overdue_ticks"] == 1


def test_a_jump_of_fifty_working_days_ticks_each_day_with_its_number_in_one_round(sla):
    started(sla, ticket_type="consult")                                        # due Nov 4
    started(sla, ticket_type="consult", ticket_id="t2", number="AS20261102000002")
    calendar = sla.app.calendar
    sla.set_now(domain.end_of_day(calendar.add_working_days(date(2026, 11, 4), 50)) + timedelta(minutes=5))
    assert sla.tick() >= 2
    for number in (NUMBER, "AS20261102000002"):
        mine = [e for e in sla.published() if e["subject"] == number]
        ticks = [e for e in mine if e["type"] == ev.DeadlineStillOverdue.full_type()]
        assert data(ticks, "working_days_overdue") == list(range(1, 51))        # past 30, none twice, in order
        assert data(mine, "seq") == list(range(1, 54))
    assert sla.tick() == 0
    assert sla.execute("deadline", OPERATOR, params={"key": NUMBER})["overdue_ticks"] == 50
    sla.set_now(domain.end_of_day(calendar.add_working_days(date(2026, 11, 4), 51)))
    assert sla.tick() == 2
    assert sla.published(ev.DeadlineStillOverdue)[-1]["data"]["working_days_overdue"] == 51


def test_the_timer_picks_up_a_calendar_another_replica_changed(sla):
    sla.set_now(at(2026, 12, 15, 10))
    started(sla)
    sla.store.put_calendar_override(2027, {"year": 2027, "source": "国务院办公厅通知",
                                           "holidays": [{"date": "2027-01-01", "name": "元旦"}], "workdays": []})
    sla.tick()
    assert sla.app.calendar.is_official(2027)


# -- R8: extensions ------------------------------------------------------------------------------------------

def test_an_extension_asked_in_time_and_approved_moves_the_deadline(sla):
    started(sla)                                                                # due Nov 30
    sla.set_now(at(2026, 11, 25, 10))
    with pytest.raises(Forbidden):
        sla.execute("request_extension", HANDLER, params={"key": NUMBER},
                    body={"working_days": 5, "reason": REASON})
    asked = sla.execute("request_extension", LEADER, params={"key": NUMBER},
                        body={"working_days": 5, "reason": REASON})
    assert asked["extensions"][0]["status"] == "pending" and asked["version"] == 2
    assert asked["extensions"][0]["signed_by"] == LEADER.to_dict()
    with pytest.raises(Forbidden):
        sla.execute("decide_extension", LEADER, params={"key": NUMBER}, body={"approve": True})
    with pytest.raises(ValidationFailed):
        sla.execute("decide_extension", OPERATOR, params={"key": NUMBER}, body={"approve": 1})
    decided = sla.execute("decide_extension", OPERATOR, params={"key": NUMBER},
                          body={"approve": True, "working_days": 4, "note": "同意延期4个工作日"})
    assert decided["due_date"] == "2026-12-04" and decided["extended_days"] == 4 and decided["version"] == 3
    assert decided["extensions"][0] | {"decided_at": None} == {
        **asked["extensions"][0], "status": "approved", "decided_by": OPERATOR.to_dict(), "decided_at": None,
        "note": "同意延期4个工作日", "approved_working_days": 4}
    assert [e["type"].split(".", 3)[-1] for e in sla.published()][-2:] == ["extension.requested", "deadline.extended"]


def test_an_extension_asked_one_working_day_before_is_refused_by_the_rule(sla):
    started(sla)
    sla.set_now(at(2026, 11, 27, 10))
    with pytest.raises(domain.RuleViolation) as err:
        sla.execute("request_extension", LEADER, params={"key": NUMBER}, body={"working_days": 5, "reason": REASON})
    assert "2个工作日" in err.value.detail and err.value.extra["working_days_left"] == 1
    with pytest.raises(ValidationFailed):
        sla.execute("request_extension", LEADER, params={"key": NUMBER}, body={"working_days": "5", "reason": REASON})
    with pytest.raises(ValidationFailed):
        sla.execute("request_extension", LEADER, params={"key": NUMBER})


def test_extensions_are_listed_with_counts_and_a_unit_sees_its_own(sla):
    started(sla)
    started(sla, ticket_id="t2", number="AS20261102000002")
    started(sla, ticket_id="t3", number="AS20261102000003", unit_id="city.housing",
            unit_leaders=("city.housing.leader",))
    sla.set_now(at(2026, 11, 10, 10))
    for number in (NUMBER, "AS20261102000002"):
        sla.execute("request_extension", LEADER, params={"key": number}, body={"working_days": 3, "reason": REASON})
    sla.execute("request_extension", Actor("city.housing.leader", "unit_leader", "city.housing"),
                params={"key": "AS20261102000003"}, body={"working_days": 3, "reason": REASON})
    sla.execute("decide_extension", OPERATOR, params={"key": NUMBER}, body={"approve": False, "note": "理由不充分"})
    listed = sla.execute("list_extensions", OPERATOR, query={})
    assert listed["counts_by_unit"] == {
        "city.environment": {"requested": 2, "approved": 0, "rejected": 1, "pending": 1},
        "city.housing": {"requested": 1, "approved": 0, "rejected": 0, "pending": 1}}
    assert {e["number"] for e in listed["items"]} == {NUMBER, "AS20261102000002", "AS20261102000003"}
    assert listed["items"][0]["due_date"] == "2026-11-30"
    pending = sla.execute("list_extensions", OPERATOR, query={"unit": "city.environment", "status": "pending"})
    assert [e["number"] for e in pending["items"]] == ["AS20261102000002"]
    own = sla.execute("list_extensions", HANDLER, query={"unit": "city.housing", "limit": "1"})
    assert [e["unit_id"] for e in own["items"]] == ["city.environment"]
    with pytest.raises(Forbidden):
        sla.execute("list_extensions", Actor("s", "subscriber"), query={})


# -- the work calendar ---------------------------------------------------------------------------------------

def test_calendar_years_official_or_provisional(sla):
    year = sla.execute("calendar_year", OPERATOR, params={"year": 2026})
    assert year["official"] and any(d["date"] == "2026-10-10" and not d["off"] for d in year["days"])
    later = sla.execute("calendar_year", OPERATOR, params={"year": "2031"})
    assert not later["official"] and later["counting"].startswith("weekends only") and later["days"] == []
    for bad in ("20x1", 1999, True, None):
        with pytest.raises(ValidationFailed):
            sla.execute("calendar_year", OPERATOR, params={"year": bad})
    with pytest.raises(ValidationFailed):
        sla.execute("calendar_year", OPERATOR, params={"year": 2026}, body={"x": 1})


def test_a_years_arrangement_put_by_an_admin_recomputes_provisional_deadlines(sla):
    sla.set_now(at(2026, 12, 15, 10))
    started(sla)                                                                # due 2027-01-12, provisional
    started(sla, ticket_id="t2", number="AS20261102000002", ticket_type="consult")  # within 2026: exact
    body = {"source": "国务院办公厅关于2027年部分节假日安排的通知（测试数据）",
            "holidays": [{"date": "2027-01-01", "name": "元旦"}], "workdays": []}
    with pytest.raises(Forbidden):
        sla.execute("put_calendar_year", OPERATOR, params={"year": 2027}, body=body)
    with pytest.raises(ValidationFailed):                                     # the body's year is the path's
        sla.execute("put_calendar_year", ADMIN, params={"year": 2027}, body={**body, "year": 2028})
    with pytest.raises(ValidationFailed) as err:
        sla.execute("put_calendar_year", ADMIN, params={"year": 2027},
                    body={**body, "holidays": [{"date": "2030-01-01"}]})
    assert "outside 2027" in err.value.detail
    result = sla.execute("put_calendar_year", ADMIN, params={"year": 2027}, body={**body, "year": 2027})
    assert result["official"] and result["recomputed"] == 1 and result["days"][0]["name"] == "元旦"
    (changed,) = sla.published(ev.DeadlineChanged)
    assert changed["data"]["previous_due_date"] == "2027-01-12" and changed["data"]["due_date"] == "2027-01-13"
    validate_event(changed)
    assert sla.execute("deadline", OPERATOR, params={"key": NUMBER})["provisional"] is False
    assert sla.store.calendar_overrides()[0]["holidays"] == [{"date": "2027-01-01", "name": "元旦"}]


def test_reloading_the_calendar_files_is_for_admins(sla):
    with pytest.raises(Forbidden):
        sla.execute("reload_calendar", OPERATOR)
    result = sla.execute("reload_calendar", ADMIN)
    assert 2026 in result["official_years"] and result["recomputed"] == 0
    assert sla.store.calendar_revision() == 1


# -- the shared clock (infrastructure served by sla) ------------------------------------------------------

def test_anyone_reads_the_clock_and_an_admin_moves_it_forward(sla):
    clock = sla.execute("get_clock", HANDLER)
    assert clock == {"now": "2026-11-02T01:00:00.000Z", "local": "2026-11-02T09:00:00+08:00",
                     "mode": "controllable", "environment": "test"}
    with pytest.raises(Forbidden):
        sla.execute("set_clock", OPERATOR, body={"now": "2026-11-30T10:00:00+08:00"})
    moved = sla.execute("set_clock", ADMIN, body={"now": "2026-11-30T10:00:00+08:00", "running": False})
    assert moved["local"] == "2026-11-30T10:00:00+08:00" and sla.now() == at(2026, 11, 30, 10)


def test_the_clock_refuses_to_go_back_unless_forced(sla):
    with pytest.raises(Conflict) as err:
        sla.execute("set_clock", ADMIN, body={"now": "2026-11-01T09:00:00+08:00", "running": False})
    assert "force" in err.value.detail and err.value.extra["requested"] == "2026-11-01T01:00:00.000Z"
    assert sla.now() == at(2026, 11, 2, 9)                                      # unchanged
    with pytest.raises(ValidationFailed):
        sla.execute("set_clock", ADMIN, body={"now": "2026-11-01T09:00:00+08:00", "force": 1})
    back = sla.execute("set_clock", ADMIN, body={"now": "2026-11-01T09:00:00+08:00", "running": False, "force": True})
    assert back["local"] == "2026-11-01T09:00:00+08:00"
    # writing back the time it shows, a moment late, is no jump
    sla.execute("set_clock", ADMIN, body={"now": "2026-11-01T08:59:58+08:00", "running": False})
    assert sla.now() == at(2026, 11, 1, 8, 59) + timedelta(seconds=58)


def test_advancing_the_clock_by_working_days_or_seconds(sla):
    friday = sla.execute("advance_clock", ADMIN, body={"working_days": 4})  # Mon Nov 2 + 4 working days
    assert friday["local"] == "2026-11-06T09:00:00+08:00"
    later = sla.execute("advance_clock", ADMIN, body={"seconds": 3600})
    assert later["local"] == "2026-11-06T10:00:00+08:00"
    assert sla.clock_state.state.rate == 0                                      # a frozen clock stays frozen
    sla.clock_state.state = None                                                # no state: the real time, running
    sla.execute("advance_clock", ADMIN, body={"seconds": 60})
    assert sla.clock_state.state.rate == 1
    for bad in ({}, {"seconds": 1, "working_days": 1}, {"working_days": 251}, {"seconds": "60"}):
        with pytest.raises(ValidationFailed):
            sla.execute("advance_clock", ADMIN, body=bad)
    with pytest.raises(Forbidden):
        sla.execute("advance_clock", OPERATOR, body={"seconds": 60})


def test_the_clock_cannot_be_moved_in_production_or_on_the_system_clock():
    production = SlaKit(at(2026, 11, 2, 9), CONFIG, environment="production", clock_mode="system")
    for name, body in (("set_clock", {"now": "2027-01-01T00:00:00+08:00"}), ("advance_clock", {"working_days": 3})):
        with pytest.raises(NotAllowedHere):
            production.execute(name, ADMIN, body=body)
    assert production.execute("get_clock", ADMIN)["environment"] == "production"
    system = SlaKit(at(2026, 11, 2, 9), CONFIG, clock_mode="system")
    with pytest.raises(NotAllowedHere, match="CLOCK_MODE=system"):
        system.execute("advance_clock", ADMIN, body={"seconds": 5})
