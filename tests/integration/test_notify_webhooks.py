"""notify on the real broker and store, with real receivers on 127.0.0.1 started by the tests (issue 15):
signed webhooks that verify with the `standardwebhooks` library, retries that end in exactly one
accepted delivery per event, a refused private target, a slow receiver that holds up no one else,
and SMS notices through an HTTP gateway (sent; retried, then failed)."""
from __future__ import annotations

import json
import threading
import time
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import eventlet
import pytest
from kombu import Connection, Exchange, Producer
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

import hotline_common.serialization  # noqa: F401  the cloudevents serializer
from hotline_common.dispatch import request
from hotline_common.errors import ValidationFailed
from hotline_common.events import HOTLINE_EXCHANGE, T
from hotline_common.outbox import declare_publisher_topology
from hotline_common.testing import at
from services.notify.fakes import deadline_event, event_envelope, reminder_sent, ticket_dispatched
from services.notify.senders import sms_signature
from services.notify.service import NotifyService
from services.sla.events import DeadlineOverdue
from tests.conftest import free_port, wait_for
from tests.support import EventTap, validate_event

from .conftest import OPERATOR, noise_complaint

BJ = timezone(timedelta(hours=8))
SUBSCRIBER = {"user_id": "cityportal", "role": "subscriber"}
APP_KEY, APP_SECRET = "hotline-test", "s3cret-for-tests"
NOTICE_DELIVERED, NOTICE_FAILED = "cn.gov.12345.notice.delivered", "cn.gov.12345.notice.failed"


class Receiver:
    """A webhook receiver (or an SMS gateway) on 127.0.0.1: answers `fail_first` requests with 503
    (or per `answer`), records every request, and accepts each webhook-id once (dedup)."""

    def __init__(self, fail_first: int = 0, delay: float = 0.0, answer=None):
        self.fail_first = fail_first
        self.delay = delay
        self.answer = answer
        self.requests: list[tuple[dict, bytes]] = []
        self.arrivals: list[float] = []
        self.accepted: dict[str, dict] = {}
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                headers = {k.lower(): v for k, v in self.headers.items()}
                with receiver.lock:
                    receiver.arrivals.append(time.monotonic())
                if receiver.delay:
                    eventlet.sleep(receiver.delay)
                with receiver.lock:
                    receiver.requests.append((headers, body))
                    n = len(receiver.requests)
                    if receiver.answer is not None:
                        status, payload = receiver.answer(n, headers, body)
                    elif n <= receiver.fail_first:
                        status, payload = 503, {"error": "busy"}
                    else:
                        status, payload = 200, {"ok": True}
                        receiver.accepted.setdefault(headers.get("webhook-id", str(n)), json.loads(body))
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.port = free_port()
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        self.thread = eventlet.spawn(self.server.serve_forever, 0.1)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/12345"

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receivers():
    started: list[Receiver] = []

    def start(**kwargs) -> Receiver:
        started.append(Receiver(**kwargs))
        return started[-1]
    yield start
    for r in started:
        r.stop()


@pytest.fixture
def gateway(receivers, monkeypatch):
    """An SMS gateway on 127.0.0.1 whose answers a test scripts (`gateway.answer`); notify's http provider
    points at it."""
    sms = receivers(answer=lambda n, headers, body: (200, {"code": "OK", "message_id": f"m{n}"}))
    monkeypatch.setenv("NOTIFY_SMS_PROVIDER", "http")
    monkeypatch.setenv("NOTIFY_SMS_URL", f"http://127.0.0.1:{sms.port}/sms/send")
    monkeypatch.setenv("NOTIFY_SMS_APP_KEY", APP_KEY)
    monkeypatch.setenv("NOTIFY_SMS_APP_SECRET", APP_SECRET)
    return sms


@pytest.fixture
def notify(runner_factory, nameko_config, monkeypatch, amqp_uri):
    """start(): the notify service, allowed to deliver to 127.0.0.1, with retries in fractions of a second."""
    monkeypatch.setenv("NOTIFY_ALLOWED_HOSTS", "127.0.0.1")
    monkeypatch.setenv("NOTIFY_WEBHOOK_RETRY_SCHEDULE", "0.3,0.3,0.3,0.3")
    monkeypatch.setenv("NOTIFY_SMS_RETRY_SCHEDULE", "0.3,0.3")

    def start():
        declare_exchanges(amqp_uri)   # notify declares its own inbox queue when it starts
        runner = runner_factory(nameko_config, NotifyService)
        runner.start()
        return runner
    return start


