"""In-memory fakes for fast tests: the outbox, versioned aggregates, a fixed clock, a fake RPC.

They keep the contracts of the real adapters (mongo.AggregateCollection, outbox.Outbox) so a use
case runs unchanged over them; tests/contract runs one suite against the fake and the real store
(as OpenStack Zaqar runs one storage suite per driver), so the two cannot drift apart.
"""
from __future__ import annotations

import copy
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from . import tracing
from .clock import FixedClock  # noqa: F401  re-exported: the clock fake
from .errors import NotFound, StaleVersion
from .events import envelope
from .messages import Event
from .mongo import EVENTS_KEEP, INBOX_KEEP, Applied, derived_event_id

__all__ = ["RecordingOutbox", "MemoryAggregates", "FixedClock", "FakeRpc", "matches", "DuplicateKey",
           "recorded_spans"]


class DuplicateKey(Exception):
    """The fake's DuplicateKeyError: names the unique field that clashed."""

    def __init__(self, field: str):
        super().__init__(f"duplicate key on {field}")
        self.field = field


class RecordingOutbox:
    """Wraps events like the real outbox and keeps what would be published, in order."""

    def __init__(self, service: str, clock):
        self.service = service
        self.clock = clock
        self.published: list[dict] = []
        self.discarded: list[dict] = []

    def wrap(self, events: Iterable, cause: str | None = None, key: Any = None) -> list[dict]:
        now = self.clock.now()
        out = []
        for index, e in enumerate(events):
            if isinstance(e, Event):
                event_id = derived_event_id(cause, key, index, e.full_type()) if cause else None
                out.append(envelope(e, source_service=self.service, time=now, event_id=event_id))
            else:
                out.append(e)
        return out

    def stage(self, collection, key, envelopes) -> None:
        pass

    def stage_many(self, items) -> None:
        pass

    def discard(self, envelopes) -> None:
        self.discarded.extend(envelopes)

    def committed(self, collection, key, envelopes) -> None:
        self.published.extend(envelopes)

    # -- for assertions
    def types(self) -> list[str]:
        return [e["type"] for e in self.published]

    def of(self, event_cls: type[Event]) -> list[dict]:
        return [e for e in self.published if e["type"] == event_cls.full_type()]

    def clear(self) -> None:
        self.published.clear()


def _get(doc: dict, path: str):
    value: Any = doc
    for part in path.split("."):
        if isinstance(value, list) and part.isdigit():
            value = value[int(part)] if int(part) < len(value) else None
        elif isinstance(value, dict):
            value = value.get(part)
        else:
            return None
    return value


def _set(doc: dict, path: str, value) -> None:
    parts = path.split(".")
    for part in parts[:-1]:
        doc = doc.setdefault(part, {})
    doc[parts[-1]] = value


def _unset(doc: dict, path: str) -> None:
    parts = path.split(".")
    for part in parts[:-1]:
        doc = doc.get(part) or {}
    doc.pop(parts[-1], None)


def _compare(value, condition) -> bool:
    if isinstance(condition, dict) and condition and all(k.startswith("$") for k in condition):
        for op, arg in condition.items():
            if op == "$ne" and (arg in value if isinstance(value, list) else value == arg):
                return False
            if op == "$in" and not (set(value) & set(arg) if isinstance(value, list) else value in arg):
                return False
            if op == "$nin" and (set(value) & set(arg) if isinstance(value, list) else value in arg):
                return False
            if op == "$gte" and not (value is not None and value >= arg):
                return False
            if op == "$gt" and not (value is not None and value > arg):
                return False
            if op == "$lte" and not (value is not None and value <= arg):
                return False
            if op == "$lt" and not (value is not None and value < arg):
                return False
            if op == "$exists" and (value is not None) != bool(arg):
                return False
            if op == "$not" and _compare(value, arg):
                return False
        return True
    if isinstance(value, list) and not isinstance(condition, list):
        return condition in value
    return value == condition


def matches(doc: dict, query: dict) -> bool:
    """A small MongoDB query matcher: equality, $ne/$in/$nin/$gt(e)/$lt(e)/$exists/$not, $and/$or."""
    for key, condition in query.items():
        if key == "$and":
            if not all(matches(doc, q) for q in condition):
                return False
        elif key == "$or":
            if not any(matches(doc, q) for q in condition):
                return False
        elif not _compare(_get(doc, key), condition):
            return False
    return True


