"""One suite for sla's store: the in-memory fake (fast) and the MongoDB adapter (`-m integration`, on
the embedded server) must behave alike, so the fast tests over the fake say something true."""
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hotline_common.actors import SYSTEM_ACTOR, Actor
from hotline_common.errors import StaleVersion
from hotline_common.testing import FixedClock, RecordingOutbox

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
