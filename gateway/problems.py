"""RFC 9457 problem details for every error the gateway answers.

- a domain error (hotline_common.errors) -> its status from the one STATUS table below;
- the broker, the store or a service unavailable (connection errors, RPC timeout, unknown service,
  pymongo's "no server" errors relayed by a service) -> 503 + Retry-After, never 500; the problem
  names the request's Idempotency-Key when it has one, for the retry;
- a service's unexpected error -> 502; the gateway's own -> 500 (logged with its traceback);
- Falcon's HTTP errors (401, 404 route, 405, 408, 413, 429, body guards) -> their status.
"""
from __future__ import annotations

import json
import logging

import falcon
from nameko.exceptions import RemoteError, RpcTimeout, UnknownService

from hotline_common import errors as e
from hotline_common.errors import HotlineError
from hotline_common.logs import correlation_id

from .rpc import BROKER_ERRORS

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://12345.example.gov.cn/problems/"

RETRY_AFTER_SECONDS = 5

# pymongo's "the store is not there" errors, as they arrive from a service that did not map them
STORE_DOWN = {"ServerSelectionTimeoutError", "AutoReconnect", "NetworkTimeout", "ConnectionFailure",
              "NotPrimaryError", "WaitQueueTimeoutError", "ExecutionTimeout", "WTimeoutError"}


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
    if status == 503:
        extra["idempotency_key"] = resp.get_header("Idempotency-Key")
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)} if status == 503 else None
    _send(resp, status, problem(req, status, title, exc.detail, exc.code, errors=errors, **extra), headers)


def unavailable(req, resp, detail: str, code: str = "unavailable") -> None:
    """503 + Retry-After: the client may retry the same request (with the same Idempotency-Key)."""
    _send(resp, 503, problem(req, 503, "Service unavailable", detail, code,
                             idempotency_key=resp.get_header("Idempotency-Key")),
          {"Retry-After": str(RETRY_AFTER_SECONDS)})


def handle_rpc_timeout(req, resp, exc, params) -> None:
    # the request may have been applied: creating routes carry Idempotency-Key for the retry
    log.warning("RPC timeout on %s %s", req.method, req.path)
    unavailable(req, resp, "a service did not answer in time; try again", "timeout")


def handle_unknown_service(req, resp, exc, params) -> None:
    unavailable(req, resp, str(exc))


def handle_broker_error(req, resp, exc, params) -> None:
    log.warning("broker unavailable on %s %s: %s: %s", req.method, req.path, type(exc).__name__, exc)
    unavailable(req, resp, "the message broker cannot be reached; try again", "broker")


def handle_remote_error(req, resp, exc: RemoteError, params) -> None:
    if exc.exc_type in STORE_DOWN:
        log.warning("store unavailable on %s %s: %s", req.method, req.path, exc.exc_type)
        unavailable(req, resp, "the store cannot be reached; try again", "store")
        return
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
    app.add_error_handler(BROKER_ERRORS, handle_broker_error)
