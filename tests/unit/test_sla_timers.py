"""sla's timers fired in bulk: prepared into timer runs ahead of their instant, fired by one write per
run at it, folded into the clocks afterwards; writers and replicas serialised through the runs."""
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from hotline_common.actors import Actor
from hotline_common.dispatch import Outcome
from hotline_common.timeutil import iso
from services.sla import events as ev
from services.sla.fakes import SlaKit, dispatched, replied
from services.sla.handlers import Sla, fire_timers, fold_timers
from services.sla.store import from_doc

CONFIG = Path(__file__).resolve().parents[2] / "config"
BJ = timezone(timedelta(hours=8))
OPERATOR = Actor("operator.1", "operator")
INSTANT = datetime(2026, 11, 4, tzinfo=BJ).astimezone(UTC)   # consult tickets dispatched Nov 2: due soon Nov 4


def at(y, m, d, hh=0, mm=0, ss=0):
    return datetime(y, m, d, hh, mm, ss, tzinfo=BJ).astimezone(UTC)


@pytest.fixture
def sla():
    kit = SlaKit(at(2026, 11, 2, 9), CONFIG)
    for n in (1, 2, 3):
        assert kit.react(dispatched(kit.now(), ticket_type="consult", ticket_id=f"t{n}",
                                    number=f"AS2026110200000{n}")) == Outcome.APPLIED
    return kit


def due_soon(kit):
    return kit.published(ev.DeadlineDueSoon)


def stored(kit, tid):
    """The clock's own document, as stored (no fired run folded in)."""
    return from_doc(kit.store.clocks.get(tid))


def test_timers_are_prepared_ahead_and_fired_at_their_instant_by_one_round(sla):
    sla.set_now(INSTANT - timedelta(seconds=30))
    assert fire_timers(sla.app) == 0                                   # prepared, not fired
    assert sum(len(r["keys"]) for r in sla.store.runs.values()) == 3 and all(
        r["status"] == "open" for r in sla.store.runs.values())
    assert due_soon(sla) == []
    sla.set_now(INSTANT)
    assert fire_timers(sla.app) == 3 and fire_timers(sla.app) == 0
    assert {e["time"] for e in due_soon(sla)} == {iso(INSTANT)} and len(due_soon(sla)) == 3
    assert not stored(sla, "t1").fired.due_soon                       # the clock's own document: not yet
    assert sla.clock_of("t1").fired.due_soon                           # read: the firing folded in
    assert fold_timers(sla.app) == 3 and stored(sla, "t2").fired.due_soon
    assert stored(sla, "t1").version == 2                               # folded once (by the read), not twice
    view = sla.execute("deadline", OPERATOR, params={"key": "AS20261102000003"})
    assert view["fired"]["due_soon"] and view["next_fire_kind"] == "overdue" and view["event_seq"] == 2


def test_two_replicas_fire_each_timer_once(sla):
    other = Sla(store=sla.store, clock=sla.clock, policy=sla.app.policy, calendars=sla.app.calendars,
                clock_admin=sla.app.clock_admin)
    sla.set_now(INSTANT - timedelta(seconds=20))
    fire_timers(sla.app)                                                  # one replica prepares
    assert fire_timers(other) == 0                                         # the other finds it prepared
    sla.set_now(INSTANT)
    assert fire_timers(other) + fire_timers(sla.app) == 3                  # whoever comes first fires
    assert len(due_soon(sla)) == 3 and len({e["id"] for e in due_soon(sla)}) == 3


def test_a_reply_between_preparation_and_instant_keeps_its_timer_from_firing(sla):
    sla.set_now(INSTANT - timedelta(seconds=30))
    fire_timers(sla.app)
    assert sla.react(replied(INSTANT - timedelta(seconds=10), ticket_id="t2",
                             number="AS20261102000002")) == Outcome.APPLIED
    sla.set_now(INSTANT)
    assert fire_timers(sla.app) == 2
    assert sorted(e["subject"] for e in due_soon(sla)) == ["AS20261102000001", "AS20261102000003"]
    assert sla.clock_of("t2").state == "met" and not sla.clock_of("t2").fired.due_soon


def test_a_reply_after_the_instant_sees_the_firing_before_it_is_folded_in(sla):
    sla.set_now(INSTANT - timedelta(seconds=30))
    fire_timers(sla.app)
    sla.set_now(INSTANT)
    fire_timers(sla.app)                                                   # fired, not folded in
    assert sla.react(replied(INSTANT + timedelta(hours=2))) == Outcome.APPLIED
    mine = [e for e in sla.published() if e["subject"] == "AS20261102000001"]
    assert [(e["type"].rsplit(".", 1)[-1], e["data"]["seq"]) for e in mine] == [("set", 1), ("due_soon", 2), ("met", 3)]
    assert fold_timers(sla.app) == 3 and sla.clock_of("t1").state == "met"  # the reply's version stands


def test_a_reply_racing_the_firing_is_decided_again_on_the_fired_clock(sla, monkeypatch):
    sla.set_now(INSTANT - timedelta(seconds=30))
    fire_timers(sla.app)
    sla.set_now(INSTANT)
    save = sla.store.save

    def fired_meanwhile(clock, events, **kwargs):                          # the run fires between read and write
        sla.store.fire_runs(INSTANT)
        return save(clock, events, **kwargs)
    monkeypatch.setattr(sla.store, "save", fired_meanwhile)
    sla.set_now(INSTANT - timedelta(seconds=1))                            # the reply is read just before
    assert sla.react(replied(INSTANT - timedelta(seconds=1))) == Outcome.APPLIED
    mine = [e for e in sla.published() if e["subject"] == "AS20261102000001"]
    assert [(e["type"].rsplit(".", 1)[-1], e["data"]["seq"]) for e in mine] == [("set", 1), ("due_soon", 2), ("met", 3)]


def test_a_timer_already_due_when_written_fires_in_the_next_round(sla):
    sla.set_now(at(2026, 11, 4, 10))
    fire_timers(sla.app)                                                   # the three due soon
    assert sla.react(dispatched(at(2026, 11, 4, 10), ticket_type="consult", ticket_id="t9",
                                number="AS20261104000009")) == Outcome.APPLIED
    assert fire_timers(sla.app) == 0                                       # due Nov 6: nothing yet
    late = sla.clock_of("t9")
    sla.set_now(late.next_fire_at + timedelta(seconds=5))
    assert fire_timers(sla.app) >= 1 and sla.clock_of("t9").fired.due_soon
