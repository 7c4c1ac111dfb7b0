"""Intake's MongoDB adapter: tickets (versioned aggregates), daily number counters."""
from __future__ import annotations

import base64
import json
import threading

from pymongo import ASCENDING, DESCENDING
from pymongo.errors import DuplicateKeyError

from hotline_common.errors import StaleVersion, ValidationFailed
from hotline_common.mongo import AggregateCollection, Applied, HIDDEN, duplicate_on, increment
from hotline_common.timeutil import as_utc, iso, parse_iso

from .domain import ViewChange


class IdempotencyRace(Exception):
    """Another request with the same Idempotency-Key stored its ticket first."""


class NumberBlocks:
    """Hands out daily sequence numbers in blocks, so most tickets cost no counter write.

    Unique across any number of intake replicas (each block is one atomic $inc); a restarted
    replica leaves the rest of its block unused, so numbers can have gaps but never repeat.
    """

    def __init__(self, counters, block: int):
        self.counters = counters
        self.block = max(1, block)
        self._lock = threading.Lock()
        self._day = None
        self._next = 0
        self._end = -1

    def next(self, day_key: str) -> int:
        with self._lock:
            if day_key != self._day or self._next > self._end:
                end = increment(self.counters, day_key, by=self.block)
                self._day, self._end = day_key, end
                self._next = end - self.block + 1
            value = self._next
            self._next += 1
            return value


class IntakeStore:

    def __init__(self, database, outbox, settings):
        self.db = database
        self.tickets = AggregateCollection(database.tickets, outbox)
        self.numbers = NumberBlocks(database.counters, settings.ticket_number_block)

    def ensure_indexes(self) -> None:
        t = self.db.tickets
        t.create_index([("number", ASCENDING)], unique=True, name="number")
        t.create_index([("idempotency.key", ASCENDING)], unique=True, sparse=True, name="idempotency_key")
        t.create_index([("created_at", DESCENDING), ("_id", DESCENDING)], name="newest")
        t.create_index([("status", ASCENDING), ("created_at", DESCENDING)], name="status_newest")
        t.create_index([("units", ASCENDING), ("created_at", DESCENDING)], name="unit_newest")

    def ping(self) -> None:
        self.db.command("ping")

    # -- writes
    def add(self, ticket: dict, events) -> None:
        try:
            self.tickets.insert(ticket, events)
        except DuplicateKeyError as exc:
            if duplicate_on(exc, "idempotency.key"):
                raise IdempotencyRace(ticket["idempotency"]["key"]) from None
            raise

    def apply_view(self, ticket_id: str, change: ViewChange, event_id: str) -> Applied:
        """Apply a view change once. A status change older than what the view shows (events can be
        handled out of order) keeps the newer status and only adds its timeline entry."""
        push = {"timeline": change.entry}
        if change.source and change.seq is not None:
            seq_field = f"seq.{change.source}"
            try:
                return self.tickets.update(ticket_id, {**change.changes, seq_field: change.seq},
                                           cause=event_id, push=push,
                                           where={seq_field: {"$not": {"$gte": change.seq}}})
            except StaleVersion:
                return self.tickets.update(ticket_id, {}, cause=event_id, push=push)
        return self.tickets.update(ticket_id, change.changes, cause=event_id, push=push)

    def change(self, ticket: dict, changes: dict, events, timeline: list, push: dict | None = None):
        """A change intake itself decides (callback, key ticket), with its timeline entries."""
        pushes = {"timeline": {"$each": timeline}, **(push or {})}
        return self.tickets.update(ticket["_id"], changes, events, version=ticket["version"], push=pushes)

    # -- reads
    def get(self, key: str) -> dict | None:
        """By id or by number."""
        projection = HIDDEN
        return (self.db.tickets.find_one({"_id": key}, projection)
                or self.db.tickets.find_one({"number": key}, projection))

    def by_idempotency_key(self, key: str) -> dict | None:
        return self.db.tickets.find_one({"idempotency.key": key}, HIDDEN)

    def search(self, filters: dict, limit: int, cursor: str | None) -> tuple[list[dict], str | None]:
        """Newest first; `cursor` continues after the last ticket of the previous page."""
        query: dict = {}
        for field in ("type", "district"):
            if field in filters:
                query[field] = filters[field]
        if filters.get("status") == "closed":
            query["closed"] = True
        elif "status" in filters:
            query["status"] = filters["status"]
            query["closed"] = {"$ne": True}
        if "overdue" in filters:
            query["overdue"] = filters["overdue"]
        if "unit" in filters:
            query["units"] = filters["unit"]
        if "category" in filters:  # a category and everything under it
            code = filters["category"]
            query["$or"] = [{"category": code}, {"category": {"$gt": code + ".", "$lt": code + ".\uffff"}}]
        created = {}
        if "created_from" in filters:
            created["$gte"] = filters["created_from"]
        if "created_to" in filters:
            created["$lt"] = filters["created_to"]
        if created:
            query["created_at"] = created
        if cursor:
            at, last_id = decode_cursor(cursor)
            after = {"$or": [{"created_at": {"$lt": at}}, {"created_at": at, "_id": {"$lt": last_id}}]}
            query = {"$and": [query, after]} if query else after
        docs = list(self.db.tickets.find(query, HIDDEN)
                    .sort([("created_at", DESCENDING), ("_id", DESCENDING)]).limit(limit + 1))
        next_cursor = None
        if len(docs) > limit:
            docs = docs[:limit]
            next_cursor = encode_cursor(docs[-1]["created_at"], docs[-1]["_id"])
        return docs, next_cursor


def encode_cursor(at, ticket_id: str) -> str:
    raw = json.dumps([iso(as_utc(at)), ticket_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str):
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        at, ticket_id = json.loads(base64.urlsafe_b64decode(padded))
        return parse_iso(at), str(ticket_id)
    except (ValueError, TypeError):
        raise ValidationFailed("bad cursor", errors={"cursor": ["not a cursor this API returned"]}) from None
