"""Outbox and relay (DESIGN §4): nothing is lost, something may be published twice.

Each service database has an `outbox` collection. A state change goes in three steps:

1. stage: its events are inserted into `outbox` (batched with concurrent writers: cheap inserts);
2. commit: the aggregate is written, recording the ids of its events (`event_ids`) in the same
   single-document write;
3. relay: the events are published with publisher confirms, then deleted from `outbox` in bulk.

A crash between 1 and 2 leaves staged events whose ids the aggregate never recorded: the sweeper
deletes them once they are old enough. A crash after 2 leaves committed events in `outbox`: the
sweeper publishes them. So an event is published if and only if its state change committed, at
least once; consumers dedupe by event id (the inbox).

Why not an `outbox` array inside the aggregate, removed with `$pull` after publishing: that costs an
update per aggregate per event, and on the embedded server an update costs as much as ten inserts
(measured in bench/README.md); staging plus bulk delete costs a fraction of it.
"""
from __future__ import annotations

import logging
import queue
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import timedelta

from kombu import Connection, Exchange, Producer
from pymongo import ASCENDING, DeleteOne, InsertOne

from . import (
    logs,
    metrics,
    serialization,  # noqa: F401  registers the cloudevents serializer with kombu
    tracing,
)
from .batching import GroupCommit
from .clock import Clock, utcnow
from .events import HOTLINE_EXCHANGE, DomainEvent, envelope
from .messages import Event
from .timeutil import as_utc

log = logging.getLogger(__name__)

OUTBOX = "outbox"
SWEEP_MIN_AGE_SECONDS = 3.0   # the fast path normally publishes within milliseconds
ORPHAN_AGE_SECONDS = 120.0    # a staged event whose state change never committed is dropped after this
BATCH_MAX = 500


