"""Traces (issue 16) without a broker: the gateway's span and its RPC's trace context, the envelope's
traceparent, malformed trace contexts, and tracing off by default."""
from __future__ import annotations

import threading
from datetime import UTC, datetime
from types import SimpleNamespace

import falcon.testing
import pytest
from opentelemetry.trace import SpanKind

from gateway.app import create_app
from gateway.auth import TokenVerifier, mint
from gateway.rpc import RpcClients
from hotline_common import event_schemas, tracing
from hotline_common.clock import FixedClock
from hotline_common.events import DomainEvent, T, envelope, parse_envelope
from hotline_common.outbox import Outbox
from hotline_common.settings import Settings
from hotline_common.testing import recorded_spans
from services.intake.events import TicketRegistered

SECRET, ISSUER = "s" * 40, "test"
CALLER = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"   # the W3C spec's example
CALLER_TRACE, CALLER_SPAN = 0x0af7651916cd43dd8448eb211c80319c, 0xb7ad6b7169203331
NOW = datetime(2026, 9, 30, 7, 0, tzinfo=UTC)


def traceparent(span) -> str:
    c = span.context
    return f"00-{c.trace_id:032x}-{c.span_id:016x}-{c.trace_flags:02x}"


@pytest.fixture
def spans():
    with recorded_spans() as exporter:
        yield exporter


class RecordingProxy:
    """Stands in for nameko's service proxy: keeps the context data the call would send as headers."""

    def __init__(self, clients: RpcClients):
        self.clients, self.sent = clients, []

    def ping(self):
        return {"service": "intake"}

    def register(self, req, actor):
        self.sent.append(dict(self.clients._local.standalone._worker_ctx.data))
        return {"id": "t1", "number": "AS20260930000001", "created": True, "version": 1}


def gateway_over(proxy_for) -> tuple[falcon.testing.TestClient, RecordingProxy]:
    """The real app and the real RpcClients.call, the broker replaced by a recording proxy."""
    clients = RpcClients("amqp://nowhere", 1.0)
    proxy = proxy_for(clients)
    clients._service = lambda name: proxy
    clients._local = threading.local()
    clients._local.standalone = SimpleNamespace(_worker_ctx=SimpleNamespace(data={}))
    settings = Settings.from_env({"GATEWAY_RATE_LIMIT_TOKEN": "off", "GATEWAY_RATE_LIMIT_ADDRESS": "off"})
    return falcon.testing.TestClient(create_app(settings, clients, TokenVerifier(SECRET, ISSUER))), proxy


def register(client, **headers):
    body = {"channel": "phone", "type": "complain", "category": "noise.neighbourhood", "district": "tiedong",
            "address": "铁东区胜利南路88号", "citizen": {"name": "张女士", "phone": "13800001234"},
            "content": "楼下烧烤店每天夜里12点后仍然噪音扰民"}
    token = mint(SECRET, ISSUER, role="operator", user_id="operator.1")
    return client.simulate_post("/v1/tickets", json=body,
                                headers={"Authorization": f"Bearer {token}", "Idempotency-Key": "k1", **headers})


def test_the_request_span_continues_the_callers_trace_into_the_rpc_context(spans):
    client, proxy = gateway_over(RecordingProxy)
    resp = register(client, traceparent=CALLER)
    assert resp.status_code == 201, resp.text

    by_name = {s.name: s for s in spans.get_finished_spans()}
    http, call = by_name["POST /v1/tickets"], by_name["intake/register"]
    assert http.kind == SpanKind.SERVER and call.kind == SpanKind.CLIENT
    assert http.context.trace_id == call.context.trace_id == CALLER_TRACE
    assert http.parent.span_id == CALLER_SPAN and call.parent.span_id == http.context.span_id
    assert http.attributes["http.route"] == "/v1/tickets" and http.attributes["http.response.status_code"] == 201
    assert call.attributes["rpc.service"] == "intake" and call.attributes["rpc.method"] == "register"
    # what nameko sends as headers to intake's worker: the correlation id, as before, and the RPC span
    sent = proxy.sent[0]
    assert sent["correlation_id"] == resp.headers["X-Correlation-Id"]
    assert sent["traceparent"] == traceparent(call)


