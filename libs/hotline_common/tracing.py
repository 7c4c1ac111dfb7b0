"""Traces (issue 16): OpenTelemetry spans from the HTTP request through every RPC and event hop.

One trace follows a request: the gateway's SERVER span (`POST /v1/tickets`), its CLIENT span per RPC
(`intake.register`), the service's SERVER span for that RPC, a PRODUCER span per event the change
stages in the outbox (`create ticket.registered`), and each consumer's CONSUMER span
(`process ticket.registered`), whose own events are children again, and so on down the pipeline.

The W3C trace context travels as
* `traceparent` / `tracestate` HTTP headers into the gateway;
* nameko context data (message headers `nameko.traceparent`, like the correlation id) over RPC;
* the CloudEvents distributed-tracing extension attributes `traceparent` / `tracestate` in the event
  envelope, written when the event is staged (the relay publishes later, from another greenthread).

Off unless `OTEL_EXPORTER_OTLP_ENDPOINT` is set (`Settings.otel_exporter_otlp_endpoint`): then no
provider is installed, every helper here returns at its first line and no trace attribute is
written. Tests install an SDK provider with an in-memory exporter (`install`). A malformed incoming
traceparent is ignored (the span starts a new trace), never an error.
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from contextvars import Token
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from .events import TRACE_ATTRIBUTES, short_type
from .settings import Settings

KEYS = TRACE_ATTRIBUTES   # W3C Trace Context: HTTP headers, nameko context data, CloudEvents attributes
SERVER, CLIENT, PRODUCER, CONSUMER = SpanKind.SERVER, SpanKind.CLIENT, SpanKind.PRODUCER, SpanKind.CONSUMER

_propagator = TraceContextTextMapPropagator()
_tracer: trace.Tracer | None = None   # None: tracing is off


def setup(service: str, settings: Settings) -> bool:
    """Export this process's spans over OTLP/HTTP when an endpoint is configured; else stay off.
    The first call in a process wins (a process runs one service; tests install their own)."""
    if _tracer is not None or not settings.otel_exporter_otlp_endpoint:
        return _tracer is not None
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": f"hotline-{service}"}))
    # the variable names the collector's base URL; traces go to its /v1/traces (as the SDK does)
    endpoint = settings.otel_exporter_otlp_endpoint.rstrip("/") + "/v1/traces"
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    install(provider)
    return True


def install(provider: trace.TracerProvider | None) -> None:
    """Use `provider` for every span of this process (None: tracing off)."""
    global _tracer
    _tracer = provider.get_tracer("hotline_common") if provider is not None else None


def enabled() -> bool:
    return _tracer is not None


def carrier(source: Mapping | None) -> dict[str, str]:
    """The trace attributes of headers, context data or an envelope; anything but a string is dropped."""
    if not source:
        return {}
    return {k: v for k in KEYS if isinstance(v := source.get(k), str) and v}


class Active:
    """A span made current until `finish`."""
    __slots__ = ("span", "_token")

    def __init__(self, span: trace.Span, token: Token):
        self.span = span
        self._token = token

    def finish(self, error: BaseException | None = None, *, expected: bool = False) -> None:
        """End the span and restore the previous one. An `expected` error (a domain refusal, answered
        4xx) is named on the span; any other is recorded and marks the span failed."""
        try:
            if error is not None:
                self.span.set_attribute("error.type", type(error).__name__)
                if not expected:
                    self.span.record_exception(error)
                    self.span.set_status(Status(StatusCode.ERROR, f"{type(error).__name__}: {error}"[:200]))
            self.span.end()
        finally:
            otel_context.detach(self._token)


def begin(name: str, kind: SpanKind, *, parent: Mapping | None = None,
          attributes: Mapping[str, Any] | None = None, within_trace: bool = False) -> Active | None:
    """Start a span and make it current: the child of `parent`'s traceparent when it has a valid one
    (an incoming request or event), else of the current span. None when tracing is off, or when
    `within_trace` and no span is current (a health probe's RPC starts no trace of its own)."""
    if _tracer is None or (within_trace and not trace.get_current_span().get_span_context().is_valid):
        return None
    ctx = _propagator.extract(carrier(parent)) if parent is not None else None
    span = _tracer.start_span(name, context=ctx, kind=kind, attributes=attributes)
    return Active(span, otel_context.attach(trace.set_span_in_context(span, ctx)))


@contextmanager
def span(name: str, kind: SpanKind, *, parent: Mapping | None = None, attributes: Mapping[str, Any] | None = None,
         expected: tuple[type[BaseException], ...] = (), within_trace: bool = False) -> Iterator[trace.Span | None]:
    """`begin` ... `finish` around a block; an exception of the `expected` types is no failure."""
    active = begin(name, kind, parent=parent, attributes=attributes, within_trace=within_trace)
    if active is None:
        yield None
        return
    try:
        yield active.span
    except BaseException as exc:
        active.finish(exc, expected=isinstance(exc, expected))
        raise
    active.finish()


def inject(target: MutableMapping) -> None:
    """Write the current span's traceparent (and tracestate) into `target`, removing stale ones."""
    for key in KEYS:
        target.pop(key, None)
    if _tracer is not None:
        _propagator.inject(target)


def stamp(envelope: dict, service: str) -> None:
    """An event staged in the outbox: a PRODUCER span of its creation, child of the current span, and
    its traceparent in the envelope (CloudEvents distributed-tracing extension) for the consumers."""
    if _tracer is None:
        return
    attributes = {"messaging.system": "rabbitmq", "messaging.operation.type": "create",
                  "messaging.destination.name": f"{service}.events",
                  "messaging.rabbitmq.destination.routing_key": envelope["type"],
                  "messaging.message.id": envelope["id"], "cloudevents.event_id": envelope["id"],
                  "cloudevents.event_type": envelope["type"],
                  "cloudevents.event_subject": envelope.get("subject") or "", "hotline.service": service}
    with span(f"create {short_type(envelope['type'])}", PRODUCER, attributes=attributes):
        inject(envelope)


def consumer_attributes(service: str, queue: str, envelope: Mapping) -> dict[str, Any]:
    return {"messaging.system": "rabbitmq", "messaging.operation.type": "process",
            "messaging.destination.name": queue, "messaging.message.id": envelope.get("id") or "",
            "cloudevents.event_id": envelope.get("id") or "", "cloudevents.event_type": envelope.get("type") or "",
            "cloudevents.event_subject": envelope.get("subject") or "", "hotline.service": service}


def rpc_attributes(service: str, method: str) -> dict[str, Any]:
    return {"rpc.system": "nameko", "rpc.service": service, "rpc.method": method}
