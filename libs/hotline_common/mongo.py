"""MongoDB access through pymongo only, and the versioned-aggregate collection every store uses.

An aggregate document carries its own `outbox` (events not yet confirmed by the broker) and `inbox`
(ids of the last events applied to it). A state change, the events it causes and the id of the
event that caused it are written in one single-document update: atomic on any MongoDB, and one
write instead of three (FIELD-NOTES: the embedded server is write-bound).
"""
from __future__ import annotations

import threading
from typing import Iterable

from pymongo import ASCENDING, MongoClient
from pymongo.collection import Collection
from pymongo.errors import DuplicateKeyError

from .errors import NotFound, StaleVersion

_clients: dict[str, MongoClient] = {}
_lock = threading.Lock()

INBOX_KEEP = 64  # event ids remembered per aggregate; redeliveries come soon after the original


def client(uri: str) -> MongoClient:
    """One client per process and URI (pymongo pools connections and is thread-safe)."""
    with _lock:
        if uri not in _clients:
            _clients[uri] = MongoClient(uri, tz_aware=True, serverSelectionTimeoutMS=5000,
                                        connectTimeoutMS=5000, retryWrites=True)
        return _clients[uri]


def close_all() -> None:
    with _lock:
        for c in _clients.values():
            c.close()
        _clients.clear()


def ensure_outbox_index(collection: Collection) -> None:
    # sparse: only documents with pending events are in it, so the sweeper's scan is O(pending)
    collection.create_index([("outbox.id", ASCENDING)], sparse=True, name="outbox_pending")


def duplicate_on(exc: DuplicateKeyError, field: str) -> bool:
    details = exc.details or {}
    pattern = details.get("keyPattern") or {}
    if pattern:
        return field in pattern
    return f"{field}_" in str(details.get("errmsg", exc)) or f"index: {field}" in str(exc)


class Applied:
    """Result of an idempotent write: `applied` is False when the event had been applied before."""
    __slots__ = ("applied",)

    def __init__(self, applied: bool):
        self.applied = applied

    def __bool__(self):
        return self.applied


class AggregateCollection:
    """Versioned documents with an embedded outbox and inbox."""

    def __init__(self, collection: Collection, outbox):
        self.collection = collection
        self.outbox = outbox  # hotline_common.outbox.Outbox: wraps events and hands them to the relay
        ensure_outbox_index(collection)

    @property
    def name(self) -> str:
        return self.collection.name

    def get(self, key) -> dict | None:
        return self.collection.find_one({"_id": key}, {"outbox": 0, "inbox": 0})

    def insert(self, doc: dict, events: Iterable = (), *, cause: str | None = None) -> Applied:
        """Create an aggregate; a duplicate `_id` means the causing event was applied already."""
        envelopes = self.outbox.wrap(events)
        full = {**doc, "version": 1, "outbox": [self.outbox.entry(e) for e in envelopes],
                "inbox": [cause] if cause else []}
        try:
            self.collection.insert_one(full)
        except DuplicateKeyError as exc:
            if cause is not None and duplicate_on(exc, "_id"):
                return Applied(False)
            raise
        self.outbox.notify(self.name, doc["_id"], envelopes)
        return Applied(True)

    def update(self, key, changes: dict, events: Iterable = (), *, version: int | None = None,
               cause: str | None = None, push: dict | None = None, unset: Iterable[str] = (),
               where: dict | None = None) -> Applied:
        """Apply `changes` ($set) to one aggregate, with its events, atomically.

        `version`: optimistic concurrency, StaleVersion when the document moved on.
        `cause`: the id of the event being applied; a repeat is skipped (Applied(False)).
        `where`: further conditions; when they fail the update raises StaleVersion.
        """
        envelopes = self.outbox.wrap(events)
        query: dict = {**(where or {}), "_id": key}
        if version is not None:
            query["version"] = version
        if cause is not None:
            query["inbox"] = {"$ne": cause}
        update: dict = {"$inc": {"version": 1}}
        if changes:
            update["$set"] = changes
        pushes = dict(push or {})
        if envelopes:
            pushes["outbox"] = {"$each": [self.outbox.entry(e) for e in envelopes]}
        if cause is not None:
            pushes["inbox"] = {"$each": [cause], "$slice": -INBOX_KEEP}
        if pushes:
            update["$push"] = pushes
        if unset:
            update["$unset"] = {f: "" for f in unset}
        result = self.collection.update_one(query, update)
        if result.matched_count == 0:
            current = self.collection.find_one({"_id": key}, {"version": 1, "inbox": 1})
            if current is None:
                raise NotFound(f"{self.name} {key} not found")
            if cause is not None and cause in current.get("inbox", []):
                return Applied(False)
            raise StaleVersion(f"{self.name} {key} changed (now at version {current['version']})",
                               {"current_version": current["version"]})
        self.outbox.notify(self.name, key, envelopes)
        return Applied(True)
