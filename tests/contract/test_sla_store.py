"""One suite for sla's store: the in-memory fake (fast) and the MongoDB adapter (`-m integration`, on
the embedded server) must behave alike, so the fast tests over the fake say something true."""
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from hotline_common.actors import SYSTEM_ACTOR, Actor
from hotline_common.errors import StaleVersion
from hotline_common.testing import FixedClock, RecordingOutbox
from hotline_common.timeutil import iso
from services.sla import commands as c
from services.sla import domain as d
from services.sla import events as ev
from services.sla.calendar_source import build_calendar
from services.sla.fakes import dispatched, reopened, replied

CONFIG = Path(__file__).resolve().parents[2] / "config"
CAL = build_calendar(CONFIG)
POLICY = d.Policy({"consult": 2, "suggest": 2, "help": 20, "complain": 20, "report": 20})
BJ = timezone(timedelta(hours=8))
LEADER = Actor("city.environment.leader", "unit_leader", "city.environment")
OPERATOR = Actor("op", "operator")


def at(y, m, day, hh=0, mm=0):
    return datetime(y, m, day, hh, mm, tzinfo=BJ).astimezone(UTC)


@pytest.fixture
def outbox():
    return RecordingOutbox("sla", FixedClock(at(2026, 11, 2, 9)))


@pytest.fixture(params=["fake", pytest.param("mongo", marks=pytest.mark.integration)])
def store(request, outbox):
    if request.param == "fake":
        from services.sla.fakes import FakeSlaStore
        return FakeSlaStore(outbox)
    from hotline_common.mongo import client
    from services.sla.store import SlaStore
    uri, prefix = request.getfixturevalue("mongo_uri"), request.getfixturevalue("db_prefix")
    store = SlaStore(client(uri)[prefix + "sla"], outbox)
    store.ensure_indexes()
    return store


def clock(when, n=1, ticket_type="consult", unit_id="city.environment"):
    return d.start_clock(None, dispatched(when, ticket_type=ticket_type, ticket_id=f"t{n}",
                                          number=f"AS2026110200000{n}", unit_id=unit_id),
                         now=when, actor=SYSTEM_ACTOR, calendar=CAL, policy=POLICY)


def stored(store, when, n=1, **kwargs):
    new, events = clock(when, n, **kwargs)
    assert store.add(new, events, cause=f"dispatch-{n}")
    return store.get(new.ticket_id)


def test_a_clock_is_stored_and_read_back_whole_by_id_or_number(store, outbox):
    new, events = clock(at(2026, 11, 2, 9))
    assert store.add(new, events, cause="dispatch-1")
    assert store.get("t1") == replace(new, version=1)
    assert store.get("AS20261102000001") == replace(new, version=1)
    assert store.get("AS20261102999999") is None
    assert outbox.types() == [ev.DeadlineSet.full_type()]


def test_every_field_survives_the_round_trip(store):
    one = stored(store, at(2026, 11, 2, 9), ticket_type="complain")
    asked, events = d.request_extension(one, c.RequestExtension(key="t1", working_days=3, reason="需协调多个部门联合执法"),
                                        now=at(2026, 11, 10), actor=LEADER, calendar=CAL, policy=POLICY)
    store.save(asked, events)
    decided, events = d.decide_extension(store.get("t1"), c.DecideExtension(key="t1", approve=True, note="同意"),
                                         now=at(2026, 11, 11), actor=OPERATOR, calendar=CAL, policy=POLICY)
    store.save(decided, events)
    done, events = d.stop_on_reply(store.get("t1"), replied(at(2026, 11, 12)), now=at(2026, 11, 12),
                                   actor=SYSTEM_ACTOR)
    store.save(done, events)
    assert store.get("t1") == replace(done, version=4)
    assert store.get("t1").extensions[0].decided_by == Actor("op", "operator")
    again, events = d.reopen_clock(store.get("t1"), reopened(at(2026, 11, 13), round_no=2), now=at(2026, 11, 13),
                                   actor=SYSTEM_ACTOR, calendar=CAL, policy=POLICY)
    store.save(again, events)
    assert store.get("t1") == replace(again, version=5)
    assert store.get("t1").stopped_at is None and store.get("t1").history[0].state == "met"


def test_the_event_that_started_a_clock_starts_it_once(store, outbox):
    new, events = clock(at(2026, 11, 2, 9))
    assert store.add(new, events, cause="dispatch-1")
    assert not store.add(new, events, cause="dispatch-1")
    assert len(outbox.published) == 1


def test_a_save_is_versioned_and_a_repeated_cause_applies_once(store, outbox):
    one = stored(store, at(2026, 11, 2, 9))
    done, events = d.stop_on_reply(one, replied(at(2026, 11, 3)), now=at(2026, 11, 3), actor=SYSTEM_ACTOR)
    assert store.save(done, events, cause="reply-1")
    # a redelivery changes nothing (the real store reports it applied when its derived event ids are
    # recorded already, the fake that it was not; either way the same ids, once in the document)
    store.save(replace(done, version=2), events, cause="reply-1")
    with pytest.raises(StaleVersion):
        store.save(done, events)                                               # read at version 1, now 2
    assert store.get("t1").state == "met" and store.get("t1").version == 2
    ids = {e["type"]: e["id"] for e in outbox.published}
    assert list(ids) == [ev.DeadlineSet.full_type(), ev.DeadlineMet.full_type()]
    assert {e["id"] for e in outbox.published} == set(ids.values())