def declare_exchanges(amqp_uri: str) -> None:
    """hotline.events and the services' exchanges bound into it (tools.topology does this for the services
    it knows; declared here so these tests need no other service's code)."""
    with Connection(amqp_uri) as conn:
        for service in ("intake", "routing", "sla", "escalation", "bulletin", "notify"):
            declare_publisher_topology(conn.channel(), service)


@pytest.fixture
def events(amqp_uri):
    """What an external AMQP subscriber sees on hotline.events."""
    declare_exchanges(amqp_uri)
    tap = EventTap(amqp_uri).start()
    yield tap
    tap.stop()


def publish(amqp_uri: str, envelope: dict) -> None:
    """An event as a service's outbox relay publishes it (onto hotline.events, key = type)."""
    with Connection(amqp_uri) as conn:
        Producer(conn.channel()).publish(envelope, exchange=Exchange(HOTLINE_EXCHANGE, type="topic", durable=True),
                                         routing_key=envelope["type"], serializer="cloudevents", delivery_mode=2)


def subscribe(rpc, url: str, types: list[str]) -> dict:
    return rpc.notify.create_subscription(request(body={"url": url, "types": types}), SUBSCRIBER)


def verified(secret: str, headers: dict, body: bytes) -> dict:
    """What the receiver's own code does: verify with the standardwebhooks library (raises if not)."""
    return Webhook(secret).verify(body, {k: v for k, v in headers.items() if k.startswith("webhook-")})


def test_a_subscriber_receives_dispatched_and_overdue_webhooks_that_verify(stack, rpc, tap, notify, receivers,
                                                                           set_clock):
    set_clock(datetime(2026, 11, 2, 9, 0, tzinfo=BJ), running=True)
    stack("intake", "routing", "sla")
    notify()
    receiver = receivers()
    made = subscribe(rpc, receiver.url, ["ticket.dispatched", "deadline.overdue"])
    assert made["secret"].startswith("whsec_")

    number = rpc.intake.register(request(body=noise_complaint(type="consult", content="咨询夜间施工噪音的投诉渠道")),
                                 OPERATOR)["number"]
    wait_for(lambda: any(b.get("subject") == number for b in receiver.accepted.values()), 20,
             message="the ticket.dispatched webhook")
    set_clock(datetime(2026, 11, 5, 0, 10, tzinfo=BJ), running=True)     # past the deadline
    wait_for(lambda: len(receiver.accepted) >= 2, 20, message="the deadline.overdue webhook")

    bodies = []
    for headers, body in receiver.requests:
        event = verified(made["secret"], headers, body)
        assert headers["webhook-id"] == event["id"]
        assert headers["content-type"].startswith("application/cloudevents+json")
        validate_event(event)
        bodies.append(event)
    assert [(e["type"], e["subject"]) for e in bodies] == [(T.TICKET_DISPATCHED, number), (T.DEADLINE_OVERDUE, number)]
    with pytest.raises(WebhookVerificationError):   # a tampered body does not verify
        verified(made["secret"], receiver.requests[0][0], receiver.requests[0][1].replace(b"dispatched", b"dispatcheD"))
    log = rpc.notify.list_deliveries(request(params={"subscription_id": made["id"]}), SUBSCRIBER)
    assert sorted((d["event_type"], d["status"], d["attempts"]) for d in log["items"]) == [
        (T.DEADLINE_OVERDUE, "delivered", 1), (T.TICKET_DISPATCHED, "delivered", 1)]


def test_a_receiver_that_fails_three_times_then_recovers_gets_each_event_exactly_once(rpc, notify, receivers,
                                                                                      amqp_uri):
    notify()
    receiver = receivers(fail_first=3)
    made = subscribe(rpc, receiver.url, ["cn.gov.12345.ticket.#", "deadline.#"])
    now = at("2026-11-27T02:00:00Z")
    events = [event_envelope(ticket_dispatched("AS20261127000001"), time=now),
              event_envelope(deadline_event(DeadlineOverdue, "AS20261127000001"), time=now)]
    for env in events:
        publish(amqp_uri, env)
    publish(amqp_uri, events[0])                                         # the broker delivers one twice
    wait_for(lambda: len(receiver.accepted) == 2, 20, message="both events accepted")
    eventlet.sleep(1.0)                                                  # nothing more is coming
    assert sorted(receiver.accepted) == sorted(e["id"] for e in events)
    assert len(receiver.requests) == 5                                   # 3 refused + 2 accepted
    for headers, body in receiver.requests:
        verified(made["secret"], headers, body)
    log = rpc.notify.list_deliveries(request(params={"subscription_id": made["id"]}), SUBSCRIBER)["items"]
    assert all(d["status"] == "delivered" for d in log) and sum(d["attempts"] for d in log) == 5
    assert any(d["log"][0]["status_code"] == 503 for d in log)
    # the streak is reset by the success's own write, which may land a moment after the receiver answered
    wait_for(lambda: rpc.notify.get_subscription(request(params={"subscription_id": made["id"]}),
                                                 SUBSCRIBER)["failure_streak"] == 0, 10, message="streak reset")


