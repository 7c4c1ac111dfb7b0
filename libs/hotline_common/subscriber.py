"""The event entrypoint every service uses instead of nameko's `event_handler` (DESIGN §4).

One durable inbox queue per service, bound to `hotline.events` for each event type its handlers
name; a worker per message. nameko acks a message even when its handler raised, so this entrypoint
decides what happens to a failure before it acks:

* success, or "no change" (a domain rule refused the reaction; dispatch.Handlers.react): ack;
* poison: only a message that is not a well-formed event of a known type (bad envelope, or data
  that does not match the type's JSON Schema, checked here before any handler sees it): publish to
  the service's dead-letter queue with the error, ack;
* a transient error (store or broker down, lost a race, an event ahead of its cause): republish to
  the retry queue with a growing per-message TTL; when the TTL expires RabbitMQ dead-letters it back
  into the inbox; after EVENT_MAX_ATTEMPTS it goes to the dead-letter queue;
* any other exception is a bug in our code (KeyError, TypeError, ...): logged with its traceback,
  counted (hotline_event_handler_bugs_total), retried BUG_MAX_ATTEMPTS times, then dead-lettered as
  "bug" so a replay after the fix applies it. Never an infinite requeue loop, never a silent drop.
* Every broker call while settling is inside the error handling: if the channel died, the message
  is left unacked and the broker redelivers it when the consumer reconnects.
"""
from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from functools import partial

from eventlet.event import Event
from kombu import Exchange, Queue, binding
from nameko.amqp.publish import get_producer
from nameko.constants import AMQP_URI_CONFIG_KEY
from nameko.exceptions import ContainerBeingKilled
from nameko.extensions import Entrypoint, ProviderCollector, SharedExtension
from nameko.messaging import QueueConsumer
from pymongo.errors import PyMongoError

from . import event_schemas, metrics, tracing
from .errors import PoisonMessage, StaleVersion, TransientError
from .events import HOTLINE_EXCHANGE, parse_envelope
from .providers import process_clock
from .serialization import ACCEPT
from .settings import Settings

log = logging.getLogger(__name__)

ATTEMPT_HEADER = "x-hotline-attempt"
RETRY_DELAY_CAP_MS = 60_000
BUG_MAX_ATTEMPTS = 3


def inbox_queue_name(service: str) -> str:
    return f"hotline.{service}.inbox"


def retry_queue_name(service: str) -> str:
    return f"hotline.{service}.retry"


def dead_queue_name(service: str) -> str:
    return f"hotline.{service}.dead"


def park_exchange_name(service: str) -> str:
    """A direct exchange of the service's own, bound to its retry and dead-letter queues (routing key:
    the queue's name). Publishing retries and dead letters through it, instead of the default
    exchange, lets a service's broker user do without write access to `amq.default`, which would let
    it put a message into any queue (tools/brokerusers.py)."""
    return f"hotline.{service}.park"


def queue_arguments(kind: str, service: str, queue_type: str, delivery_limit: int) -> dict:
    """The arguments of a service's `inbox`, `retry` or `dead` queue for QUEUE_TYPE.

    quorum: replicated over the broker's nodes, so a three-node cluster loses nothing when one node
    dies; the inbox caps redeliveries (`x-delivery-limit`, a second guard against a message that
    kills its consumer) and the retry queue dead-letters expired messages back into the inbox
    at-least-once (RabbitMQ >= 3.10, which also brought per-message TTL to quorum queues).
    classic: what a single node without quorum queues can do; arguments as before issue 9, so an
    existing classic deployment keeps its queues (tools/topology.py migrates between the two).
    """
    args: dict = {}
    if kind == "inbox":
        # undecodable messages are rejected; the broker moves them to the dead-letter queue
        args = {"x-dead-letter-exchange": "", "x-dead-letter-routing-key": dead_queue_name(service)}
    elif kind == "retry":
        args = {"x-dead-letter-exchange": "", "x-dead-letter-routing-key": inbox_queue_name(service)}
    if queue_type == "quorum":
        args["x-queue-type"] = "quorum"
        if kind == "inbox" and delivery_limit > 0:
            args["x-delivery-limit"] = delivery_limit
        if kind == "retry":
            args["x-dead-letter-strategy"] = "at-least-once"
            args["x-overflow"] = "reject-publish"   # required by at-least-once dead-lettering
    return args


