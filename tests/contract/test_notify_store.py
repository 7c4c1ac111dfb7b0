"""One suite for notify's store: the in-memory fake (fast) and the MongoDB adapter (`-m integration`, on
the embedded server) must behave alike, so the fast tests over the fake say something true."""
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from hotline_common.actors import SYSTEM_ACTOR, Actor
from hotline_common.messages import load_all
from hotline_common.testing import FixedClock, RecordingOutbox, at
from services.notify import commands as c
from services.notify import domain as d
from services.notify.events import NoticeDelivered
from services.notify.fakes import event_envelope, reminder_sent, ticket_dispatched
from services.notify.settings import load_templates, load_units

CONFIG = Path(__file__).resolve().parents[2] / "config"
NOW = at("2026-11-27T02:00:00Z")
POLICY = d.WebhookPolicy(retry=d.RetryPolicy((5, 30)))
PORTAL = Actor("cityportal", "subscriber")
KNOWN = tuple(sorted(load_all()))


@pytest.fixture
def outbox():
    return RecordingOutbox("notify", FixedClock(NOW))


@pytest.fixture(params=["fake", pytest.param("mongo", marks=pytest.mark.integration)])
def store(request, outbox):
    if request.param == "fake":
        from services.notify.fakes import MemoryNotifyStore
        return MemoryNotifyStore(outbox)
    from hotline_common.mongo import client
    from services.notify.store import NotifyStore
    uri, prefix = request.getfixturevalue("mongo_uri"), request.getfixturevalue("db_prefix")
    store = NotifyStore(client(uri)[prefix + "notify"], outbox)
    store.ensure_indexes()
    return store


def subscription(id="s1", owner="cityportal", key=None, types=("ticket.#",)) -> d.Subscription:
    cmd = c.CreateSubscription(url="https://hooks.example.com/in", types=list(types), idempotency_key=key)
    return d.new_subscription(cmd, now=NOW, actor=Actor(owner, "subscriber"), id=id, secret="whsec_c2VjcmV0",
                              addresses=["93.184.216.34"], allow=d.AllowList(), known_types=KNOWN, owned=0,
                              policy=POLICY)[0]


def deliveries_for(sub, *event_ids, at=NOW):
    return [d.fan_out(event_envelope(ticket_dispatched(), time=at, event_id=e), now=at, subscriptions=[sub],
                      policy=POLICY)[0] for e in event_ids]


def test_a_subscription_is_stored_and_read_back(store):
    sub = subscription(key="k1")
    assert store.add_subscription(sub)
    assert store.subscription("s1") == sub
    assert store.by_idempotency("cityportal", "k1") == sub
    assert store.by_idempotency("someone", "k1") is None
    assert store.subscriptions("cityportal") == [sub] and store.subscriptions("x") == []
    assert store.count_owned("cityportal") == 1
    assert [s.id for s in store.all_subscriptions()] == ["s1"]


def test_the_same_idempotency_key_of_the_same_owner_makes_one_subscription(store):
    assert store.add_subscription(subscription("s1", key="k1"))
    assert not store.add_subscription(subscription("s2", key="k1"))
    assert store.add_subscription(subscription("s3", owner="newspaper", key="k1"))
    assert store.add_subscription(subscription("s4")) and store.add_subscription(subscription("s5"))
    assert sorted(s.id for s in store.subscriptions()) == ["s1", "s3", "s4", "s5"]


def test_the_failure_streak_counts_and_ends(store):
    store.add_subscription(subscription())
    assert store.count_failure("s1", NOW).failure_streak == 1
    after = store.count_failure("s1", NOW + timedelta(minutes=5))
    assert (after.failure_streak, after.failing_since) == (2, NOW)
    store.count_success("s1")
    assert (store.subscription("s1").failure_streak, store.subscription("s1").failing_since) == (0, None)
    assert store.count_failure("gone", NOW) is None


def test_disabling_happens_once_and_enabling_clears_it(store):
    sub = subscription()
    store.add_subscription(sub)
    off = d.disable(sub, c.Disable(reason="streak"), now=NOW, actor=SYSTEM_ACTOR)[0]
    assert store.set_disabled(off) and not store.set_disabled(off)
    assert store.subscription("s1").state == "disabled"
    store.set_enabled(d.enable(off, c.ReplayDeadLetters(subscription_id="s1"), now=NOW, actor=PORTAL)[0])
    assert store.subscription("s1") == sub


def test_deliveries_are_added_once_and_found_when_due(store):
    sub = subscription()
    store.add_subscription(sub)
    assert store.add_deliveries(deliveries_for(sub, "e1", "e2")) == {"s1:e1", "s1:e2"}
    assert store.add_deliveries(deliveries_for(sub, "e2", "e3")) == {"s1:e3"}
    assert store.delivery("s1:e1") == deliveries_for(sub, "e1")[0]
    assert [x.id for x in store.due_deliveries("s1", NOW, 10)] == ["s1:e1", "s1:e2", "s1:e3"] or \
        sorted(x.id for x in store.due_deliveries("s1", NOW, 10)) == ["s1:e1", "s1:e2", "s1:e3"]
    assert len(store.due_deliveries("s1", NOW, 2)) == 2
    assert store.due_deliveries("s1", NOW - timedelta(seconds=1), 10) == []
    assert store.due_deliveries("other", NOW, 10) == [] and store.due_deliveries("s1", NOW, 0) == []


