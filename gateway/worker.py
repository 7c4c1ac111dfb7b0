"""gunicorn's threaded worker, with a bound on how long a request may wait for a thread (issue 9).

A gthread worker accepts every connection at once and queues it for its threads without limit. When
the services slow down or stop answering (the store restarting, the broker gone: each RPC then
holds a thread up to RPC_TIMEOUT_SECONDS), requests pile up in that queue and wait there longer
than any client does: the chaos run saw hundreds of client timeouts and no answer at all, instead
of 503s, and the gateway kept working for requests whose clients had already gone (and retried),
which deepened the queue further.

This worker notes when each request is queued; one that waited longer than
GATEWAY_QUEUE_TIMEOUT_SECONDS (default 5; 0 or `off` turns it off) is answered at once with
503 problem+json and `Retry-After`, without reaching the application: nothing was done, so any
client may simply try again. A request's longest answer is then about that wait plus the RPC
timeout. Health and metrics endpoints are always served.
"""
from __future__ import annotations

import json
import logging
import os
import threading
import time

from gunicorn.workers.gthread import ThreadWorker

log = logging.getLogger("gateway.worker")

RETRY_AFTER_SECONDS = 5
ALWAYS_SERVED = ("/healthz", "/readyz", "/metrics")
_local = threading.local()


def queue_timeout(environ: dict | None = None) -> float:
    value = (environ if environ is not None else os.environ).get("GATEWAY_QUEUE_TIMEOUT_SECONDS", "5").strip()
    if value.lower() in ("", "off", "0"):
        return 0.0
    return float(value)


def shedding(app, limit: float, waited=lambda: None):
    """The WSGI app behind a queue-time bound: `waited()` says how long the current request waited."""
    if limit <= 0:
        return app

    def shed(environ, start_response):
        seconds = waited()
        if seconds is None or seconds <= limit or environ.get("PATH_INFO", "") in ALWAYS_SERVED:
            return app(environ, start_response)
        log.warning("overloaded: %s %s waited %.1f s for a thread; answered 503", environ.get("REQUEST_METHOD"),
                    environ.get("PATH_INFO"), seconds)
        body = {"type": "https://12345.example.gov.cn/problems/overloaded", "title": "Service unavailable",
                "status": 503, "detail": f"the gateway is overloaded (this request waited {seconds:.1f} s); "
                                         "nothing was done: try again",
                "instance": environ.get("PATH_INFO", "")}
        headers = [("Content-Type", "application/problem+json"), ("Retry-After", str(RETRY_AFTER_SECONDS))]
        key = environ.get("HTTP_IDEMPOTENCY_KEY")
        if key:
            body["idempotency_key"] = key
            headers.append(("Idempotency-Key", key))
        data = json.dumps(body, ensure_ascii=False).encode()
        headers.append(("Content-Length", str(len(data))))
        start_response("503 Service Unavailable", headers)
        return [data]
    return shed


def _waited() -> float | None:
    return getattr(_local, "waited", None)


class SheddingWorker(ThreadWorker):
    """gunicorn's gthread worker; requests that waited too long for a thread are answered 503."""

    def load_wsgi(self):
        super().load_wsgi()
        self.wsgi = shedding(self.wsgi, queue_timeout(), _waited)

    def enqueue_req(self, conn):
        conn.hotline_queued = time.monotonic()
        super().enqueue_req(conn)

    def handle(self, conn):
        queued = getattr(conn, "hotline_queued", None)   # the time in the queue, not reading the request
        _local.waited = None if queued is None else time.monotonic() - queued
        try:
            return super().handle(conn)
        finally:
            _local.waited = None
