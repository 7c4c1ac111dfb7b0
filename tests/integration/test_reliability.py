"""Nothing is lost (DESIGN §4): poison messages, duplicates, transient failures, a killed service."""
from datetime import UTC

import eventlet
from kombu import Connection, Exchange, Producer

from hotline_common.dispatch import request
from hotline_common.errors import TransientError
from hotline_common.events import HOTLINE_EXCHANGE, T
from hotline_common.mongo import client
from hotline_common.subscriber import dead_queue_name, subscribe
from tests.conftest import wait_for
from tests.support import drain_queue

from .conftest import OPERATOR, noise_complaint


def publish(amqp_uri, body, routing_key, serializer="json", raw=False):
    with Connection(amqp_uri) as conn:
        producer = Producer(conn.channel())
        exchange = Exchange(HOTLINE_EXCHANGE, type="topic", durable=True)
        if raw:
            producer.publish(body, exchange=exchange, routing_key=routing_key,
                             content_type="application/json", content_encoding="utf-8")
        else:
            producer.publish(body, exchange=exchange, routing_key=routing_key, serializer=serializer)


def registered_event(number="AS20261127999999", ticket_id="t-dup", event_id="evt-1"):
    return {"specversion": "1.0", "id": event_id, "source": "/hotline/intake", "type": T.TICKET_REGISTERED,
            "subject": number, "time": "2026-11-27T02:00:00.000Z", "datacontenttype": "application/json",
            "correlationid": "c-1", "data": {"ticket_id": ticket_id, "number": number, "channel": "phone",
                                            "type": "complain", "category": "noise", "district": "tiedong",
                                            "key_ticket": False, "registered_at": "2026-11-27T02:00:00.000Z"}}


def routing_db(service_env):
    return client(service_env["MONGO_URI"])[service_env["MONGO_DB_PREFIX"] + "routing"]


def test_poison_messages_go_to_the_dead_letter_queue_and_the_service_keeps_working(
        stack, rpc, amqp_uri, service_env):
    stack("intake", "routing", "sla")
    publish(amqp_uri, b"{not json", T.TICKET_REGISTERED, raw=True)                 # undecodable
    publish(amqp_uri, {"hello": "world"}, T.TICKET_REGISTERED)                       # not a CloudEvent
    broken = registered_event(event_id="evt-broken")
    del broken["data"]["category"]
    publish(amqp_uri, broken, T.TICKET_REGISTERED, serializer="cloudevents")         # payload lacks a field

    dead = wait_for(lambda: (lambda got: got if len(got) >= 3 else None)(
        _collect(amqp_uri, dead_queue_name("routing"))), 10, message="three dead letters")
    reasons = sorted(h.get("x-hotline-reason", "rejected-by-broker") for _, h in dead)
    assert reasons == ["poison", "poison", "rejected-by-broker"]
    assert any("category" in h.get("x-hotline-error", "") for _, h in dead)
    assert routing_db(service_env).assignments.count_documents({}) == 0

    created = rpc.intake.register(request(body=noise_complaint()), OPERATOR)  # the service still works
    wait_for(lambda: rpc.intake.get_ticket(request(params={"key": created["number"]}), OPERATOR)["deadline"], 10)


_collected = {}


def _collect(amqp_uri, queue):
    _collected.setdefault(queue, []).extend(drain_queue(amqp_uri, queue))
    return list(_collected[queue])


def test_a_redelivered_event_is_applied_once(stack, amqp_uri, service_env, tap):
    stack("routing")
    event = registered_event()
    for _ in range(3):
        publish(amqp_uri, event, T.TICKET_REGISTERED, serializer="cloudevents")
    wait_for(lambda: tap.of_type(T.TICKET_DISPATCHED), 10)
    eventlet.sleep(1.0)  # time for the repeats to be (not) applied
    assert routing_db(service_env).assignments.count_documents({}) == 1
    assert len(tap.of_type(T.TICKET_DISPATCHED)) == 1


class Flaky:
    """A service whose handler fails the first `failures` times it sees each event."""
    name = "flaky"
    failures = 2
    calls: list = []

    @subscribe(T.TICKET_REGISTERED)
    def handle(self, event):
        Flaky.calls.append(event["id"])
        if Flaky.calls.count(event["id"]) <= Flaky.failures:
            raise TransientError("store unavailable")


def test_transient_failures_are_retried_with_delay_then_succeed(runner_factory, nameko_config, amqp_uri):
    Flaky.calls, Flaky.failures = [], 2
    runner = runner_factory(nameko_config, Flaky)
    runner.start()
    publish(amqp_uri, registered_event(event_id="evt-flaky"), T.TICKET_REGISTERED, serializer="cloudevents")
    wait_for(lambda: Flaky.calls.count("evt-flaky") == 3, 10, message="two retries")
    eventlet.sleep(0.5)
    assert Flaky.calls.count("evt-flaky") == 3
    assert drain_queue(amqp_uri, dead_queue_name("flaky")) == []