def derived_event_id(cause: str, key, index: int, event_type: str) -> str:
    """The id of the index-th event of the reaction to `cause` on aggregate `key`: the same inputs,
    the same id, in every process and after any restart."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"hotline:{cause}:{key}:{index}:{event_type}"))


def service_exchange(service: str) -> Exchange:
    # same name and type as nameko's event exchange for the service
    return Exchange(f"{service}.events", type="topic", durable=True, auto_delete=False)


def hotline_exchange() -> Exchange:
    return Exchange(HOTLINE_EXCHANGE, type="topic", durable=True, auto_delete=False)


def declare_publisher_topology(channel, service: str) -> None:
    """`<service>.events` -> `hotline.events` (exchange-to-exchange), so subscribers bind one place."""
    source = service_exchange(service)(channel)
    target = hotline_exchange()(channel)
    source.declare()
    target.declare()
    target.bind_to(source, routing_key="#")


class Outbox:
    """The port a store uses: wrap domain events, stage them, hand committed ones to the relay."""

    def __init__(self, service: str, clock: Clock, relay: OutboxRelay | None, database=None):
        self.service = service
        self.clock = clock
        self.relay = relay
        self.collection = database[OUTBOX] if database is not None else None
        self._group = GroupCommit(self.collection) if self.collection is not None else None
        if self.collection is not None:
            self.collection.create_index([("at", ASCENDING)], name="age")

    def wrap(self, events: Iterable, cause: str | None = None, key=None) -> list[dict]:
        """Envelopes for a change's events. A reaction (`cause` = the id of the event it reacts to)
        gets ids derived from its cause, so the same reaction repeated after any crash publishes
        the same ids and subscribers can deduplicate. Each carries the correlation id and, when
        tracing is on, the traceparent of its creation (the relay publishes it later, elsewhere)."""
        now = self.clock.now()
        cid = logs.correlation_id()
        out = []
        for index, e in enumerate(events):
            if isinstance(e, (DomainEvent, Event)):
                event_id = derived_event_id(cause, key, index, e.full_type() if isinstance(e, Event) else e.type) \
                    if cause else None
                env = envelope(e, source_service=self.service, time=now, correlation_id=cid, event_id=event_id)
                tracing.stamp(env, self.service)  # its traceparent, now: the relay publishes it later
                out.append(env)
            else:  # already an envelope
                out.append(e)
        return out

    def stage(self, collection: str, key, envelopes: list[dict]) -> None:
        """Step 1: keep the events before the state change is written."""
        self.stage_many([(collection, key, envelopes)])

    def stage_many(self, items: list[tuple]) -> None:
        """Step 1 for many changes at once: [(collection, key, envelopes), ...]."""
        if self._group is None:
            return
        at = utcnow()
        ops = [InsertOne({"_id": e["id"], "collection": collection, "key": key, "at": at, "event": e})
               for collection, key, envelopes in items for e in envelopes]
        if not ops:
            return
        outcomes = self._group.write_all(ops)
        for outcome in outcomes:
            if outcome.error is not None and outcome.error.get("code") != 11000:
                raise RuntimeError(f"could not stage events: {outcome.error.get('errmsg')}")

    def discard(self, envelopes: list[dict]) -> None:
        """The state change was not written: its staged events must never be published."""
        if envelopes and self.collection is not None:
            self.collection.delete_many({"_id": {"$in": [e["id"] for e in envelopes]}})

    def committed(self, collection: str, key, envelopes: list[dict]) -> None:
        """Step 3: the state change is written; publish its events."""
        if envelopes and self.relay is not None:
            self.relay.submit(collection, key, envelopes)


class OutboxRelay:
    """Publishes committed events with confirms, deletes them from `outbox` in bulk, and sweeps what a
    crash left behind. Runs in one background (green)thread; `submit` never blocks the caller."""

    def __init__(self, service: str, amqp_uri: str, database, sweep_seconds: float = 5.0,
                 spawn: Callable | None = None):
        self.service = service
        self.amqp_uri = amqp_uri
        self.db = database
        self.sweep_seconds = sweep_seconds
        self._spawn = spawn or (lambda fn: threading.Thread(target=fn, daemon=True).start())
        self._queue: queue.Queue = queue.Queue()
        self._running = False
        self._stopped = threading.Event()
        self._connection: Connection | None = None
        self._producer: Producer | None = None
        self._last_sweep = 0.0
        self.healthy = False

    # -- lifecycle
    def start(self) -> None:
        self._running = True
        self._stopped.clear()
        self._spawn(self._run)

    def stop(self, timeout: float = 10.0) -> None:
        """Drain what is queued (best effort) and stop; the sweeper covers anything left."""
        self._running = False
        self._queue.put(None)
        self._stopped.wait(timeout)
        self._close()

    def submit(self, collection: str, key, envelopes: list[dict]) -> None:
        self._queue.put(envelopes)

    # -- loop
    def _run(self) -> None:
        try:
            while self._running or not self._queue.empty():
                batch = self._take_batch(timeout=min(1.0, self.sweep_seconds))
                if batch:
                    self._publish_with_retry(batch)
                if self._running and time.monotonic() - self._last_sweep >= self.sweep_seconds:
                    self._last_sweep = time.monotonic()
                    self._sweep()
        finally:
            self._stopped.set()

    def _take_batch(self, timeout: float) -> list[dict]:
        batch: list[dict] = []
        try:
            item = self._queue.get(timeout=timeout)
        except queue.Empty:
            return batch
        if item is not None:
            batch.extend(item)
        while len(batch) < BATCH_MAX:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is not None:
                batch.extend(item)
        return batch

    def _publish_with_retry(self, batch: list[dict]) -> None:
        delay = 0.2
        while True:
            try:
                self._publish(batch)
                self.healthy = True
                return
            except Exception as exc:  # broker or store down: keep the batch, back off, retry
                self.healthy = False
                log.warning("outbox relay failed (%s: %s); retrying in %.1fs", type(exc).__name__, exc, delay)
                self._close()
                if not self._running:
                    return  # the events stay in `outbox`; the next start's sweeper sends them
                time.sleep(delay)
                delay = min(delay * 2, 10.0)

    def _publish(self, batch: list[dict]) -> None:
        producer = self._ensure_producer()
        exchange = service_exchange(self.service)
        for env in batch:
            producer.publish(
                env, exchange=exchange, routing_key=env["type"], serializer="cloudevents",
                delivery_mode=2, message_id=env["id"],
                headers={"ce-type": env["type"], "ce-subject": env.get("subject") or ""},
            )
            metrics.OUTBOX_PUBLISHED.labels(self.service, env["type"]).inc()
        self.db[OUTBOX].bulk_write([DeleteOne({"_id": env["id"]}) for env in batch], ordered=False)

    def _ensure_producer(self) -> Producer:
        if self._producer is None:
            conn = Connection(self.amqp_uri, transport_options={"confirm_publish": True},
                              heartbeat=0, connect_timeout=5)
            conn.ensure_connection(max_retries=1)
            channel = conn.channel()
            declare_publisher_topology(channel, self.service)
            self._connection = conn
            self._producer = Producer(channel)
        return self._producer

    def _close(self) -> None:
        try:
            if self._connection is not None:
                self._connection.release()
        except Exception:  # closing a dead connection may fail; nothing to save
            pass
        self._connection = None
        self._producer = None

    def _sweep(self) -> None:
        """Publish committed events a crash left in `outbox`; drop staged events that never committed."""
        now = time.time()
        try:
            staged = list(self.db[OUTBOX].find({"at": {"$lte": utcnow_minus(SWEEP_MIN_AGE_SECONDS)}})
                          .sort("at", ASCENDING).limit(BATCH_MAX))
            if not staged:
                return
            committed, orphans = [], []
            by_collection: dict[str, set] = {}
            for doc in staged:
                by_collection.setdefault(doc["collection"], set()).add(doc["key"])
            recorded, fresh = set(), set()
            just_now = utcnow_minus(SWEEP_MIN_AGE_SECONDS)
            for name, keys in by_collection.items():
                for agg in self.db[name].find({"_id": {"$in": list(keys)}}, {"event_ids": 1, "committed_at": 1}):
                    # a change that records when it committed (events staged well before: sla's timer
                    # runs) leaves its events to the relay for as long as any other change's
                    committed_at = agg.get("committed_at")
                    young = committed_at is not None and as_utc(committed_at) > just_now
                    (fresh if young else recorded).update(agg.get("event_ids", []))
            for doc in staged:
                if doc["_id"] in fresh:
                    continue
                if doc["_id"] in recorded:
                    committed.append(doc["event"])
                elif now - doc["at"].timestamp() > ORPHAN_AGE_SECONDS:
                    orphans.append(doc["_id"])
            if orphans:
                log.warning("outbox sweeper dropping %d staged events whose change never committed", len(orphans))
                self.db[OUTBOX].delete_many({"_id": {"$in": orphans}})
            if committed:
                log.info("outbox sweeper publishing %d events left behind", len(committed))
                self._publish_with_retry(committed)
        except Exception as exc:
            log.warning("outbox sweep failed: %s", exc)


def utcnow_minus(seconds: float):
    return utcnow() - timedelta(seconds=seconds)
