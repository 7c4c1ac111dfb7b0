"""/healthz, /readyz, /metrics for the gateway itself."""
from __future__ import annotations

import falcon
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest, multiprocess


class Health:
    auth_required = False

    def on_get(self, req, resp):
        resp.media = {"status": "ok", "service": "gateway"}


class Ready:
    auth_required = False

    def __init__(self, rpc):
        self.rpc = rpc

    def on_get(self, req, resp):
        try:
            self.rpc.call("intake", "ping")
        except Exception as exc:  # not ready: say why, let the orchestrator route elsewhere
            resp.status = falcon.HTTP_503
            resp.media = {"status": "unavailable", "detail": f"{type(exc).__name__}: {exc}"}
            return
        resp.media = {"status": "ready", "service": "gateway"}


class Metrics:
    auth_required = False

    def __init__(self, multiprocess_dir: str | None):
        self.multiprocess_dir = multiprocess_dir

    def on_get(self, req, resp):
        if self.multiprocess_dir:
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry, path=self.multiprocess_dir)
            resp.data = generate_latest(registry)
        else:
            from prometheus_client import REGISTRY
            resp.data = generate_latest(REGISTRY)
        resp.content_type = CONTENT_TYPE_LATEST