def test_an_event_that_keeps_failing_ends_in_the_dead_letter_queue(runner_factory, nameko_config, amqp_uri):
    Flaky.calls, Flaky.failures = [], 100
    runner = runner_factory(nameko_config, Flaky)
    runner.start()
    publish(amqp_uri, registered_event(event_id="evt-doomed"), T.TICKET_REGISTERED, serializer="cloudevents")
    dead = wait_for(lambda: _collect(amqp_uri, dead_queue_name("flaky")), 15, message="dead letter")
    (body, headers), = dead
    assert body["id"] == "evt-doomed" and headers["x-hotline-reason"] == "exhausted"
    assert headers["x-hotline-attempts"] == 4 and Flaky.calls.count("evt-doomed") == 4  # EVENT_MAX_ATTEMPTS
    assert "TransientError" in headers["x-hotline-error"]


def test_killing_routing_mid_flow_loses_nothing_and_duplicates_nothing(stack, rpc, runner_factory, nameko_config,
                                                                       service_env):
    """Kill a service while tickets flow, start it again: every ticket ends dispatched with one deadline."""
    from services.routing.service import RoutingService
    stack("intake", "sla")
    routing = runner_factory(nameko_config, RoutingService)
    routing.start()

    numbers = []

    def register(i):
        numbers.append(rpc_call(nameko_config, noise_complaint(content=f"噪音扰民第{i}次反映，请尽快处理")))

    pool = eventlet.GreenPool(8)
    for i in range(40):
        pool.spawn(register, i)
        if i == 15:
            eventlet.sleep(0.05)
            routing.kill()                       # abrupt: in-flight workers die, unacked messages return
    pool.waitall()
    eventlet.sleep(0.5)
    routing = runner_factory(nameko_config, RoutingService)
    routing.start()                              # a new process of the same service

    def all_have_deadlines():
        views = [rpc.intake.get_ticket(request(params={"key": n}), OPERATOR) for n in numbers]
        return all(v["deadline"] for v in views) and views
    views = wait_for(all_have_deadlines, 40, interval=0.5, message="every ticket dispatched with a deadline")
    assert len(views) == 40
    for view in views:
        kinds = [e["type"] for e in view["timeline"]]
        assert kinds.count("ticket.dispatched") == 1 and kinds.count("deadline.set") == 1, view["number"]
    db = client(service_env["MONGO_URI"])
    assert db[service_env["MONGO_DB_PREFIX"] + "routing"].assignments.count_documents({}) == 40
    assert db[service_env["MONGO_DB_PREFIX"] + "sla"].clocks.count_documents({}) == 40


def rpc_call(config, payload):
    from nameko.standalone.rpc import ClusterRpcProxy
    with ClusterRpcProxy(config, timeout=15) as proxy:
        return proxy.intake.register(request(body=payload), OPERATOR)["number"]


def test_a_crash_between_write_and_publish_loses_nothing_and_publishes_nothing_uncommitted(
        stack, service_env, tap):
    """Committed events a crash left in the outbox are published on restart; events staged for a
    change that never committed are dropped, never published."""
    from datetime import datetime, timedelta

    from hotline_common.events import DomainEvent, envelope
    from hotline_common.outbox import ORPHAN_AGE_SECONDS
    now = datetime.now(UTC)
    committed = envelope(DomainEvent(T.TICKET_DISPATCHED, "AS20261127000777", {"ticket_id": "t-crash"}),
                         source_service="routing", time=now)
    orphan = envelope(DomainEvent(T.TICKET_DISPATCHED, "AS20261127000778", {"ticket_id": "t-never"}),
                      source_service="routing", time=now)
    db = routing_db(service_env)
    db.assignments.insert_one({"_id": "t-crash", "version": 1, "inbox": [], "event_ids": [committed["id"]]})
    db.outbox.insert_many([
        {"_id": committed["id"], "collection": "assignments", "key": "t-crash", "event": committed,
         "at": now - timedelta(seconds=30)},
        {"_id": orphan["id"], "collection": "assignments", "key": "t-never", "event": orphan,
         "at": now - timedelta(seconds=ORPHAN_AGE_SECONDS + 10)},
    ])
    stack("routing")
    wait_for(lambda: [e for e in tap.of_type(T.TICKET_DISPATCHED) if e["id"] == committed["id"]], 10,
             message="the committed event")
    wait_for(lambda: db.outbox.count_documents({}) == 0, 5, message="the outbox emptied")
    assert not [e for e in tap.events if e["id"] == orphan["id"]]


def test_dead_letters_are_listed_and_replayed_after_the_fix(runner_factory, nameko_config, amqp_uri,
                                                            monkeypatch, capsys):
    """Ops: an event that exhausted its retries is listed with its error and, once fixed, replayed."""
    from tools import deadletters
    Flaky.calls, Flaky.failures = [], 100
    runner = runner_factory(nameko_config, Flaky)
    runner.start()
    publish(amqp_uri, registered_event(event_id="evt-replay"), T.TICKET_REGISTERED, serializer="cloudevents")
    wait_for(lambda: Flaky.calls.count("evt-replay") == 4, 15, message="retries exhausted")
    monkeypatch.setenv("AMQP_URI", amqp_uri)
    wait_for(lambda: deadletters.main(["list", "flaky"]) == 0 and "evt-replay" in capsys.readouterr().out, 10,
             interval=0.5, message="listed")
    Flaky.failures = 0                                            # the fix is deployed
    assert deadletters.main(["replay", "flaky"]) == 0
    wait_for(lambda: Flaky.calls.count("evt-replay") == 5, 10, message="handled after the replay")
    assert drain_queue(amqp_uri, dead_queue_name("flaky")) == []
