"""Cross-cutting request handling: correlation id, authentication, body guard."""
from __future__ import annotations

import falcon

from hotline_common import logs

from .auth import InvalidToken, TokenVerifier

CORRELATION_HEADER = "X-Correlation-Id"


class Correlation:
    def process_request(self, req, resp):
        cid = req.get_header(CORRELATION_HEADER) or logs.new_correlation_id()
        logs._local.correlation_id = cid[:64]

    def process_response(self, req, resp, resource, req_succeeded):
        resp.set_header(CORRELATION_HEADER, logs.correlation_id() or "")
        logs._local.correlation_id = None


class Authentication:
    """Every resource needs a bearer token unless it says `auth_required = False`."""

    def __init__(self, verifier: TokenVerifier):
        self.verifier = verifier

    def process_resource(self, req, resp, resource, params):
        if resource is None or not getattr(resource, "auth_required", True):
            return
        header = req.get_header("Authorization") or ""
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise falcon.HTTPUnauthorized(title="Authentication required",
                                          description="send Authorization: Bearer <token>",
                                          challenges=['Bearer realm="12345"'])
        try:
            req.context.actor = self.verifier.actor(token.strip())
        except InvalidToken as exc:
            raise falcon.HTTPUnauthorized(title="Invalid token", description=str(exc),
                                          challenges=['Bearer realm="12345", error="invalid_token"'])


def _bad_keys(value, path="") -> list[str]:
    """Keys that could smuggle MongoDB operators or paths into a query: `$...` or containing `.`."""
    bad = []
    if isinstance(value, dict):
        for key, item in value.items():
            here = f"{path}.{key}" if path else str(key)
            if not isinstance(key, str) or key.startswith("$") or "." in key:
                bad.append(here)
            bad.extend(_bad_keys(item, here))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            bad.extend(_bad_keys(item, f"{path}[{i}]"))
    return bad


def json_body(req) -> dict:
    """The request's JSON object, refused when it is not an object or carries operator-like keys."""
    if req.content_length in (None, 0):
        raise falcon.HTTPBadRequest(title="Body required", description="send a JSON object")
    if not (req.content_type or "").startswith("application/json"):
        raise falcon.HTTPUnsupportedMediaType(description="send Content-Type: application/json")
    body = req.get_media()
    if not isinstance(body, dict):
        raise falcon.HTTPBadRequest(title="Body must be a JSON object")
    bad = _bad_keys(body)
    if bad:
        raise falcon.HTTPBadRequest(title="Forbidden keys",
                                    description="keys may not start with '$' or contain '.': " + ", ".join(bad))
    return body
