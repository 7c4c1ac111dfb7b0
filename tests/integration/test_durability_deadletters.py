"""Dead-letter tools (issue 9): `list` never crashes on a body it cannot read; `replay` never deletes
what it did not replay."""
import io
import json
import time

import pytest
from kombu import Connection, Producer

from hotline_common import serialization  # noqa: F401  the cloudevents content type
from hotline_common.subscriber import dead_queue_name, inbox_queue_name
from tools import deadletters
from tools.topology import declare_all

from .test_reliability import registered_event

SERVICE = "routing"


def put_raw(amqp_uri, body: bytes, content_type="application/json", headers=None):
    with Connection(amqp_uri, transport_options={"confirm_publish": True}) as conn:
        Producer(conn.channel()).publish(body, exchange="", routing_key=dead_queue_name(SERVICE),
                                         content_type=content_type, content_encoding="binary",
                                         headers=headers or {}, delivery_mode=2)


def ready(amqp_uri, name):
    with Connection(amqp_uri) as conn:
        return conn.channel().queue_declare(name, passive=True)[1]


def count(amqp_uri, name, expected=None):
    """Ready messages; with `expected`, allow a moment for requeued ones to be counted again (a quorum
    queue applies a requeue asynchronously) before giving the count."""
    deadline = time.monotonic() + 5
    while expected is not None and ready(amqp_uri, name) != expected and time.monotonic() < deadline:
        time.sleep(0.1)
    return ready(amqp_uri, name)


@pytest.fixture
def dead_letters(amqp_uri, monkeypatch):
    declare_all(amqp_uri)
    monkeypatch.setenv("AMQP_URI", amqp_uri)
    event = registered_event(event_id="evt-replay-me")
    put_raw(amqp_uri, b'[1, 2, 3]', headers={"x-hotline-reason": "poison"})               # a JSON array
    put_raw(amqp_uri, b"\xff\xfe\x00garbage", content_type="application/octet-stream")      # bytes
    put_raw(amqp_uri, b"{not json")                                                         # garbage
    put_raw(amqp_uri, b'"just a string"')                                                   # JSON, not an object
    put_raw(amqp_uri, b'{"hello": "world"}', headers={"x-hotline-reason": "poison"})      # not a CloudEvent
    put_raw(amqp_uri, json.dumps(event).encode(), headers={"x-hotline-reason": "exhausted",
                                                           "x-hotline-error": "AutoReconnect: down"})
    return event


def test_list_shows_every_dead_letter_without_crashing_and_keeps_them(amqp_uri, dead_letters, capsys):
    assert deadletters.main(["list", SERVICE]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(lines) == 6
    assert [line["id"] for line in lines].count("evt-replay-me") == 1
    unreadable = [line for line in lines if line["id"] is None]
    assert len(unreadable) == 5 and all(line["unreadable"] and "body" in line for line in unreadable)
    assert count(amqp_uri, dead_queue_name(SERVICE), 6) == 6  # list takes nothing away


def test_replay_sends_the_events_back_and_leaves_what_it_cannot_replay(amqp_uri, dead_letters, capsys):
    assert deadletters.main(["replay", SERVICE]) == 0
    assert "replayed 1 message(s)" in capsys.readouterr().err
    assert count(amqp_uri, dead_queue_name(SERVICE), 5) == 5, "replay deleted dead letters it did not replay"
    assert count(amqp_uri, inbox_queue_name(SERVICE), 1) == 1
    with Connection(amqp_uri) as conn:
        message = conn.channel().basic_get(inbox_queue_name(SERVICE), no_ack=True)
        assert json.loads(message.body)["id"] == dead_letters["id"]
    # the ones left are still all there, byte for byte
    with Connection(amqp_uri) as conn:
        channel = conn.channel()
        bodies = {bytes(channel.basic_get(dead_queue_name(SERVICE), no_ack=True).body) for _ in range(5)}
    assert b"\xff\xfe\x00garbage" in bodies and b"[1, 2, 3]" in bodies and b"{not json" in bodies


def test_replay_of_chosen_ids_only(amqp_uri, dead_letters):
    counts = deadletters.run(amqp_uri, SERVICE, "replay", 100, ids=["another"], out=io.StringIO(), err=io.StringIO())
    assert counts == {"listed": 6, "replayed": 0, "kept": 6}
    assert count(amqp_uri, dead_queue_name(SERVICE), 6) == 6
