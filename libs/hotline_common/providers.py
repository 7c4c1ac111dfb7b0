"""nameko dependency providers shared by the services: store (MongoDB + outbox relay), clock, context.

A service declares them as class attributes; its entrypoints stay thin and call the handlers with
what these inject.
"""
from __future__ import annotations

import functools
import logging

from nameko.constants import AMQP_URI_CONFIG_KEY
from nameko.extensions import DependencyProvider
from nameko.rpc import Rpc

from . import logs, metrics, tracing
from .clock import CausalClock, ClockState, ControllableClock, SystemClock, set_causal_floor
from .events import short_type
from .mongo import client
from .outbox import OUTBOX, Outbox, OutboxRelay
from .settings import Settings
from .timeutil import parse_iso

log = logging.getLogger(__name__)

CLOCK_DOC = "clock"


def system_db(settings: Settings):
    """Infrastructure state shared by all services (only the controllable clock lives here)."""
    return client(settings.mongo_uri)[settings.db_name("system")]


def load_clock_state(settings: Settings) -> ClockState | None:
    doc = system_db(settings).clock.find_one({"_id": CLOCK_DOC})
    return ClockState.from_doc(doc) if doc else None


def save_clock_state(settings: Settings, state: ClockState | None) -> None:
    coll = system_db(settings).clock
    if state is None:
        coll.delete_one({"_id": CLOCK_DOC})
    else:
        coll.replace_one({"_id": CLOCK_DOC}, state.to_doc(), upsert=True)


@functools.cache
def process_clock(settings: Settings):
    """One clock per process and settings: the system clock, or the shared controllable one."""
    if settings.clock_mode == "controllable":
        return CausalClock(ControllableClock(functools.partial(load_clock_state, settings)))
    return CausalClock(SystemClock())


class ClockProvider(DependencyProvider):
    def setup(self):
        self.clock = process_clock(Settings.from_env())

    def get_dependency(self, worker_ctx):
        return self.clock


class UseCases(DependencyProvider):
    """Builds the service layer over the service's own database, with an outbox relay for its events.

    `build(database=, outbox=, settings=, clock=)` returns the use-case object; its `store` creates
    its indexes (`ensure_indexes()`). Entrypoints receive the use-case object.
    """

    def __init__(self, build):
        self.build = build

    def setup(self):
        settings = Settings.from_env()
        service = self.container.service_name
        database = client(settings.mongo_uri)[settings.db_name(service)]
        self.relay = OutboxRelay(service, self.container.config[AMQP_URI_CONFIG_KEY], database,
                                 sweep_seconds=settings.outbox_sweep_seconds,
                                 spawn=lambda fn: self.container.spawn_managed_thread(fn, identifier="outbox"))
        metrics.watch_outbox(service, database[OUTBOX])
        clock = process_clock(settings)
        self.app = self.build(database=database, outbox=Outbox(service, clock, self.relay, database),
                              settings=settings, clock=clock)
        self.app.store.ensure_indexes()

    def start(self):
        self.relay.start()

    def stop(self):
        self.relay.stop()

    def kill(self):
        self.relay.stop(timeout=1.0)

    def get_dependency(self, worker_ctx):
        return self.app


class Context(DependencyProvider):
    """Sets the worker's correlation id (from the RPC headers or the event) for logs and events, the
    causal floor of its clock (an event's reaction is never stamped before the event), and, when
    tracing is on, its span: SERVER for an RPC, CONSUMER for an event, the child of the caller's or
    the event's traceparent (tracing.py); health, metrics and timers get none."""

    def setup(self):
        tracing.setup(self.container.service_name, Settings.from_env())
        self._spans: dict = {}

    def worker_setup(self, worker_ctx):
        cid = worker_ctx.data.get("correlation_id") or logs.new_correlation_id()
        logs._local.correlation_id = cid
        event_time = worker_ctx.data.get("event_time")
        set_causal_floor(parse_iso(event_time) if event_time else None)
        if tracing.enabled():
            active = self._begin_span(worker_ctx)
            if active is not None:
                self._spans[worker_ctx] = active

    def _begin_span(self, worker_ctx):
        service, entrypoint = self.container.service_name, worker_ctx.entrypoint
        if isinstance(entrypoint, Rpc):
            if entrypoint.method_name == "ping":  # the readiness probe's RPC
                return None
            return tracing.begin(f"{service}/{entrypoint.method_name}", tracing.SERVER, parent=worker_ctx.data,
                                 attributes=tracing.rpc_attributes(service, entrypoint.method_name))
        if "event_id" in worker_ctx.data:  # subscriber.EventSubscriber: the worker's argument is the event
            from .subscriber import inbox_queue_name
            event = worker_ctx.args[0]
            return tracing.begin(f"process {short_type(event['type'])}", tracing.CONSUMER, parent=worker_ctx.data,
                                 attributes=tracing.consumer_attributes(service, inbox_queue_name(service), event))
        return None

    def worker_result(self, worker_ctx, result=None, exc_info=None):
        active = self._spans.pop(worker_ctx, None)
        if active is None:
            return
        if isinstance(result, str) and "event_id" in worker_ctx.data:  # applied, duplicate, no_change
            active.span.set_attribute("hotline.outcome", result)
        error = exc_info[1] if exc_info else None
        active.finish(error, expected=isinstance(error, worker_ctx.entrypoint.expected_exceptions))

    def worker_teardown(self, worker_ctx):
        active = self._spans.pop(worker_ctx, None)
        if active is not None:  # worker_result did not run
            active.finish()
        logs._local.correlation_id = None
        set_causal_floor(None)

    def get_dependency(self, worker_ctx):
        return worker_ctx.data