def test_due_clocks_earliest_first_and_only_those_due(store):
    later = stored(store, at(2026, 11, 3, 9), 1)          # due soon Nov 5
    first = stored(store, at(2026, 11, 2, 9), 2)          # due soon Nov 4
    stopped = stored(store, at(2026, 11, 2, 9), 3)
    done, events = d.stop_on_reply(stopped, replied(at(2026, 11, 2, 10), ticket_id="t3"), now=at(2026, 11, 2, 10),
                                   actor=SYSTEM_ACTOR)
    store.save(done, events)
    assert store.due(at(2026, 11, 3, 23), 10) == []
    assert [x.ticket_id for x in store.due(at(2026, 11, 5, 1), 10)] == [first.ticket_id, later.ticket_id]
    assert [x.ticket_id for x in store.due(at(2026, 11, 5, 1), 1)] == [first.ticket_id]


def test_firing_many_applies_each_clock_at_its_version_once(store, outbox):
    one, two = stored(store, at(2026, 11, 2, 9), 1), stored(store, at(2026, 11, 2, 9), 2)
    fired = [d.fire(x, c.FireTimers(), now=at(2026, 11, 6, 1), actor=SYSTEM_ACTOR, calendar=CAL) for x in (one, two)]
    assert store.save_many([fired[0]]) == ["t1"]
    before = len(outbox.published)
    assert store.save_many(fired) == ["t2"]                 # t1 moved on: skipped, its events dropped
    assert len(outbox.published) - before == len(fired[1][1])
    assert store.get("t1").fired.overdue and store.get("t2").overdue_ticks == 1
    assert store.save_many([]) == []


def test_running_provisional_clocks(store):
    stored(store, at(2026, 12, 15, 10), 1, ticket_type="complain")    # into 2027: provisional
    stored(store, at(2026, 11, 2, 9), 2)                               # exact
    three = stored(store, at(2026, 12, 15, 10), 3, ticket_type="complain")
    done, events = d.stop_on_reply(three, replied(at(2026, 12, 16), ticket_id="t3"), now=at(2026, 12, 16),
                                   actor=SYSTEM_ACTOR)
    store.save(done, events)
    assert [x.ticket_id for x in store.running_provisional()] == ["t1"]
    assert [x.ticket_id for x in store.running_provisional([2027])] == ["t1"]
    assert store.running_provisional([2028]) == []


def test_extension_requests_listed_by_unit_and_status_newest_first(store):
    for n, unit, when in ((1, "city.environment", 10), (2, "city.environment", 11), (3, "city.housing", 12)):
        x = stored(store, at(2026, 11, 2, 9), n, ticket_type="complain", unit_id=unit)
        leader = Actor(f"{unit}.leader", "unit_leader", unit)
        asked, events = d.request_extension(replace(x, unit_leaders=()), c.RequestExtension(
            key=x.ticket_id, working_days=3, reason="需协调多个部门联合执法"), now=at(2026, 11, when), actor=leader,
            calendar=CAL, policy=POLICY)
        store.save(asked, events)
    decided, events = d.decide_extension(store.get("t1"), c.DecideExtension(key="t1", approve=False), now=at(2026, 11, 13),
                                         actor=OPERATOR, calendar=CAL, policy=POLICY)
    store.save(decided, events)
    assert [r.number for r in store.extensions(None, None)] == [
        "AS20261102000003", "AS20261102000002", "AS20261102000001"]
    assert [r.number for r in store.extensions("city.environment", "pending")] == ["AS20261102000002"]
    (rejected,) = store.extensions(None, "rejected")
    assert rejected.extension.status == "rejected" and rejected.unit_id == "city.environment"
    assert store.extensions("city.transport", None) == []


def test_calendar_overrides_and_their_revision(store):
    assert store.calendar_revision() == 0 and store.calendar_overrides() == []
    document = {"year": 2027, "source": "国务院办公厅通知", "holidays": [{"date": "2027-01-01", "name": "元旦"}],
                "workdays": []}
    assert store.put_calendar_override(2027, document) == 1
    assert store.put_calendar_override(2027, {**document, "holidays": []}) == 2
    assert store.bump_calendar() == 3 and store.calendar_revision() == 3
    assert store.calendar_overrides() == [{**document, "holidays": [], "_id": 2027}]


# -- timer runs: prepared ahead, fired by one write per run, folded in afterwards ---------------------------

def prepare(store, now, until, max_events=50):
    """What sla's timer does ahead of an instant: the clocks due by `until`, fired from their instant."""
    entries = []
    for x, rid in store.pending(None, until):
        assert rid is not None
        after, events = d.fire(x, c.FireTimers(max_events=max_events), now=max(x.next_fire_at, now),
                               actor=SYSTEM_ACTOR, calendar=CAL)
        entries.append((rid, x.next_fire_at, x, after, events))
    return store.prepare(entries, now)


