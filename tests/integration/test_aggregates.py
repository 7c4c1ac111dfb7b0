"""The storage primitives every service stands on, against the real MongoDB wire server:
versioned aggregates, the inbox, the staged outbox, group commit (DESIGN §4)."""
import eventlet
import pytest

from hotline_common.clock import FixedClock, utcnow
from hotline_common.errors import NotFound, StaleVersion
from hotline_common.events import DomainEvent, T
from hotline_common.mongo import AggregateCollection, client, increment
from hotline_common.outbox import Outbox


class Relay:
    """Stands in for the broker side only: records what the store hands over as committed."""

    def __init__(self):
        self.committed = []

    def submit(self, collection, key, envelopes):
        self.committed += [e["id"] for e in envelopes]


@pytest.fixture
def db(mongo_uri, db_prefix):
    return client(mongo_uri)[db_prefix + "aggregates"]


@pytest.fixture
def relay():
    return Relay()


@pytest.fixture
def things(db, relay):
    return AggregateCollection(db.things, Outbox("test", FixedClock(utcnow()), relay, db))


def event(n=1):
    return DomainEvent(T.TICKET_REGISTERED, f"AS{n}", {"ticket_id": f"t{n}"})


def test_insert_commits_its_events_and_a_repeat_of_the_cause_is_skipped(things, db, relay):
    assert things.insert({"_id": "a", "x": 1}, [event()], cause="e1").applied
    assert not things.insert({"_id": "a", "x": 2}, [event()], cause="e1").applied
    doc = db.things.find_one({"_id": "a"})
    assert doc["x"] == 1 and doc["version"] == 1 and len(doc["event_ids"]) == 1
    assert relay.committed == doc["event_ids"]
    assert db.outbox.count_documents({"_id": doc["event_ids"][0]}) == 1  # staged until the relay confirms
    assert db.outbox.count_documents({}) == 1                            # the repeat's staging was discarded


def test_versioned_update_and_stale_version(things, db, relay):
    things.insert({"_id": "a", "x": 1}, [])
    assert things.update("a", {"x": 2}, [event()], version=1).applied
    with pytest.raises(StaleVersion) as err:
        things.update("a", {"x": 3}, [event(2)], version=1)
    assert err.value.extra["current_version"] == 2
    assert db.things.find_one({"_id": "a"})["x"] == 2
    assert len(relay.committed) == 1 and db.outbox.count_documents({}) == 1  # the loser's events are gone
    with pytest.raises(NotFound):
        things.update("nothing", {"x": 1}, [], version=1)


def test_the_inbox_applies_an_event_once_even_when_writers_race(things, db):
    things.insert({"_id": "a", "n": 0}, [])
    pool = eventlet.GreenPool(20)
    results = list(pool.imap(lambda i: things.update("a", {"last": i}, [], cause=f"evt-{i % 5}").applied,
                             range(40)))
    doc = db.things.find_one({"_id": "a"})
    assert doc["version"] == 1 + 5                      # five distinct causes, forty deliveries
    assert sorted(doc["inbox"]) == [f"evt-{i}" for i in range(5)]
    assert results.count(True) >= 5


def test_group_commit_batches_concurrent_writes(things, db):
    pool = eventlet.GreenPool(50)
    list(pool.imap(lambda i: things.insert({"_id": f"d{i}"}, [event(i)]), range(200)))
    assert db.things.count_documents({}) == 200
    assert things.group.batches < 200 and things.group.writes == 200


def test_many_versioned_updates_apply_once_per_version(things, db, relay):
    for i in range(10):
        things.insert({"_id": f"c{i}", "state": "running"}, [])
    items = [(f"c{i}", 1, {"state": "fired"}, [event(i)]) for i in range(10)]
    assert sorted(things.update_many_versioned(items)) == sorted(f"c{i}" for i in range(10))
    assert things.update_many_versioned(items) == []    # a second replica with the same view loses
    assert db.things.count_documents({"state": "fired", "version": 2}) == 10
    assert len(relay.committed) == 10


def test_counters_survive_racing_first_increments(db):
    pool = eventlet.GreenPool(20)
    values = list(pool.imap(lambda i: increment(db.counters, "day-1"), range(40)))
    assert sorted(values) == list(range(1, 41))


def test_events_staged_ahead_of_their_commit_are_left_to_the_relay_by_the_sweeper(db, relay, amqp_uri):
    """sla stages a timer run's events when it prepares the run, well before the run fires. The sweeper
    publishes committed events older than SWEEP_MIN_AGE_SECONDS (a crash's leftovers), so unless the
    run's commit time counts it raced the relay for every timer event (each published twice in a CI run)."""
    from datetime import timedelta

    from hotline_common.outbox import OutboxRelay
    outbox = Outbox("test", FixedClock(utcnow()), relay, db)
    envelopes = outbox.wrap([event(7)], cause="prepared", key="run-1")
    outbox.stage("runs", "run-1", envelopes)
    ids = [e["id"] for e in envelopes]
    db.outbox.update_many({"_id": {"$in": ids}}, {"$set": {"at": utcnow() - timedelta(seconds=30)}})  # prepared ahead
    sweeper = OutboxRelay("test", amqp_uri, db)
    swept = []
    sweeper._publish_with_retry = lambda events: swept.extend(e["id"] for e in events)

    db.runs.insert_one({"_id": "run-1", "event_ids": ids, "committed_at": utcnow()})   # the run fires
    sweeper._sweep()
    assert swept == [], "the relay publishes it; the sweeper must not race it"
    db.outbox.update_many({"_id": {"$in": ids}}, {"$set": {"at": utcnow() - timedelta(seconds=500)}})
    sweeper._sweep()                                           # staged long ago, committed just now: no orphan
    assert swept == [] and db.outbox.count_documents({"_id": {"$in": ids}}) == 1
    db.runs.update_one({"_id": "run-1"}, {"$set": {"committed_at": utcnow() - timedelta(seconds=5)}})
    sweeper._sweep()                                           # the relay never came (a crash): the sweeper does
    assert swept == ids
