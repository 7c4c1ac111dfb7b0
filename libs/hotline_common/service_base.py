"""What every nameko service class shares: typed RPC errors, health and metrics over HTTP.

`command` is nameko's `rpc` with the typed errors marked as expected (logged as warnings, and
rebuilt as the same class by the caller, not as RemoteError).
"""
from __future__ import annotations

import json

from nameko.exceptions import deserialize_to_instance
from nameko.rpc import rpc
from nameko.web.handlers import http
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from .errors import TYPED_ERRORS
from .providers import Context

for _error in TYPED_ERRORS:
    deserialize_to_instance(_error)

command = rpc(expected_exceptions=TYPED_ERRORS)

JSON = {"Content-Type": "application/json"}


class ServiceBase:
    """Mixin: `/healthz` (alive), `/readyz` (store reachable), `/metrics` (Prometheus).

    Each service names its `UseCases` dependency `app`."""

    context = Context()

    @command
    def ping(self):
        return {"service": self.name}

    @http("GET", "/healthz")
    def healthz(self, request):
        return 200, JSON, json.dumps({"status": "ok", "service": self.name})

    @http("GET", "/readyz")
    def readyz(self, request):
        try:
            self.app.store.ping()
        except Exception as exc:  # report, don't crash: the orchestrator stops routing to us
            return 503, JSON, json.dumps({"status": "unavailable", "service": self.name,
                                          "detail": f"{type(exc).__name__}: {exc}"})
        return 200, JSON, json.dumps({"status": "ready", "service": self.name})

    @http("GET", "/metrics")
    def metrics(self, request):
        return 200, {"Content-Type": CONTENT_TYPE_LATEST}, generate_latest().decode()