def test_a_claim_is_had_by_one_and_settles_only_with_its_token(store):
    sub = subscription()
    store.add_subscription(sub)
    store.add_deliveries(deliveries_for(sub, "e1", "e2"))
    due = store.due_deliveries("s1", NOW, 10)
    until = NOW + timedelta(seconds=60)
    assert len(store.claim_deliveries(due, until, "A")) == 2
    assert store.claim_deliveries(due, until, "B") == []          # another replica, same snapshot
    assert store.due_deliveries("s1", NOW + timedelta(seconds=30), 10) == []
    (first, *_) = sorted(due, key=lambda x: x.id)
    sent = d.delivery_attempted(first, c.RecordAttempt(ok=True, status_code=200), now=NOW, actor=SYSTEM_ACTOR,
                                policy=POLICY)[0]
    assert not store.settle_delivery(sent, "B")
    assert store.settle_delivery(sent, "A")
    assert store.delivery(first.id) == sent
    assert [x.id for x in store.due_deliveries("s1", until, 10)] == ["s1:e2"]   # the claim expired


def test_a_delivery_can_be_written_already_claimed(store):
    sub = subscription()
    store.add_subscription(sub)
    until = NOW + timedelta(seconds=60)
    (mine,) = [replace(x, next_attempt_at=until) for x in deliveries_for(sub, "e1")]
    assert store.add_deliveries([mine], claims={"s1:e1": "R"}) == {"s1:e1"}
    assert store.due_deliveries("s1", NOW, 10) == []                      # not the timer's until it expires
    sent = d.delivery_attempted(mine, c.RecordAttempt(ok=True), now=NOW, actor=SYSTEM_ACTOR, policy=POLICY)[0]
    assert not store.settle_delivery(sent, "other")
    assert store.settle_delivery(sent, "R") and store.delivery("s1:e1").status == "delivered"


def test_the_log_pages_newest_first_and_filters_by_status(store):
    sub = subscription()
    store.add_subscription(sub)
    for i in range(5):
        store.add_deliveries(deliveries_for(sub, f"e{i}", at=NOW + timedelta(seconds=i)))
    page = store.deliveries("s1", limit=2)
    assert [x.event_id for x in page] == ["e4", "e3"]
    assert [x.event_id for x in store.deliveries("s1", limit=2, cursor=d.cursor_of(page[-1]))] == ["e2", "e1"]
    assert [x.event_id for x in store.deliveries("s1", ids=["s1:e1", "s1:e3"])] == ["e3", "e1"]
    (one,) = store.deliveries("s1", ids=["s1:e1"])
    dead = replace(one, status="dead", next_attempt_at=None, dead_reason="x")
    assert store.save_deliveries([dead], expect="pending") == 1
    assert store.save_deliveries([dead], expect="pending") == 0
    assert [x.event_id for x in store.deliveries("s1", status="dead")] == ["e1"]
    assert len(store.deliveries("s1", status="pending")) == 4


def test_deleting_a_subscription_deletes_its_deliveries(store):
    sub = subscription()
    store.add_subscription(sub)
    store.add_deliveries(deliveries_for(sub, "e1"))
    assert store.delete_subscription("s1") and not store.delete_subscription("s1")
    assert store.subscription("s1") is None and store.deliveries("s1") == []


def test_a_notice_is_made_once_claimed_once_and_settled_with_its_event(store, outbox):
    units, templates = load_units(CONFIG), load_templates(CONFIG)
    request = d.notice_request(reminder_sent(), "r1")
    notice, events = d.open_notice(request, now=NOW, actor=SYSTEM_ACTOR, id="n1", unit=units["city.environment"],
                                   template=templates["reminder"], channel="sms")
    assert store.add_notice(notice, events, cause="r1")
    assert not store.add_notice(notice, events, cause="r1")
    stored = store.notice("n1")
    assert stored == replace(notice, version=1)
    (due,) = store.due_notices(NOW, 10)
    (claimed,) = store.claim_notices([due], NOW + timedelta(seconds=60))
    assert claimed.version == 2 and store.claim_notices([due], NOW + timedelta(seconds=60)) == []
    assert store.due_notices(NOW, 10) == []
    sent, events = d.notice_attempted(claimed, c.RecordAttempt(ok=True, provider_message_id="m1"), now=NOW,
                                      actor=SYSTEM_ACTOR, policy=d.RetryPolicy((30,)))
    assert store.save_notice(sent, events)
    assert not store.save_notice(sent, events)                    # stale: it moved on
    assert store.notice("n1") == replace(sent, version=3)
    assert [n.id for n in store.notices_of("t-AS20261127000001")] == ["n1"]
    (published,) = outbox.of(NoticeDelivered)
    assert published["data"]["provider_message_id"] == "m1"