class MemoryAggregates:
    """The in-memory twin of mongo.AggregateCollection: versioned documents, events through the
    outbox, each causing event applied once, unique fields enforced."""

    def __init__(self, name: str, outbox, unique: Iterable[str] = ()):
        self.name = name
        self.outbox = outbox
        self.unique = tuple(unique)
        self.docs: dict[Any, dict] = {}
        self._lock = threading.Lock()

    # -- reads
    def get(self, key) -> dict | None:
        doc = self.docs.get(key)
        return _public(doc) if doc is not None else None

    def find(self, query: dict | None = None, sort: Callable | None = None, limit: int | None = None) -> list[dict]:
        out = [_public(d) for d in self.docs.values() if matches(d, query or {})]
        if sort is not None:
            out.sort(key=sort)
        return out[:limit] if limit else out

    def find_one(self, query: dict) -> dict | None:
        found = self.find(query, limit=1)
        return found[0] if found else None

    # -- writes
    def insert(self, doc: dict, events: Iterable = (), *, cause: str | None = None) -> Applied:
        envelopes = self.outbox.wrap(events, cause=cause, key=doc["_id"])
        with self._lock:
            if doc["_id"] in self.docs:
                self.outbox.discard(envelopes)
                if cause is not None:
                    return Applied(False)
                raise DuplicateKey("_id")
            for field in self.unique:
                value = _get(doc, field)
                if value is not None and any(_get(d, field) == value for d in self.docs.values()):
                    self.outbox.discard(envelopes)
                    raise DuplicateKey(field)
            self.docs[doc["_id"]] = {**copy.deepcopy(doc), "version": 1,
                                     "event_ids": [e["id"] for e in envelopes],
                                     "inbox": [cause] if cause else []}
        self.outbox.committed(self.name, doc["_id"], envelopes)
        return Applied(True)

    def update(self, key, changes: dict, events: Iterable = (), *, version: int | None = None,
               cause: str | None = None, push: dict | None = None, unset: Iterable[str] = (),
               where: dict | None = None) -> Applied:
        envelopes = self.outbox.wrap(events, cause=cause, key=key)
        with self._lock:
            doc = self.docs.get(key)
            if doc is None:
                self.outbox.discard(envelopes)
                raise NotFound(f"{self.name} {key} not found")
            if cause is not None and cause in doc["inbox"]:
                self.outbox.discard(envelopes)
                return Applied(False)
            if (version is not None and doc["version"] != version) or (where and not matches(doc, where)):
                self.outbox.discard(envelopes)
                raise StaleVersion(f"{self.name} {key} changed (now at version {doc['version']})",
                                   {"current_version": doc["version"]})
            for path, value in (changes or {}).items():
                _set(doc, path, copy.deepcopy(value))
            for path in unset:
                _unset(doc, path)
            for path, value in (push or {}).items():
                items = value["$each"] if isinstance(value, dict) and "$each" in value else [value]
                current = list(_get(doc, path) or [])
                _set(doc, path, current + copy.deepcopy(list(items)))
            doc["version"] += 1
            doc["event_ids"] = (doc["event_ids"] + [e["id"] for e in envelopes])[-EVENTS_KEEP:]
            if cause is not None:
                doc["inbox"] = (doc["inbox"] + [cause])[-INBOX_KEEP:]
        self.outbox.committed(self.name, key, envelopes)
        return Applied(True)

    def update_many_versioned(self, items: list[tuple]) -> list:
        applied = []
        for key, version, changes, events in items:
            try:
                self.update(key, changes, events, version=version)
                applied.append(key)
            except (StaleVersion, NotFound):
                pass
        return applied


def _public(doc: dict) -> dict:
    return {k: copy.deepcopy(v) for k, v in doc.items() if k not in ("inbox", "event_ids", "writes")}


class FakeRpc:
    """Stands in for gateway.rpc.RpcClients in gateway tests: answers from a table of functions
    `(service, method) -> fn(*args)` and records every call."""

    def __init__(self, answers: dict | None = None):
        self.answers: dict = dict(answers or {})
        self.calls: list[tuple] = []

    def on(self, service: str, method: str, fn: Callable | Any) -> FakeRpc:
        self.answers[(service, method)] = fn if callable(fn) else (lambda *a, _v=fn: _v)
        return self

    def call(self, service: str, method: str, *args, **kwargs):
        self.calls.append((service, method, args, kwargs))
        answer = self.answers.get((service, method))
        if answer is None:
            raise AssertionError(f"FakeRpc has no answer for {service}.{method}")
        return answer(*args, **kwargs)


def new_id() -> str:
    return uuid.uuid4().hex


def at(text: str) -> datetime:
    """An aware UTC instant from ISO text, for fixtures: at("2026-09-30T07:00:00Z")."""
    from .timeutil import parse_iso
    return parse_iso(text)


@contextmanager
def recorded_spans() -> Iterator[Any]:
    """Tracing on for the block, every span kept in memory: `with recorded_spans() as spans:` ...
    `spans.get_finished_spans()` (an opentelemetry InMemorySpanExporter)."""
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.install(provider)
    try:
        yield exporter
    finally:
        tracing.install(None)
