"""RFC 9457 problem details for every error the gateway answers."""
from __future__ import annotations

import json
import logging

import falcon
from nameko.exceptions import RemoteError, RpcTimeout, UnknownService

from hotline_common import errors as e
from hotline_common.errors import HotlineError
from hotline_common.logs import correlation_id

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://12345.example.gov.cn/problems/"


def problem(req, status: int, title: str, detail: str = "", code: str = "", **extra) -> dict:
    body = {"type": TYPE_BASE + (code or str(status)), "title": title, "status": status,
            "detail": detail, "instance": req.path}
    cid = correlation_id()
    if cid:
        body["correlation_id"] = cid
    body.update({k: v for k, v in extra.items() if v is not None})
    return body


def _send(resp, status: int, body: dict, headers: dict | None = None) -> None:
    resp.status = falcon.code_to_http_status(status)
    resp.content_type = PROBLEM_JSON
    resp.text = json.dumps(body, ensure_ascii=False)
    for k, v in (headers or {}).items():
        resp.set_header(k, v)


def serialize_http_error(req, resp, exc: falcon.HTTPError) -> None:
    """Falcon's own errors (404 route, 405, bad JSON, 401 from middleware) as problem+json."""
    body = problem(req, exc.status_code, exc.title or "", exc.description or "",
                   code=getattr(exc, "code", None) or str(exc.status_code))
    _send(resp, exc.status_code, body, dict(exc.headers or {}))


# The one place a domain error becomes an HTTP status (most specific class first).
STATUS = (
    (e.ValidationFailed, 422, "Validation failed"),
    (e.RuleViolation, 422, "Refused by rule"),
    (e.NotFound, 404, "Not found"),
    (e.NotAllowedHere, 403, "Not allowed in this environment"),
    (e.Forbidden, 403, "Forbidden"),
    (e.StaleVersion, 412, "Precondition failed"),
    (e.Conflict, 409, "Conflict with the current state"),
    (e.Unavailable, 503, "Service unavailable"),
    (HotlineError, 500, "Internal error"),
)


def status_of(exc: HotlineError) -> tuple[int, str]:
    for cls, status, title in STATUS:
        if isinstance(exc, cls):
            return status, title
    return 500, "Internal error"


def handle_hotline_error(req, resp, exc: HotlineError, params) -> None:
    extra = dict(exc.extra)
    errors = extra.pop("errors", None)
    status, title = status_of(exc)
    headers = {"Retry-After": "5"} if status == 503 else None
    _send(resp, status, problem(req, status, title, exc.detail, exc.code, errors=errors, **extra), headers)


def handle_rpc_timeout(req, resp, exc, params) -> None:
    log.warning("RPC timeout on %s %s", req.method, req.path)
    _send(resp, 504, problem(req, 504, "Service did not answer in time", "try again", "timeout"),
          {"Retry-After": "2"})


def handle_unknown_service(req, resp, exc, params) -> None:
    _send(resp, 503, problem(req, 503, "Service unavailable", str(exc), "unavailable"), {"Retry-After": "5"})


def handle_remote_error(req, resp, exc: RemoteError, params) -> None:
    log.error("remote error on %s %s: %s", req.method, req.path, exc)
    _send(resp, 502, problem(req, 502, "A service failed", exc.exc_type or "", "upstream"))


def handle_unexpected(req, resp, exc, params) -> None:
    # Falcon's own HTTPError handler is more specific, so HTTP errors never arrive here
    log.exception("unexpected error on %s %s", req.method, req.path)
    _send(resp, 500, problem(req, 500, "Internal error", "", "internal"))


def install(app: falcon.App) -> None:
    app.set_error_serializer(serialize_http_error)
    app.add_error_handler(Exception, handle_unexpected)
    app.add_error_handler(HotlineError, handle_hotline_error)
    app.add_error_handler(RpcTimeout, handle_rpc_timeout)
    app.add_error_handler(UnknownService, handle_unknown_service)
    app.add_error_handler(RemoteError, handle_remote_error)
