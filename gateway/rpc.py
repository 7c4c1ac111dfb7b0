"""nameko RPC from gunicorn threads: one ClusterRpcProxy per thread, created on first use (so after
the worker forks), always with a timeout (FIELD-NOTES: a proxy shared across threads hangs).

Every request message expires in the broker after the RPC timeout: a request the gateway gave up on
(and answered 503) is never applied later by a service that comes back (no ghost ticket from a
request that sat in a queue while intake was down). Publishing retries briefly, then fails fast.

A broker that went away (restart, failover) leaves every thread's proxy with a dead connection.
Before each call the thread's reply connection is probed (a non-blocking read, ~0.1 ms): a dead one is
replaced before anything is published, so the first request after a broker restart does not fail or
lose its reply. A failure while talking to the broker discards the proxy and surfaces as one of
`BROKER_ERRORS`, which the gateway answers 503 with Retry-After (gateway/problems.py).
"""
from __future__ import annotations

import logging
import threading

from amqp.exceptions import ConnectionError as AmqpConnectionError
from kombu.exceptions import OperationalError
from nameko.rpc import ServiceProxy
from nameko.standalone.rpc import ClusterRpcProxy

import hotline_common.service_base  # noqa: F401  registers the typed errors for deserialisation
from hotline_common import tracing
from hotline_common.errors import TYPED_ERRORS
from hotline_common.logs import correlation_id

from .rpcdeadline import DeadlineReplyListener

log = logging.getLogger(__name__)

# the broker cannot be reached or the connection broke (OSError covers socket errors and timeouts)
BROKER_ERRORS = (OperationalError, AmqpConnectionError, ConnectionError, OSError)
# kombu's publish retries (nameko's default waits up to ~12 s while the broker is down)
PUBLISH_RETRY = {"max_retries": 2, "interval_start": 0.2, "interval_step": 0.4, "interval_max": 1.0}


class RpcClients:
    def __init__(self, amqp_uri: str, timeout: float):
        self.config = {"AMQP_URI": amqp_uri}
        self.timeout = timeout
        self._local = threading.local()

    def _service(self, name: str) -> ServiceProxy:
        standalone = getattr(self._local, "standalone", None)
        if standalone is not None and not self._alive():
            log.info("the broker connection of this thread broke; reconnecting")
            self._discard()
            standalone = None
        if standalone is None:
            standalone = ClusterRpcProxy(self.config, timeout=self.timeout, context_data={},
                                         reply_listener_cls=DeadlineReplyListener)  # the timeout is a deadline
            self._local.standalone = standalone  # discarded (stopped) if starting fails
            standalone.start()
            self._local.services = {}
        proxy = self._local.services.get(name)
        if proxy is None:
            proxy = self._local.services[name] = ServiceProxy(
                standalone._worker_ctx, name, standalone._reply_listener,
                expiration=self.timeout, retry_policy=PUBLISH_RETRY)
        return proxy

    def _alive(self) -> bool:
        try:
            self._local.standalone._reply_listener.queue_consumer.connection.drain_events(timeout=0.0001)
        except TimeoutError:
            return True          # nothing to read: the connection is up
        except Exception:
            return False
        return True              # it read something (a late reply): up as well

    def _discard(self) -> None:
        standalone = getattr(self._local, "standalone", None)
        self._local.standalone = None
        self._local.services = {}
        if standalone is not None:
            try:
                standalone.stop()
            except Exception:  # the connection is already broken; nothing to close cleanly
                pass

    def call(self, service: str, method: str, *args, **kwargs):
        try:
            proxy = self._service(service)
        except BROKER_ERRORS:
            self._discard()
            raise
        # the correlation id and the trace context travel in nameko's context headers to the service's worker
        data = self._local.standalone._worker_ctx.data
        data["correlation_id"] = correlation_id()
        with tracing.span(f"{service}/{method}", tracing.CLIENT, attributes=tracing.rpc_attributes(service, method),
                          expected=TYPED_ERRORS, within_trace=True):
            tracing.inject(data)
            try:
                return getattr(proxy, method)(*args, **kwargs)
            except BROKER_ERRORS:
                self._discard()  # a fresh connection on the next call
                raise

    def close(self) -> None:
        self._discard()
