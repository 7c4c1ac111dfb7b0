"""Traces (issue 16): one trace from the HTTP request to the deadline, on the real broker and store.

The gateway app (falcon's test client, the real RPC clients) and intake, routing and sla run in this
process with an in-memory span exporter; the trace context crosses the broker as nameko headers and
as the CloudEvents `traceparent` of each event, staged in the outbox and published by the relay."""
from datetime import datetime, timedelta, timezone

import falcon.testing
from opentelemetry.trace import SpanKind

from gateway.app import create_app
from gateway.auth import TokenVerifier, mint
from gateway.rpc import RpcClients
from hotline_common.settings import Settings
from hotline_common.testing import recorded_spans
from tests.conftest import wait_for

from .conftest import noise_complaint

BEIJING = timezone(timedelta(hours=8))
SECRET, ISSUER = "s" * 40, "test"


def applied(span, event_type: str, service: str) -> bool:
    """`service`'s consumer span of `event_type`, the delivery that applied it."""
    return (span is not None and span.name == f"process {event_type}"
            and span.attributes.get("hotline.service") == service and span.attributes.get("hotline.outcome") == "applied")


def trace_path(finished) -> list | None:
    """From sla's `create deadline.set` back to the root, parent by parent (a redelivery would add
    spans, not hops); None until every span on the way has ended."""
    spans = {s.context.span_id: s for s in finished}
    path = [s for s in spans.values() if s.name == "create deadline.set" and s.parent
            and applied(spans.get(s.parent.span_id), "ticket.dispatched", "sla")][:1]
    while path and path[-1].parent is not None:
        if path[-1].parent.span_id not in spans:
            return None
        path.append(spans[path[-1].parent.span_id])
    return path[::-1] or None


def test_one_trace_from_the_request_through_dispatch_to_the_deadline(stack, nameko_config, set_clock):
    set_clock(datetime(2026, 9, 30, 15, 0, tzinfo=BEIJING))
    with recorded_spans() as exporter:
        stack("intake", "routing", "sla")
        clients = RpcClients(nameko_config["AMQP_URI"], 15)
        settings = Settings.from_env({"GATEWAY_RATE_LIMIT_TOKEN": "off", "GATEWAY_RATE_LIMIT_ADDRESS": "off"})
        client = falcon.testing.TestClient(create_app(settings, clients, TokenVerifier(SECRET, ISSUER)))
        token = mint(SECRET, ISSUER, role="operator", user_id="operator.1")
        try:
            resp = client.simulate_post("/v1/tickets", json=noise_complaint(),
                                        headers={"Authorization": f"Bearer {token}", "Idempotency-Key": "trace-1"})
            assert resp.status_code == 201, resp.text

            # a span ends after its worker has answered or published: wait until every hop has ended
            path = wait_for(lambda: trace_path(exporter.get_finished_spans()), 30, message="the whole trace")
        finally:
            clients.close()

    assert [(s.name, s.kind, s.attributes.get("hotline.service") or s.attributes.get("rpc.service")) for s in path] == [
        ("POST /v1/tickets", SpanKind.SERVER, None),               # the gateway's request
        ("intake/register", SpanKind.CLIENT, "intake"),            # its RPC
        ("intake/register", SpanKind.SERVER, "intake"),            # intake's worker
        ("create ticket.registered", SpanKind.PRODUCER, "intake"),  # staged in intake's outbox
        ("process ticket.registered", SpanKind.CONSUMER, "routing"),
        ("create ticket.dispatched", SpanKind.PRODUCER, "routing"),
        ("process ticket.dispatched", SpanKind.CONSUMER, "sla"),
        ("create deadline.set", SpanKind.PRODUCER, "sla"),
    ]
    assert len({s.context.trace_id for s in path}) == 1   # ONE trace: register -> dispatch -> deadline set
    http, _, _, registered, route, dispatched, clock, _ = path
    assert http.attributes["http.response.status_code"] == 201
    assert route.attributes["messaging.destination.name"] == "hotline.routing.inbox"
    assert route.attributes["cloudevents.event_id"] == registered.attributes["cloudevents.event_id"]
    assert clock.attributes["cloudevents.event_id"] == dispatched.attributes["cloudevents.event_id"]
