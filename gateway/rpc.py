"""nameko RPC from gunicorn threads: one ClusterRpcProxy per thread, created on first use (so after
the worker forks), always with a timeout (FIELD-NOTES: a proxy shared across threads hangs)."""
from __future__ import annotations

import logging
import threading

from kombu.exceptions import OperationalError
from nameko.standalone.rpc import ClusterRpcProxy

import hotline_common.service_base  # noqa: F401  registers the typed errors for deserialisation
from hotline_common.logs import correlation_id

log = logging.getLogger(__name__)


class RpcClients:
    def __init__(self, amqp_uri: str, timeout: float):
        self.config = {"AMQP_URI": amqp_uri}
        self.timeout = timeout
        self._local = threading.local()

    def _proxy(self):
        proxy = getattr(self._local, "proxy", None)
        if proxy is None:
            standalone = ClusterRpcProxy(self.config, timeout=self.timeout, context_data={})
            self._local.standalone = standalone
            self._local.proxy = proxy = standalone.start()
        return proxy

    def _discard(self) -> None:
        standalone = getattr(self._local, "standalone", None)
        self._local.proxy = None
        self._local.standalone = None
        if standalone is not None:
            try:
                standalone.stop()
            except Exception:  # the connection is already broken; nothing to close cleanly
                pass

    def call(self, service: str, method: str, *args, **kwargs):
        proxy = self._proxy()
        # the correlation id travels in nameko's context headers to the service's worker
        self._local.standalone._worker_ctx.data["correlation_id"] = correlation_id()
        try:
            return getattr(getattr(proxy, service), method)(*args, **kwargs)
        except (OperationalError, ConnectionError, OSError):
            self._discard()  # a fresh connection on the next call
            raise

    def close(self) -> None:
        self._discard()