def test_a_subscription_to_a_private_address_is_refused(rpc, notify):
    notify()
    for url in ("http://10.0.0.1/hook", "http://192.168.1.20:8080/", "http://169.254.169.254/latest/meta-data/",
                "http://[::1]/hook", "file:///etc/passwd"):
        with pytest.raises(ValidationFailed) as refused:
            subscribe(rpc, url, ["ticket.#"])
        assert "url" in refused.value.errors
    assert rpc.notify.list_subscriptions(request(), SUBSCRIBER)["items"] == []


def test_a_hanging_receiver_holds_up_no_other_subscriber(rpc, notify, receivers, amqp_uri):
    notify()
    hanging, healthy = receivers(delay=8.0), receivers()                 # notify gives up after 5 s
    subscribe(rpc, hanging.url, ["ticket.#"])
    subscribe(rpc, healthy.url, ["ticket.#"])
    now = at("2026-11-27T02:00:00Z")
    envelopes = [event_envelope(ticket_dispatched(f"AS2026112700{i:04d}"), time=now) for i in range(30)]
    for env in envelopes:
        publish(amqp_uri, env)
    wait_for(lambda: len(healthy.accepted) == 30, 6, message="every event at the healthy receiver")
    first = hanging.arrivals[0]
    assert 1 <= len([t for t in hanging.arrivals if t < first + 4.5]) <= 8   # its in-flight bound


def test_a_reminder_sends_one_signed_sms_with_the_contacts_number_and_the_chinese_text(rpc, notify, gateway, events,
                                                                                       amqp_uri):
    notify()
    reminder = event_envelope(reminder_sent("AS20261127000009", n=2), time=at("2026-11-27T02:00:00Z"))
    publish(amqp_uri, reminder)
    publish(amqp_uri, reminder)                                          # delivered twice: one SMS
    delivered = wait_for(lambda: events.of_type(NOTICE_DELIVERED, "AS20261127000009"), 15, message="notice.delivered")
    eventlet.sleep(0.8)
    assert len(gateway.requests) == 1
    headers, body = gateway.requests[0]
    assert headers["x-app-key"] == APP_KEY
    assert headers["x-signature"] == sms_signature(APP_SECRET, APP_KEY, headers["x-timestamp"], headers["x-nonce"], body)
    sms = json.loads(body)
    assert sms["phone"] == "0412-12345" and sms["template_id"] == "SMS_HOTLINE_REMINDER"
    assert sms["content"].startswith("【12345热线】郑洁您好：市环保局承办的工单AS20261127000009已超过办理时限")
    assert "第2次催办" in sms["content"] and sms["params"]["n"] == "2"
    (event,) = delivered
    validate_event(event)
    assert event["data"]["attempts"] == 1 and event["data"]["cause_id"] == reminder["id"]
    assert event["data"]["provider_message_id"] == "m1" and "0412" not in json.dumps(event)


def test_a_gateway_failure_is_retried_and_then_recorded_as_failed(rpc, notify, gateway, events, amqp_uri):
    gateway.answer = lambda n, headers, body: (502, {"code": "GATEWAY_DOWN", "message": "上游短信通道不可用"})
    notify()
    publish(amqp_uri, event_envelope(reminder_sent("AS20261127000010"), time=at("2026-11-27T02:00:00Z")))
    (failed,) = wait_for(lambda: events.of_type(NOTICE_FAILED, "AS20261127000010"), 15, message="notice.failed")
    validate_event(failed)
    assert (failed["data"]["reason"], failed["data"]["attempts"]) == ("exhausted", 3)
    assert "HTTP 502 code GATEWAY_DOWN" in failed["data"]["error"]
    assert len(gateway.requests) == 3 and events.of_type(NOTICE_DELIVERED) == []
