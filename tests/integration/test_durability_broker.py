"""Who may publish what (issue 9): each service connects as its own RabbitMQ user that writes only its
own exchange; the gateway may only call services; an external subscriber may only declare and read
queues under its own prefix. A spoofed event from the wrong user is refused by the broker.

The users are made for the test's throwaway vhost through the management API (the same definitions
`make run` imports with rabbitmqctl and compose/k8s load at boot) and deleted afterwards."""
import uuid

import pytest
import requests
from amqp.exceptions import AccessRefused
from kombu import Connection, Exchange, Producer, Queue
from nameko.standalone.rpc import ClusterRpcProxy

from hotline_common import serialization  # noqa: F401  the cloudevents content type
from hotline_common.dispatch import request
from hotline_common.events import HOTLINE_EXCHANGE, T
from hotline_common.subscriber import inbox_queue_name
from tests.conftest import wait_for
from tools import brokerusers
from tools.services import service_class
from tools.topology import declare_all

from .conftest import OPERATOR, noise_complaint
from .test_reliability import registered_event

API = "http://guest:guest@localhost:15672/api"
SUBSCRIBER = "citydash"


@pytest.fixture
def users(amqp_uri):
    """{"intake": uri, ..., "gateway": uri, "subscriber:citydash": uri} on the test's vhost."""
    vhost = brokerusers.vhost_of(amqp_uri)
    names = [brokerusers.user_name(k, n, vhost) for k, n in brokerusers.roles((SUBSCRIBER,))]
    passwords = {n: uuid.uuid4().hex for n in names}
    defs = brokerusers.definitions(vhost, passwords, (SUBSCRIBER,), include_vhost=False)
    response = requests.post(f"{API}/definitions", json=defs, timeout=30)
    assert response.status_code in (200, 201, 204), response.text
    uris = {}
    for kind, name in brokerusers.roles((SUBSCRIBER,)):
        user = brokerusers.user_name(kind, name, vhost)
        uris[name if kind != "subscriber" else f"subscriber:{name}"] = brokerusers.uri_for(amqp_uri, user, passwords[user])
    declare_all(amqp_uri)  # the topology job runs as the administrator
    with Connection(amqp_uri) as conn:  # as the first service to start would
        Exchange("nameko-rpc", type="topic", durable=True)(conn.channel()).declare()
    yield uris
    for name in names:
        requests.delete(f"{API}/users/{name}", timeout=30)


def publish(uri, exchange, routing_key, body):
    """Publish with confirms; the broker's refusal closes the channel and raises AccessRefused."""
    with Connection(uri, transport_options={"confirm_publish": True}) as conn:
        Producer(conn.channel()).publish(body, exchange=exchange, routing_key=routing_key,
                                         serializer="cloudevents", delivery_mode=2)


def spoofed():
    return registered_event(number="AS20261127000666", ticket_id="t-spoof", event_id=str(uuid.uuid4()))


def test_a_spoofed_event_from_the_wrong_user_is_refused(users):
    hotline = Exchange(HOTLINE_EXCHANGE, type="topic", durable=True)
    for who in ("routing", "bulletin", "gateway", f"subscriber:{SUBSCRIBER}"):
        with pytest.raises(AccessRefused):
            publish(users[who], hotline, T.TICKET_REGISTERED, spoofed())         # straight onto hotline.events
    with pytest.raises(AccessRefused):
        publish(users["routing"], Exchange("intake.events", type="topic", durable=True), T.TICKET_REGISTERED,
                spoofed())                                                        # another service's exchange
    with pytest.raises(AccessRefused):                                          # a service calling another
        publish(users["routing"], Exchange("nameko-rpc", type="topic", durable=True), "intake.register", {})


def test_a_service_cannot_put_a_message_straight_into_another_services_inbox(users):
    with pytest.raises(AccessRefused):
        publish(users["bulletin"], "", inbox_queue_name("routing"), spoofed())


def test_an_external_subscriber_reads_under_its_own_prefix_only(users):
    uri = users[f"subscriber:{SUBSCRIBER}"]
    # it binds to hotline.events but may not declare it (that needs `configure`, which could delete it)
    hotline = Exchange(HOTLINE_EXCHANGE, type="topic", durable=True, no_declare=True)
    own = Queue(f"ext.{SUBSCRIBER}.tickets", exchange=hotline, routing_key="cn.gov.12345.ticket.#", durable=True)
    with Connection(uri) as conn:
        own(conn.channel()).declare()
    with pytest.raises(AccessRefused), Connection(uri) as conn:
        Queue("ext.other.tickets", exchange=hotline, routing_key="#")(conn.channel()).declare()
    with pytest.raises(AccessRefused), Connection(uri) as conn:                 # someone else's inbox
        conn.channel().basic_get(inbox_queue_name("routing"), no_ack=True)
    # what intake publishes on its own exchange reaches the subscriber through hotline.events
    event = spoofed()
    publish(users["intake"], Exchange("intake.events", type="topic", durable=True), T.TICKET_REGISTERED, event)
    with Connection(uri) as conn:
        channel = conn.channel()
        message = wait_for(lambda: channel.basic_get(own.name, no_ack=True), 5, message="the event")
        assert event["id"] in (message.body if isinstance(message.body, str) else message.body.decode())


def test_the_services_run_with_their_own_users(users, runner_factory, service_env, rabbit_config):
    """Each service as its own user (nameko's RPC queue, reply, inbox, retry and dead queues, the outbox's
    exchange binding), the gateway's user calling it: a ticket is registered, dispatched and timed."""
    runners = []
    for name in ("intake", "routing", "sla"):
        config = {"AMQP_URI": users[name], "WEB_SERVER_ADDRESS": "127.0.0.1:0", "max_workers": 10}
        runner = runner_factory(config, service_class(name))
        runner.start()
        runners.append(runner)
    with ClusterRpcProxy({"AMQP_URI": users["gateway"]}, timeout=15) as rpc:
        created = rpc.intake.register(request(body=noise_complaint()), OPERATOR)
        wait_for(lambda: rpc.intake.get_ticket(request(params={"key": created["number"]}), OPERATOR)["deadline"],
                 20, message="the ticket dispatched with a deadline")
