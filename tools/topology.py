"""Declare every exchange, queue and binding before any service publishes (DESIGN §4).

An event published before its consumer's queue exists is dropped by the broker; running this first
(`make run` does, docker compose and k8s run it as a one-shot job) closes that gap. Each service
also declares its own part when it starts; declaring twice is harmless.

    python -m tools.topology            # uses AMQP_URI (an administrator), QUEUE_TYPE, QUEUE_DELIVERY_LIMIT
    python -m tools.topology --no-migrate

Changing a queue's type (QUEUE_TYPE=classic -> quorum, or back) or its arguments: RabbitMQ refuses
to redeclare a queue with other arguments (406 PRECONDITION_FAILED), and a queue keeps its name, so
the old queue must be deleted and the new one declared. This command does it without losing a
message, when it finds such a queue and no consumer is attached to the service's inbox (stop the
service first: scale it to 0, or `make run` is not running; otherwise it stops with that advice):

1. the retry queue's messages are moved into the inbox (they are retried at once instead of after
   their delay; handlers are idempotent), so no retry expires into a missing inbox later;
2. for the inbox and the dead-letter queue: a temporary queue `<name>.migrating` of the new type
   takes the old queue's bindings; the old queue is unbound, its messages are moved to the
   temporary one (publisher confirms, then ack), it is deleted and declared anew; the temporary
   queue is unbound, its messages moved into the new queue, and it is deleted;
3. the (now empty) retry queue is deleted and declared anew.

A migration interrupted half-way is finished by the next run: a `<name>.migrating` queue left behind
is emptied into `<name>` and deleted.
"""
from __future__ import annotations

import argparse
import logging
import sys

from amqp.exceptions import NotFound, PreconditionFailed
from kombu import Connection, Queue

from hotline_common.outbox import declare_publisher_topology
from hotline_common.settings import Settings
from hotline_common.subscriber import service_queues, subscribed_types

from .services import SERVICES, service_class

log = logging.getLogger("topology")

MIGRATING = ".migrating"


class MigrationRefused(RuntimeError):
    pass


def declare_all(amqp_uri: str, queue_type: str | None = None, delivery_limit: int | None = None,
                migrate: bool = True) -> dict[str, list[str]]:
    settings = Settings.from_env()
    queue_type = settings.queue_type if queue_type is None else queue_type
    delivery_limit = settings.queue_delivery_limit if delivery_limit is None else delivery_limit
    declared = {}
    with Connection(amqp_uri, connect_timeout=10, transport_options={"confirm_publish": True}) as conn:
        for name in SERVICES:
            declare_publisher_topology(conn.channel(), name)
            types = subscribed_types(service_class(name))
            queues = service_queues(name, types, queue_type=queue_type, delivery_limit=delivery_limit)
            declare_service_queues(conn, queues, migrate)
            declared[name] = types
    return declared


def declare_service_queues(conn, queues: tuple[Queue, Queue, Queue], migrate: bool = True) -> list[str]:
    """Declare a service's inbox, retry and dead queues; migrate those whose type or arguments
    changed. Returns the names of the queues migrated."""
    inbox, retry, dead = queues
    stale = [q for q in queues if not _try_declare(conn, q)]
    migrated = []
    if stale:
        if not migrate:
            raise MigrationRefused(f"{', '.join(q.name for q in stale)}: declared with other arguments; "
                                   "run `python -m tools.topology` (it migrates them) with the service stopped")
        consumers = _consumer_count(conn, inbox.name)
        if consumers:
            raise MigrationRefused(
                f"{inbox.name} must change type or arguments but has {consumers} consumer(s): stop the "
                "service (k8s: scale its Deployment to 0), run `python -m tools.topology`, start it again")
        names = {q.name for q in stale}
        if retry.name in names or inbox.name in names:
            # retries must not expire into an inbox that is briefly missing: retry them now
            _move_all(conn, retry.name, inbox.name if inbox.name not in names else None, keep_expiration=False,
                      fallback=inbox)
        for queue in (inbox, dead):
            if queue.name in names:
                _migrate_through_temporary(conn, queue)
                migrated.append(queue.name)
        if retry.name in names:
            _delete(conn, retry.name)
            retry(conn.channel()).declare()
            migrated.append(retry.name)
    for queue in queues:  # finish a migration an earlier run left half-way
        _finish_leftover(conn, queue)
    return migrated


