"""What a failing reaction costs (issue 8): only a malformed message is poison; a bug in our own code
(a KeyError) is retried, counted and then dead-lettered as a bug (replayable after the fix), never
filed as a bad message; a reaction the domain refuses acks with "no change" and burns no retries.

A tiny service built with the same `Handlers` table and `entrypoints` decorator as the real ones,
in a nameko container on the real broker."""
import json

from kombu import Connection, Exchange, Producer
from nameko.extensions import DependencyProvider
from prometheus_client import REGISTRY

from hotline_common.dispatch import Handlers, entrypoints
from hotline_common.errors import Conflict
from hotline_common.events import HOTLINE_EXCHANGE
from hotline_common.subscriber import dead_queue_name
from services.intake.events import TicketMarkedKey, TicketRegistered
from tests.conftest import wait_for
from tests.support import drain_queue

CALLS: list[str] = []


def buggy(app, received):
    CALLS.append(received.id)
    return {}["a key our code forgot"]  # KeyError: a bug, not a bad message


def refused(app, received):
    CALLS.append(received.id)
    raise Conflict("the ticket is a key ticket already")


HANDLERS = Handlers(service="probe", commands={}, events={TicketRegistered: buggy, TicketMarkedKey: refused})


class Nothing(DependencyProvider):
    def get_dependency(self, worker_ctx):
        return object()


@entrypoints(HANDLERS)
class ProbeService:
    name = "probe"
    app = Nothing()


def publish(amqp_uri, envelope):
    with Connection(amqp_uri) as conn:
        Producer(conn.channel()).publish(envelope, exchange=Exchange(HOTLINE_EXCHANGE, type="topic", durable=True),
                                         routing_key=envelope["type"], serializer="json")


def envelope(event_id, full_type, data):
    return {"specversion": "1.0", "id": event_id, "source": "/hotline/intake", "type": full_type,
            "subject": data["number"], "time": "2026-11-27T02:00:00.000Z", "datacontenttype": "application/json",
            "correlationid": "c1", "data": data}


def metric(name, **labels):
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_a_bug_is_retried_and_dead_lettered_as_a_bug_and_a_refusal_is_no_change(
        runner_factory, rabbit_config, service_env):
    amqp_uri = rabbit_config["AMQP_URI"]
    runner = runner_factory({"AMQP_URI": amqp_uri, "max_workers": 4}, ProbeService)
    runner.start()
    CALLS.clear()
    registered = envelope("evt-bug", TicketRegistered.full_type(), {
        "ticket_id": "t1", "number": "AS20261127000001", "channel": "phone", "type": "complain",
        "category": "noise", "district": "tiedong", "key_ticket": False, "registered_at": "2026-11-27T02:00:00.000Z"})
    marked = envelope("evt-refused", TicketMarkedKey.full_type(), {
        "ticket_id": "t1", "number": "AS20261127000001", "unit_id": None, "reason": "重点关注",
        "at": "2026-11-27T02:00:00.000Z", "actor": {"user_id": "op", "role": "operator", "unit_id": None}})
    malformed = json.loads(json.dumps(marked))
    malformed["id"] = "evt-malformed"
    del malformed["data"]["reason"]
    bugs_before = metric("hotline_event_handler_bugs_total", service="probe", type=registered["type"], error="KeyError")
    no_change_before = metric("hotline_events_no_change_total", service="probe", type=marked["type"])

    publish(amqp_uri, registered)
    publish(amqp_uri, marked)
    publish(amqp_uri, malformed)

    dead = wait_for(lambda: (lambda got: got if len(got) >= 2 else None)(
        _collect(amqp_uri)), 20, message="the bug and the poison message in the dead-letter queue")
    reasons = {body["id"]: headers["x-hotline-reason"] for body, headers in dead}
    assert reasons == {"evt-bug": "bug", "evt-malformed": "poison"}
    assert CALLS.count("evt-bug") == 3             # retried, not filed as poison at the first failure
    assert CALLS.count("evt-refused") == 1         # no change: acked once, no retries
    assert "evt-malformed" not in CALLS            # a malformed event never reaches a handler
    assert metric("hotline_event_handler_bugs_total", service="probe", type=registered["type"],
                  error="KeyError") - bugs_before == 3
    assert metric("hotline_events_no_change_total", service="probe", type=marked["type"]) - no_change_before == 1


_seen: list = []


def _collect(amqp_uri):
    _seen.extend(drain_queue(amqp_uri, dead_queue_name("probe")))
    return list(_seen)