def test_a_malformed_traceparent_header_starts_a_new_trace(spans):
    client, _ = gateway_over(RecordingProxy)
    assert register(client, traceparent="00-not-a-trace-01").status_code == 201
    http = next(s for s in spans.get_finished_spans() if s.kind == SpanKind.SERVER)
    assert http.parent is None and http.context.trace_id != CALLER_TRACE


def test_probes_and_their_rpc_are_not_traced(spans):
    client, _ = gateway_over(RecordingProxy)
    assert client.simulate_get("/readyz").status_code == 200
    assert client.simulate_get("/healthz").status_code == 200
    assert spans.get_finished_spans() == ()


def test_tracing_is_off_by_default_and_sends_no_trace_context():
    assert not tracing.enabled()
    assert Settings.from_env({}).otel_exporter_otlp_endpoint == ""
    assert not tracing.setup("gateway", Settings.from_env({}))
    client, proxy = gateway_over(RecordingProxy)
    proxy.clients._local.standalone._worker_ctx.data["traceparent"] = CALLER  # left by an earlier call
    assert register(client, traceparent=CALLER).status_code == 201
    assert "traceparent" not in proxy.sent[0] and proxy.sent[0]["correlation_id"]
    [env] = Outbox("intake", FixedClock(NOW), None).wrap([DomainEvent(T.TICKET_REGISTERED, "AS1", {})])
    assert "traceparent" not in env


def test_an_endpoint_turns_on_otlp_export():
    settings = Settings.from_env({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318/"})
    assert settings.otel_exporter_otlp_endpoint == "http://collector:4318/"
    try:
        assert tracing.setup("intake", settings) and tracing.enabled()
    finally:
        tracing.install(None)


def test_an_event_staged_in_the_outbox_carries_the_traceparent_of_its_creation(spans):
    with tracing.span("intake/register", tracing.SERVER) as rpc:
        [env] = Outbox("intake", FixedClock(NOW), None).wrap([DomainEvent(T.TICKET_REGISTERED, "AS1", {})])
    [create] = [s for s in spans.get_finished_spans() if s.kind == SpanKind.PRODUCER]
    assert create.name == "create ticket.registered" and create.parent.span_id == rpc.get_span_context().span_id
    assert create.attributes["messaging.message.id"] == env["id"]
    assert env["traceparent"] == traceparent(create)


def ticket_registered(**attributes) -> dict:
    event = TicketRegistered(ticket_id="t1", number="AS20260930000001", channel="phone", type="complain",
                             category="noise.neighbourhood", district="tiedong", key_ticket=False,
                             registered_at="2026-09-30T07:00:00.000Z")
    return {**envelope(event, source_service="intake", time=NOW), **attributes}


@pytest.mark.parametrize("attributes", [{"traceparent": CALLER, "tracestate": "congo=t61rcWkgMzE"},
                                        {"traceparent": "garbage"}, {"traceparent": 42, "tracestate": ["x"]}])
def test_trace_attributes_at_the_door_are_accepted_or_ignored_never_poison(attributes):
    event = parse_envelope(ticket_registered(**attributes))
    event_schemas.check(event)
    assert all(isinstance(event[k], str) for k in tracing.KEYS if k in event)


def test_a_consumer_span_is_the_child_of_the_events_traceparent_and_a_bad_one_is_a_new_trace(spans):
    with tracing.span("process ticket.registered", tracing.CONSUMER, parent={"traceparent": CALLER}) as good:
        pass
    with tracing.span("process ticket.registered", tracing.CONSUMER, parent={"traceparent": "garbage"}) as bad:
        pass
    assert good.get_span_context().trace_id == CALLER_TRACE and good.parent.span_id == CALLER_SPAN
    assert bad.parent is None and bad.get_span_context().trace_id != CALLER_TRACE