def service_queues(service: str, event_types, queue_type: str | None = None,
                   delivery_limit: int | None = None) -> tuple[Queue, Queue, Queue]:
    """The three queues of a consuming service; the topology command declares the same ones.

    QUEUE_TYPE (quorum or classic) and QUEUE_DELIVERY_LIMIT come from the settings unless given."""
    if queue_type is None or delivery_limit is None:
        settings = Settings.from_env()
        queue_type = settings.queue_type if queue_type is None else queue_type
        delivery_limit = settings.queue_delivery_limit if delivery_limit is None else delivery_limit
    exchange = Exchange(HOTLINE_EXCHANGE, type="topic", durable=True)
    park = Exchange(park_exchange_name(service), type="direct", durable=True)
    inbox = Queue(
        inbox_queue_name(service),
        bindings=[binding(exchange, routing_key=t) for t in sorted(set(event_types))],
        durable=True,
        queue_arguments=queue_arguments("inbox", service, queue_type, delivery_limit),
    )
    retry = Queue(retry_queue_name(service), durable=True,
                  bindings=[binding(park, routing_key=retry_queue_name(service))],
                  queue_arguments=queue_arguments("retry", service, queue_type, delivery_limit))
    dead = Queue(dead_queue_name(service), durable=True,
                 bindings=[binding(park, routing_key=dead_queue_name(service))],
                 queue_arguments=queue_arguments("dead", service, queue_type, delivery_limit))
    return inbox, retry, dead


def is_transient(exc: BaseException) -> bool:
    return isinstance(exc, (TransientError, PyMongoError, StaleVersion, ConnectionError, OSError))


def is_poison(exc: BaseException) -> bool:
    # only a malformed message is poison; our own KeyError/TypeError is a bug, retried and alarmed
    return isinstance(exc, PoisonMessage)


def retry_delay_ms(attempt: int, base_ms: int) -> int:
    return min(base_ms * 2 ** (attempt - 1), RETRY_DELAY_CAP_MS)


class DeadLetteringQueueConsumer(QueueConsumer):
    """Accepts JSON and CloudEvents JSON; a body that cannot be decoded is rejected (not acked and
    lost), and the inbox queue's dead-letter settings move it to the dead-letter queue."""

    @property
    def accept(self):
        return ACCEPT

    def on_decode_error(self, message, exc):
        log.error("undecodable message on %s: %s", message.delivery_info.get("routing_key"), exc)
        metrics.EVENTS_DEAD_LETTERED.labels(self.container.service_name, "undecodable", "decode").inc()
        message.reject(requeue=False)


