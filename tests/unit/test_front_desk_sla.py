"""sla's part of the front desk (issue 12), through its handler table over its fakes: a re-dispatch
(改派) or pass-down (下派) keeps counting from the first dispatch (the running clock moves to the new
unit); a ticket merged into another (并单) is withdrawn and its clock stops."""
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from hotline_common.dispatch import Outcome
from hotline_common.errors import NotYet
from hotline_common.timeutil import iso
from services.routing.events import AssignmentWithdrawn
from services.sla import events as ev
from services.sla.fakes import SlaKit, _routing_actor, _state, dispatched, replied
from tests.support import validate_event

CONFIG = Path(__file__).resolve().parents[2] / "config"
BJ = timezone(timedelta(hours=8))


def at(y, m, d, hh=0, mm=0):
    return datetime(y, m, d, hh, mm, tzinfo=BJ).astimezone(UTC)


@pytest.fixture
def sla():
    return SlaKit(at(2026, 11, 2, 9), CONFIG)


def moved(when, dispatch_no=2, unit_id="street.tiedong.shengli", **kwargs):
    return replace(dispatched(when, dispatch_no=dispatch_no, unit_id=unit_id, **kwargs), kind="pass_down",
                   keeps_deadline=True, reason="请街道核实处理", previous_unit="city.environment")


def withdrawn(when, dispatch_no=1, ticket_id="t1", number="AS20261102000001"):
    state = replace(_state(dispatch_no, 1, "dispatched"), status="withdrawn", lead_unit=None)
    return AssignmentWithdrawn(ticket_id=ticket_id, number=number, unit_id=None, at=iso(when), actor=_routing_actor(),
                               seq=5, state=state, units=[], previous_unit="city.environment", main_ticket_id="t9",
                               main_number="AS20261102000009")


def test_a_pass_down_or_redispatch_keeps_the_first_dispatchs_deadline_for_the_new_unit(sla):
    assert sla.react(dispatched(sla.now(), ticket_type="consult")) == Outcome.APPLIED   # due Nov 4
    first = sla.clock_of("t1")
    assert sla.react(moved(at(2026, 11, 3, 15), ticket_type="consult")) == Outcome.APPLIED
    clock = sla.clock_of("t1")
    assert (clock.unit_id, clock.dispatch_no, clock.due_date, clock.started_at) == (
        "street.tiedong.shengli", 2, first.due_date, first.started_at)
    assert clock.next_fire_at == first.next_fire_at and clock.round == 1
    (_, again) = sla.published(ev.DeadlineSet)
    validate_event(again)
    assert again["data"]["unit_id"] == "street.tiedong.shengli" and again["data"]["dispatch_no"] == 2
    assert again["data"]["due_date"] == "2026-11-04" and again["data"]["seq"] == 2
    assert sla.react(moved(at(2026, 11, 3, 15), ticket_type="consult")) == Outcome.DUPLICATE
    # the new unit's reply is judged against the first dispatch's deadline
    assert sla.react(replied(at(2026, 11, 5, 10), dispatch_no=2, unit_id="street.tiedong.shengli")) == Outcome.APPLIED
    assert sla.published(ev.DeadlineMissed)[0]["data"]["unit_id"] == "street.tiedong.shengli"


def test_a_move_before_the_first_clock_waits_for_it(sla):
    with pytest.raises(NotYet):
        sla.react(moved(sla.now()))


def test_a_merged_tickets_clock_stops_without_timers(sla):
    assert sla.react(withdrawn(sla.now(), dispatch_no=0)) == Outcome.NO_CHANGE      # never dispatched: no clock
    with pytest.raises(NotYet):                                                     # its clock is on its way
        sla.react(withdrawn(sla.now()))
    sla.react(dispatched(sla.now(), ticket_type="consult"))
    assert sla.react(withdrawn(at(2026, 11, 2, 10))) == Outcome.APPLIED
    clock = sla.clock_of("t1")
    assert clock.state == "stopped" and clock.next_fire_at is None and clock.stopped_at == at(2026, 11, 2, 10)
    assert sla.react(withdrawn(at(2026, 11, 2, 10)), event_id="again") == Outcome.DUPLICATE
    sla.set_now(at(2026, 11, 10, 9))
    assert sla.tick() == 0 and sla.published(ev.DeadlineOverdue) == []
    # unmerged and dispatched again: a new clock
    assert sla.react(dispatched(at(2026, 11, 10, 9), dispatch_no=2, ticket_type="consult")) == Outcome.APPLIED
    assert sla.clock_of("t1").running and sla.clock_of("t1").history[-1].state == "stopped"