def _try_declare(conn, queue: Queue) -> bool:
    try:
        queue(conn.channel()).declare()
        return True
    except PreconditionFailed as exc:  # the channel is closed by the broker; the connection lives on
        log.warning("%s exists with other arguments (%s)", queue.name, exc)
        return False


def _consumer_count(conn, name: str) -> int:
    _, _, consumers = conn.channel().queue_declare(name, passive=True)
    return consumers


def _exists(conn, name: str) -> bool:
    try:
        conn.channel().queue_declare(name, passive=True)
        return True
    except NotFound:
        return False


def _temporary(queue: Queue) -> Queue:
    return Queue(queue.name + MIGRATING, bindings=list(queue.bindings), durable=True,
                 queue_arguments=dict(queue.queue_arguments or {}))


def _migrate_through_temporary(conn, queue: Queue) -> None:
    temporary = _temporary(queue)
    channel = conn.channel()
    temporary(channel).declare()                          # bound like the queue: new messages land here
    for b in queue.bindings:                              # the old queue gets nothing more
        channel.queue_unbind(queue.name, b.exchange.name, b.routing_key or "")
    moved = _move_all(conn, queue.name, temporary.name)
    _delete(conn, queue.name)
    queue(conn.channel()).declare()
    channel = conn.channel()
    for b in queue.bindings:
        channel.queue_unbind(temporary.name, b.exchange.name, b.routing_key or "")
    back = _move_all(conn, temporary.name, queue.name)
    _delete(conn, temporary.name)
    log.warning("migrated %s (%d message(s) kept, %d arrived meanwhile)", queue.name, moved, back - moved)


def _finish_leftover(conn, queue: Queue) -> None:
    name = queue.name + MIGRATING
    if not _exists(conn, name):
        return
    channel = conn.channel()
    for b in queue.bindings:
        channel.queue_unbind(name, b.exchange.name, b.routing_key or "")
    moved = _move_all(conn, name, queue.name)
    _delete(conn, name)
    log.warning("finished an interrupted migration of %s (%d message(s) moved)", queue.name, moved)


def _delete(conn, name: str) -> None:
    conn.channel().queue_delete(name)


def _move_all(conn, source: str, target: str | None, keep_expiration: bool = True, fallback: Queue | None = None) -> int:
    """Move every message of `source` to the queue `target` (default exchange) with publisher
    confirms, acking each only after its copy is confirmed. Headers and properties are kept.
    `target` None: the target is migrating too; put them in its temporary queue."""
    if target is None:
        target = fallback.name + MIGRATING
        _temporary(fallback)(conn.channel()).declare()
    if not _exists(conn, source):
        return 0
    channel = conn.channel()
    producer = conn.Producer(channel=conn.channel())
    moved = 0
    while True:
        message = channel.basic_get(source, no_ack=False)
        if message is None:
            return moved
        props = dict(message.properties)
        properties = {k: props[k] for k in ("correlation_id", "reply_to", "message_id", "type", "app_id",
                                            "timestamp", "priority", "user_id") if props.get(k) is not None}
        if keep_expiration and props.get("expiration"):
            properties["expiration"] = props["expiration"]
        producer.publish(message.body, exchange="", routing_key=target,
                         content_type=props.get("content_type") or "application/octet-stream",
                         content_encoding=props.get("content_encoding") or "binary",
                         headers=props.get("application_headers") or {}, delivery_mode=2, **properties)
        channel.basic_ack(message.delivery_tag)
        moved += 1


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--no-migrate", action="store_true", help="stop instead of migrating a changed queue")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="[topology] %(message)s")
    settings = Settings.from_env()
    try:
        declared = declare_all(settings.amqp_uri, migrate=not args.no_migrate)
    except MigrationRefused as exc:
        print(f"[topology] {exc}", file=sys.stderr)
        return 2
    for name, types in declared.items():
        print(f"{name}: {len(types)} event types bound, {settings.queue_type} queues")
    return 0


if __name__ == "__main__":
    sys.exit(main())
