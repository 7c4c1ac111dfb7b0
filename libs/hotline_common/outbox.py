"""Outbox and relay (DESIGN §4): nothing is lost, something may be published twice.

A store writes a state change together with its events (`outbox` array in the same document).
After the write it hands them to the relay, which publishes them with publisher confirms and then
removes them from the documents in one bulk write. A sweeper republishes whatever a crash left
behind. Consumers dedupe by event id (the inbox).
"""
from __future__ import annotations

import logging
import queue
import threading
import time
from typing import Callable, Iterable

from kombu import Connection, Exchange, Producer
from pymongo import UpdateOne

from . import logs, metrics
from .clock import Clock, utcnow
from .events import CONTENT_TYPE, HOTLINE_EXCHANGE, DomainEvent, envelope
from . import serialization  # noqa: F401  registers the cloudevents serializer with kombu

log = logging.getLogger(__name__)

SWEEP_MIN_AGE_SECONDS = 3.0   # the fast path normally publishes within milliseconds
BATCH_MAX = 500


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
    """The port a store uses: wrap domain events in envelopes, then hand them to the relay."""

    def __init__(self, service: str, clock: Clock, relay: "OutboxRelay | None"):
        self.service = service
        self.clock = clock
        self.relay = relay

    def wrap(self, events: Iterable) -> list[dict]:
        now = self.clock.now()
        cid = logs.correlation_id()
        out = []
        for e in events:
            if isinstance(e, DomainEvent):
                out.append(envelope(e, source_service=self.service, time=now, correlation_id=cid))
            else:  # already an envelope
                out.append(e)
        return out

    @staticmethod
    def entry(env: dict) -> dict:
        return {"id": env["id"], "at": utcnow(), "event": env}

    def notify(self, collection: str, key, envelopes: list[dict]) -> None:
        if envelopes and self.relay is not None:
            self.relay.submit(collection, key, envelopes)


class OutboxRelay:
    """Publishes outbox events with confirms, marks them sent in bulk, sweeps what was left behind.

    Runs in one background (green)thread; `submit` never blocks the caller.
    """

    def __init__(self, service: str, amqp_uri: str, database, collections: Iterable[str],
                 sweep_seconds: float = 5.0, spawn: Callable | None = None):
        self.service = service
        self.amqp_uri = amqp_uri
        self.db = database
        self.collections = list(collections)
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
        self._queue.put((collection, key, envelopes))

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

    def _take_batch(self, timeout: float) -> list:
        batch = []
        try:
            item = self._queue.get(timeout=timeout)
        except queue.Empty:
            return batch
        if item is not None:
            batch.append(item)
        while len(batch) < BATCH_MAX:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is not None:
                batch.append(item)
        return batch

    def _publish_with_retry(self, batch: list) -> None:
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
                    return  # events stay in the documents; the next start's sweeper sends them
                time.sleep(delay)
                delay = min(delay * 2, 10.0)

    def _publish(self, batch: list) -> None:
        producer = self._ensure_producer()
        exchange = service_exchange(self.service)
        for _collection, _key, envelopes in batch:
            for env in envelopes:
                producer.publish(
                    env, exchange=exchange, routing_key=env["type"], serializer="cloudevents",
                    delivery_mode=2, message_id=env["id"],
                    headers={"ce-type": env["type"], "ce-subject": env.get("subject") or ""},
                )
                metrics.OUTBOX_PUBLISHED.labels(self.service, env["type"]).inc()
        self._mark_sent(batch)

    def _mark_sent(self, batch: list) -> None:
        by_collection: dict[str, list] = {}
        for collection, key, envelopes in batch:
            ids = [e["id"] for e in envelopes]
            by_collection.setdefault(collection, []).append(
                UpdateOne({"_id": key}, {"$pull": {"outbox": {"id": {"$in": ids}}}}))
        for collection, ops in by_collection.items():
            self.db[collection].bulk_write(ops, ordered=False)

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
        cutoff = time.time() - SWEEP_MIN_AGE_SECONDS
        try:
            for name in self.collections:
                batch = []
                cursor = self.db[name].find({"outbox.id": {"$exists": True}}, {"outbox": 1}).limit(BATCH_MAX)
                for doc in cursor:
                    stale = [o["event"] for o in doc.get("outbox", [])
                             if o["at"].timestamp() <= cutoff]
                    if stale:
                        batch.append((name, doc["_id"], stale))
                if batch:
                    log.info("outbox sweeper republishing %d events from %s",
                             sum(len(b[2]) for b in batch), name)
                    self._publish_with_retry(batch)
        except Exception as exc:
            log.warning("outbox sweep failed: %s", exc)
