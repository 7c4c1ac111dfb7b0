"""Queues that survive a broker node (issue 9): quorum inbox, retry and dead-letter queues when
QUEUE_TYPE=quorum, a redelivery cap on the inbox, retries that still come back after their delay, and
a migration between queue types that keeps every message."""
import json
import time

import pytest
from amqp.exceptions import NotFound
from kombu import Connection, Exchange, Producer

from hotline_common.events import HOTLINE_EXCHANGE, T
from hotline_common.subscriber import dead_queue_name, inbox_queue_name, retry_queue_name
from tests.conftest import wait_for
from tools.topology import MigrationRefused, declare_all

SERVICE = "routing"


def queue_type(amqp_uri, name):
    """The queue's type as the management API reports it."""
    from urllib.parse import quote, urlparse

    import requests
    vhost = urlparse(amqp_uri).path[1:] or "/"
    r = requests.get(f"http://guest:guest@localhost:15672/api/queues/{quote(vhost, safe='')}/{name}", timeout=10)
    r.raise_for_status()
    return r.json()["type"], r.json().get("arguments", {})


def count(amqp_uri, name):
    with Connection(amqp_uri) as conn:
        _, messages, _ = conn.channel().queue_declare(name, passive=True)
        return messages


def put(amqp_uri, queue, body, **properties):
    with Connection(amqp_uri, transport_options={"confirm_publish": True}) as conn:
        Producer(conn.channel()).publish(body, exchange="", routing_key=queue, serializer="json",
                                         delivery_mode=2, **properties)


def test_quorum_queues_with_a_delivery_limit_and_a_working_retry_queue(amqp_uri):
    declare_all(amqp_uri, queue_type="quorum", delivery_limit=5)
    kind, args = queue_type(amqp_uri, inbox_queue_name(SERVICE))
    assert kind == "quorum" and args["x-delivery-limit"] == 5
    assert queue_type(amqp_uri, retry_queue_name(SERVICE))[0] == "quorum"
    assert queue_type(amqp_uri, dead_queue_name(SERVICE))[0] == "quorum"

    # a retry with a per-message delay comes back into the inbox after the delay (RabbitMQ >= 3.10)
    start = time.monotonic()
    put(amqp_uri, retry_queue_name(SERVICE), {"n": 1}, expiration=0.3)
    wait_for(lambda: count(amqp_uri, inbox_queue_name(SERVICE)) == 1, 10, message="the retry back in the inbox")
    assert time.monotonic() - start >= 0.25

    # a message that keeps coming back (its consumer dies each time) is dead-lettered after the limit
    with Connection(amqp_uri) as conn:
        channel = conn.channel()
        for _ in range(6):
            message = wait_for(lambda: channel.basic_get(inbox_queue_name(SERVICE), no_ack=False), 5,
                               message="the message again")
            channel.basic_reject(message.delivery_tag, requeue=True)
    wait_for(lambda: count(amqp_uri, dead_queue_name(SERVICE)) == 1, 10, message="a dead letter")


def test_changing_the_queue_type_migrates_without_losing_a_message(amqp_uri):
    declare_all(amqp_uri, queue_type="classic")
    assert queue_type(amqp_uri, inbox_queue_name(SERVICE))[0] == "classic"
    with Connection(amqp_uri, transport_options={"confirm_publish": True}) as conn:
        producer = Producer(conn.channel())
        exchange = Exchange(HOTLINE_EXCHANGE, type="topic", durable=True)
        for i in range(3):  # through the exchange, as events arrive
            producer.publish({"i": i}, exchange=exchange, routing_key=T.TICKET_REGISTERED, serializer="json",
                             delivery_mode=2, headers={"x-hotline-attempt": 1})
    put(amqp_uri, retry_queue_name(SERVICE), {"retry": 1}, expiration=60, headers={"x-hotline-attempt": 2})
    put(amqp_uri, dead_queue_name(SERVICE), {"dead": 1}, headers={"x-hotline-reason": "poison"})
    put(amqp_uri, dead_queue_name(SERVICE), b"\x00garbage")

    declare_all(amqp_uri, queue_type="quorum")

    assert queue_type(amqp_uri, inbox_queue_name(SERVICE))[0] == "quorum"
    assert queue_type(amqp_uri, retry_queue_name(SERVICE))[0] == "quorum"
    assert queue_type(amqp_uri, dead_queue_name(SERVICE))[0] == "quorum"
    # the retry is in the inbox now (retried at once), with its attempt count
    with Connection(amqp_uri) as conn:
        channel = conn.channel()
        inbox = [channel.basic_get(inbox_queue_name(SERVICE), no_ack=True) for _ in range(4)]
        assert all(inbox), "a message of the inbox or the retry queue was lost"
        bodies = sorted(json.dumps(json.loads(m.body), sort_keys=True) for m in inbox)
        assert bodies == sorted(['{"i": 0}', '{"i": 1}', '{"i": 2}', '{"retry": 1}'])
        attempts = {json.loads(m.body).get("retry"): m.properties["application_headers"]["x-hotline-attempt"]
                    for m in inbox}
        assert attempts[1] == 2
        dead = [channel.basic_get(dead_queue_name(SERVICE), no_ack=True) for _ in range(2)]
        assert all(dead)
        assert {m.properties.get("application_headers", {}).get("x-hotline-reason") for m in dead} == {"poison", None}
    # still bound: new events arrive in the new inbox
    with Connection(amqp_uri) as conn:
        Producer(conn.channel()).publish({"i": 9}, exchange=Exchange(HOTLINE_EXCHANGE, type="topic", durable=True),
                                         routing_key=T.TICKET_REGISTERED, serializer="json")
    wait_for(lambda: count(amqp_uri, inbox_queue_name(SERVICE)) == 1, 5, message="a new event in the new inbox")
    for queue in (inbox_queue_name(SERVICE), dead_queue_name(SERVICE)):
        with Connection(amqp_uri) as conn, pytest.raises(NotFound):
            conn.channel().queue_declare(queue + ".migrating", passive=True)


def test_a_running_consumer_stops_the_migration(amqp_uri):
    declare_all(amqp_uri, queue_type="classic")
    with Connection(amqp_uri) as conn:
        channel = conn.channel()
        channel.basic_consume(inbox_queue_name(SERVICE), callback=lambda m: None)
        with pytest.raises(MigrationRefused, match="stop the service"):
            declare_all(amqp_uri, queue_type="quorum")