class EventInbox(SharedExtension, ProviderCollector):
    queue_consumer = DeadLetteringQueueConsumer()

    def __init__(self):
        super().__init__()
        self._unregistering = set()
        self._unregistered = Event()

    # QueueConsumer reads `queue` when it connects, after every subscriber has registered.
    # Not cached: nameko's bind() reads every attribute before any subscriber registers.
    @property
    def queue(self) -> Queue:
        return service_queues(self.container.service_name, self.event_types)[0]

    @property
    def event_types(self) -> list[str]:
        return sorted({t for p in self._providers for t in p.event_types})

    def setup(self):
        self.settings = Settings.from_env()
        self.amqp_uri = self.container.config[AMQP_URI_CONFIG_KEY]
        self.queue_consumer.register_provider(self)

    def start(self):
        # the retry and dead queues must exist before the first failure needs them
        inbox, retry, dead = service_queues(self.container.service_name, self.event_types)
        with get_producer(self.amqp_uri) as producer:
            for q in (retry, dead):
                q(producer.channel).declare()

    def stop(self):
        if not self._providers_registered:
            self.queue_consumer.unregister_provider(self)
            self._unregistered.send(True)

    def unregister_provider(self, provider):
        self._unregistering.add(provider)
        if not (self._providers - self._unregistering):
            self.queue_consumer.unregister_provider(self)
            self._unregistered.send(True)
        self._unregistered.wait()
        super().unregister_provider(provider)

    def _provider_for(self, event_type: str):
        for provider in self._providers:
            if event_type in provider.event_types:
                return provider
        raise PoisonMessage(f"{self.container.service_name} has no handler for {event_type}")

    def handle_message(self, body, message):
        try:
            event = parse_envelope(body)
            event_schemas.check(event)
            provider = self._provider_for(event["type"])
        except PoisonMessage as exc:
            try:
                self._dead_letter(message, body, exc, "poison")
            except Exception:  # broker trouble: leave it unacked; the broker redelivers it
                log.exception("could not dead-letter a poison message; it stays on the queue")
                self._requeue(message)
            return
        try:
            provider.handle_event(event, message)
        except Exception:  # never let an error here kill the consumer thread
            log.exception("could not start a worker for %s; it stays on the queue", event.get("id"))
            self._requeue(message)

    def _requeue(self, message) -> None:
        try:
            self.queue_consumer.requeue_message(message)
        except Exception:  # the channel is gone: the broker redelivers unacked messages on reconnect
            log.warning("could not requeue (channel closed); the broker will redeliver it")

    # -- settling a handled message
    def settle(self, message, event: dict, exc_info, outcome: str | None = None) -> None:
        service = self.container.service_name
        try:
            if exc_info is None:
                metrics.EVENTS_HANDLED.labels(service, event["type"], outcome or "ok").inc()
                self.queue_consumer.ack_message(message)
                return
            exc = exc_info[1]
            attempt = int((message.headers or {}).get(ATTEMPT_HEADER, 1))
            if is_poison(exc):
                self._dead_letter(message, event, exc, "poison")
                return
            transient = is_transient(exc)
            if not transient:
                metrics.HANDLER_BUGS.labels(service, event["type"], type(exc).__name__).inc()
                log.error("bug handling %s %s (attempt %d)", event["type"], event["id"], attempt, exc_info=exc_info)
            limit = self.settings.event_max_attempts if transient else BUG_MAX_ATTEMPTS
            if attempt >= limit:
                self._dead_letter(message, event, exc, "exhausted" if transient else "bug")
                return
            delay = retry_delay_ms(attempt, self.settings.event_retry_base_ms)
            with get_producer(self.amqp_uri) as producer:
                producer.publish(event, exchange=park_exchange_name(service), routing_key=retry_queue_name(service),
                                 serializer="cloudevents", delivery_mode=2, expiration=delay / 1000.0,
                                 headers={ATTEMPT_HEADER: attempt + 1, "x-hotline-error": _describe(exc)})
            metrics.EVENTS_RETRIED.labels(service, event["type"]).inc()
            log.warning("event %s %s failed (attempt %d): %s; retry in %d ms",
                        event["type"], event["id"], attempt, _describe(exc), delay)
            self.queue_consumer.ack_message(message)
        except Exception:  # could not park it: leave it to the broker rather than lose it
            log.exception("could not settle event %s; it stays on the queue", event.get("id"))
            self._requeue(message)

    def _dead_letter(self, message, body, exc, reason: str) -> None:
        service = self.container.service_name
        event_type = body.get("type", "unknown") if isinstance(body, dict) else "unknown"
        with get_producer(self.amqp_uri) as producer:
            producer.publish(
                body, exchange=park_exchange_name(service), routing_key=dead_queue_name(service), serializer="json",
                delivery_mode=2,
                headers={
                    "x-hotline-error": _describe(exc),
                    "x-hotline-reason": reason,
                    "x-hotline-attempts": int((message.headers or {}).get(ATTEMPT_HEADER, 1)),
                    "x-hotline-failed-at": datetime.now(UTC).isoformat(),
                    "x-hotline-original-routing-key": message.delivery_info.get("routing_key", ""),
                },
            )
        metrics.EVENTS_DEAD_LETTERED.labels(service, event_type, reason).inc()
        log.error("event dead-lettered (%s) on %s: %s", reason, dead_queue_name(service), _describe(exc))
        self.queue_consumer.ack_message(message)


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:1000]


class EventSubscriber(Entrypoint):
    """`@subscribe(T.TICKET_REGISTERED, ...)`: the method receives the CloudEvent as a dict."""

    inbox = EventInbox()

    def __init__(self, *event_types: str, **kwargs):
        if not event_types:
            raise ValueError("subscribe() needs at least one event type")
        self.event_types = tuple(event_types)
        super().__init__(**kwargs)

    def setup(self):
        self.inbox.register_provider(self)

    def stop(self):
        self.inbox.unregister_provider(self)

    def handle_event(self, event: dict, message) -> None:
        context = {"correlation_id": event.get("correlationid"), "event_id": event["id"], "event_time": event["time"]}
        if tracing.enabled():  # the worker's CONSUMER span is the child of the event's creation (providers.Context)
            context.update(tracing.carrier(event))
        try:
            self.container.spawn_worker(self, (event,), {}, context_data=context,
                                        handle_result=partial(self._handle_result, message, event, time.monotonic()))
        except ContainerBeingKilled:
            self.inbox._requeue(message)

    def _handle_result(self, message, event, started, worker_ctx, result, exc_info):
        try:
            metrics.observe_handled(self.container.service_name, event, started,
                                    process_clock(self.inbox.settings).now())
        except Exception:  # a metric must never decide what happens to a message
            log.debug("could not record handler metrics", exc_info=True)
        self.inbox.settle(message, event, exc_info, result if isinstance(result, str) else None)
        return result, exc_info


subscribe = EventSubscriber.decorator


def subscribed_types(service_cls) -> list[str]:
    """Every event type a service class subscribes to (for the topology command and tests)."""
    types = set()
    for name in dir(service_cls):
        for entrypoint in getattr(getattr(service_cls, name, None), "nameko_entrypoints", ()):
            if isinstance(entrypoint, EventSubscriber):
                types.update(entrypoint.event_types)
    return sorted(types)
