"""JSON logs that carry the correlation id across RPC and event hops.

The id lives in a thread-local: under eventlet's monkey patching that is greenthread-local, so each
nameko worker has its own; in the gateway each request thread has its own.
"""
from __future__ import annotations

import json
import logging
import sys
import threading
import uuid
from contextlib import contextmanager
from datetime import UTC, datetime

_local = threading.local()


def correlation_id() -> str | None:
    return getattr(_local, "correlation_id", None)


def new_correlation_id() -> str:
    return uuid.uuid4().hex


@contextmanager
def correlation(cid: str | None):
    previous = correlation_id()
    _local.correlation_id = cid or new_correlation_id()
    try:
        yield _local.correlation_id
    finally:
        _local.correlation_id = previous


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str):
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "service": self.service,
            "logger": record.name,
            "message": record.getMessage(),
        }
        cid = correlation_id()
        if cid:
            entry["correlation_id"] = cid
        for key in ("event_type", "event_id", "ticket", "extra_data"):
            if hasattr(record, key):
                entry[key] = getattr(record, key)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure(service: str, level: str = "INFO", as_json: bool = True) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if as_json:
        handler.setFormatter(JsonFormatter(service))
    else:
        handler.setFormatter(logging.Formatter(f"%(asctime)s {service} %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("kombu", "amqp", "pymongo", "nameko", "urllib3"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))
