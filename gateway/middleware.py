"""Cross-cutting request handling: correlation id, trace span, body size, authentication (rate limits in
`ratelimit`, the body itself in `body`)."""
from __future__ import annotations

import falcon

from hotline_common import logs, tracing

from .auth import InvalidToken, TokenVerifier
from .body import too_large

CORRELATION_HEADER = "X-Correlation-Id"


class Correlation:
    def process_request(self, req, resp):
        cid = req.get_header(CORRELATION_HEADER) or logs.new_correlation_id()
        logs._local.correlation_id = cid[:64]

    def process_response(self, req, resp, resource, req_succeeded):
        resp.set_header(CORRELATION_HEADER, logs.correlation_id() or "")
        logs._local.correlation_id = None


class Tracing:
    """The request's SERVER span (when tracing is on), the child of the caller's `traceparent` header:
    every RPC the request makes is its child, and so on through the services' events (tracing.py).
    Probes and scrapes are not traced."""

    UNTRACED = frozenset({"/healthz", "/readyz", "/metrics"})

    def process_request(self, req, resp):
        if tracing.enabled() and req.path not in self.UNTRACED:
            headers = {k: req.get_header(k) for k in tracing.KEYS}
            req.context.trace = tracing.begin(req.method, tracing.SERVER, parent=headers, attributes={
                "http.request.method": req.method, "url.path": req.path, "url.scheme": req.scheme})

    def process_resource(self, req, resp, resource, params):
        active = req.context.get("trace")
        if active is not None and req.uri_template:
            active.span.update_name(f"{req.method} {req.uri_template}")
            active.span.set_attribute("http.route", req.uri_template)

    def process_response(self, req, resp, resource, req_succeeded):
        active = req.context.get("trace")
        if active is None:
            return
        req.context.trace = None
        status = resp.status_code
        active.span.set_attribute("http.response.status_code", status)
        if status >= 500:
            active.span.set_status(tracing.Status(tracing.StatusCode.ERROR))
        active.finish()


class BodySize:
    """413 before anything else when Content-Length says the body is too large (the body reader
    also stops at the limit when a client lies)."""

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes

    def process_request(self, req, resp):
        if (req.content_length or 0) > self.max_bytes:
            resp.set_header("Connection", "close")  # we will not read what it sends
            raise too_large(self.max_bytes)


class Authentication:
    """Every resource needs a bearer token unless it says `auth_required = False`."""

    def __init__(self, verifier: TokenVerifier):
        self.verifier = verifier

    def process_resource(self, req, resp, resource, params):
        if resource is None or not getattr(resource, "auth_required", True):
            return
        header = req.get_header("Authorization") or ""
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise falcon.HTTPUnauthorized(title="Authentication required",
                                          description="send Authorization: Bearer <token>",
                                          challenges=['Bearer realm="12345"'])
        try:
            req.context.actor = self.verifier.actor(token)
        except InvalidToken as exc:
            raise falcon.HTTPUnauthorized(title="Invalid token", description=str(exc),
                                          challenges=['Bearer realm="12345", error="invalid_token"'])