def test_a_run_prepared_ahead_fires_once_at_its_instant_and_is_folded_in(store, outbox):
    one, two = stored(store, at(2026, 11, 2, 9), 1), stored(store, at(2026, 11, 2, 9), 2)   # due soon Nov 4, 00:00
    instant = one.next_fire_at
    assert prepare(store, instant - timedelta(seconds=30), instant) == []
    assert store.pending(None, instant) == []                                  # prepared: not again
    before = len(outbox.published)
    assert store.fire_runs(instant - timedelta(seconds=1)).fired == 0          # not before its instant
    result = store.fire_runs(instant)
    assert result.fired == 2 and result.types == [ev.DeadlineDueSoon.full_type()] * 2 and result.behind == []
    assert store.fire_runs(instant).fired == 0                                  # once
    fired = outbox.published[before:]
    assert [e["type"] for e in fired] == [ev.DeadlineDueSoon.full_type()] * 2
    assert {e["time"] for e in fired} == {iso(instant)}                          # fired at its instant
    assert store.get("t1").fired.due_soon and store.get("t1").version == 2   # folded in on read
    assert store.fold_runs() == 2 and store.fold_runs() == 0
    assert store.get("t2").fired.due_soon and store.get("t2").next_fire_kind == "overdue"
    assert store.pending(None, instant + timedelta(hours=1)) == []             # next: the overdue, next day
    assert [x.ticket_id for x, _ in store.pending(None, two.due_at)] == ["t1", "t2"]


def test_a_writer_holds_a_prepared_clock_out_of_its_run(store, outbox):
    one = stored(store, at(2026, 11, 2, 9), 1)
    stored(store, at(2026, 11, 2, 9), 2)
    instant = one.next_fire_at
    prepare(store, instant - timedelta(seconds=30), instant)
    done, events = d.stop_on_reply(one, replied(instant - timedelta(seconds=5)), now=instant - timedelta(seconds=5),
                                   actor=SYSTEM_ACTOR)
    assert store.save(done, events, was=one)                                    # held, then written
    result = store.fire_runs(instant)
    assert result.fired == 1 and store.get("t1").state == "met" and not store.get("t1").fired.due_soon
    assert [e["subject"] for e in outbox.published if e["type"] == ev.DeadlineDueSoon.full_type()] == [
        "AS20261102000002"]


def test_a_writer_late_for_a_fired_run_re_reads_the_clock_with_the_firing_in(store):
    one = stored(store, at(2026, 11, 2, 9), 1)
    instant = one.next_fire_at
    prepare(store, instant - timedelta(seconds=30), instant)
    store.fire_runs(instant)
    done, events = d.stop_on_reply(one, replied(instant + timedelta(hours=1)), now=instant + timedelta(hours=1),
                                   actor=SYSTEM_ACTOR)
    with pytest.raises(StaleVersion):
        store.save(done, events, was=one)                                       # read before the run fired
    fresh = store.get("t1")
    assert fresh.fired.due_soon and fresh.event_seq == 2
    again, events = d.stop_on_reply(fresh, replied(instant + timedelta(hours=1)), now=instant + timedelta(hours=1),
                                    actor=SYSTEM_ACTOR)
    assert store.save(again, events, was=fresh)
    assert store.get("t1").state == "met" and store.get("t1").event_seq == 3
    assert store.fold_runs() == 1 and store.get("t1").state == "met"            # the writer's version stands


def test_a_clock_whose_run_fired_without_it_is_fired_on_its_own(store):
    one = stored(store, at(2026, 11, 2, 9), 1)
    instant = one.next_fire_at
    store.save(replace(one, unit_leaders=("someone",)), [], was=one)             # a writer held t1@1 (no run yet)
    assert store.fire_runs(instant).fired == 0                                  # the run: nothing in it
    ((late, rid),) = store.pending(None, instant)
    assert late.ticket_id == "t1" and late.version == 2 and rid is None         # its run fired: on its own
    fired = d.fire(late, c.FireTimers(), now=instant, actor=SYSTEM_ACTOR, calendar=CAL)
    assert store.save_many([fired]) == ["t1"] and store.get("t1").fired.due_soon


def test_the_prepared_horizon_moves_forward_and_a_writer_pulls_it_back(store):
    assert store.prepared_through() is None
    assert store.advance_horizon(None, at(2026, 11, 4))
    assert not store.advance_horizon(None, at(2026, 11, 5))                     # another replica was first
    assert store.advance_horizon(at(2026, 11, 4), at(2026, 11, 5))
    store.rearm(at(2026, 11, 6))                                                # beyond: nothing to do
    assert store.prepared_through() == at(2026, 11, 5)
    store.rearm(at(2026, 11, 4, 12))
    assert store.prepared_through() < at(2026, 11, 4, 12)
    assert not store.advance_horizon(at(2026, 11, 5), at(2026, 11, 6))          # moved since read
