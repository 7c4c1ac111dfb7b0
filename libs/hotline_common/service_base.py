"""What every nameko service class shares: typed RPC errors, health and metrics over HTTP.

`command` is nameko's `rpc` with the typed errors marked as expected (logged as warnings, and
rebuilt as the same class by the caller, not as RemoteError), and with a reply that cannot kill the
service: nameko sends an RPC's reply from the worker, and when the broker is gone at that moment
(killed, restarting) the publish raises in the worker's result handler, which nameko treats as fatal
for the whole container (issue 9: intake exited during a broker outage). A reply that cannot be sent
is logged and dropped instead, and the request is acked if its channel still works (the command was
applied; the caller, who got no answer, retries with the Idempotency-Key the gateway echoed). If the
channel is gone too, the broker redelivers the request after the reconnection, and the command's
idempotency (the gateway gives every creating request a key) makes that delivery find what the
first one made.
"""
from __future__ import annotations

import json
import logging

from amqp.exceptions import ConnectionError as AmqpConnectionError
from kombu.exceptions import OperationalError
from nameko.exceptions import deserialize_to_instance
from nameko.rpc import Rpc
from nameko.web.handlers import http
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from .errors import TYPED_ERRORS
from .providers import Context

for _error in TYPED_ERRORS:
    deserialize_to_instance(_error)

log = logging.getLogger(__name__)

# the broker cannot be reached or the connection broke while replying
REPLY_ERRORS = (OperationalError, AmqpConnectionError, ConnectionError, OSError)


class Command(Rpc):
    """nameko's RPC entrypoint, except that failing to send the reply never kills the container."""

    def handle_result(self, message, worker_ctx, result, exc_info):
        try:
            return self.rpc_consumer.handle_result(message, result, exc_info)
        except REPLY_ERRORS as exc:
            log.warning("could not reply to %s (%s: %s); the caller will retry", self.method_name,
                        type(exc).__name__, exc)
        try:
            self.rpc_consumer.queue_consumer.ack_message(message)
        except Exception:  # the channel is gone as well: the broker redelivers the request
            log.warning("could not ack %s either; the broker will redeliver it", self.method_name)
        return result, exc_info


command = Command.decorator(expected_exceptions=TYPED_ERRORS)

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
