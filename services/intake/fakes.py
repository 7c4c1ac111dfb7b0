"""The in-memory twin of store.IntakeStore for fast tests: the same public methods over
`hotline_common.testing.MemoryAggregates` (tests/contract/test_intake_store.py runs one suite
against both)."""
from __future__ import annotations

import threading
from collections import defaultdict
from datetime import datetime
from typing import Any

from hotline_common.testing import DuplicateKey, MemoryAggregates

from .commands import TicketFilters
from .domain import Ticket
from .store import TicketWrites, duplicate_ways, from_doc, key_entry, page, pool_of, remembered, ticket_query


def _as_stored(value: Any) -> Any:
    """What MongoDB keeps of a value: instants to the millisecond (BSON dates)."""
    if isinstance(value, datetime):
        return value.replace(microsecond=value.microsecond // 1000 * 1000)
    if isinstance(value, dict):
        return {k: _as_stored(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_stored(v) for v in value]
    return value


class StoredAggregates(MemoryAggregates):
    """MemoryAggregates that keep instants as MongoDB does."""

    def insert(self, doc, events=(), *, cause=None):
        return super().insert(_as_stored(doc), events, cause=cause)

    def update(self, key, changes, events=(), *, version=None, cause=None, push=None, unset=(), where=None):
        return super().update(key, _as_stored(changes or {}), events, version=version, cause=cause,
                              push=_as_stored(push or {}), unset=unset, where=where)


class FakeIntakeStore(TicketWrites):

    def __init__(self, outbox):
        self.tickets = StoredAggregates("tickets", outbox, unique=("number", "idempotency.key"))
        self._counters: dict[str, int] = defaultdict(int)
        self._lock = threading.Lock()
        self.duplicate_keys: dict[str, list[str]] = {}

    def ensure_indexes(self) -> None:
        pass

    def ping(self) -> None:
        pass

    def next_number(self, day_key: str) -> int:
        with self._lock:
            self._counters[day_key] += 1
            return self._counters[day_key]

    def _idempotency_clash(self, exc: Exception) -> bool:
        return isinstance(exc, DuplicateKey) and exc.field == "idempotency.key"

    # -- reads
    def get(self, key: str) -> Ticket | None:
        doc = self.tickets.get(key) or self.tickets.find_one({"number": key})
        return from_doc(doc) if doc else None

    def by_idempotency_key(self, key: str) -> Ticket | None:
        doc = self.tickets.find_one({"idempotency.key": key})
        return from_doc(doc) if doc else None

    def search(self, filters: TicketFilters, limit: int, cursor: str | None) -> tuple[list[Ticket], str | None]:
        docs = self.tickets.find(ticket_query(filters, cursor))
        docs.sort(key=lambda d: (d["created_at"], d["_id"]), reverse=True)
        return page(docs[:limit + 1], limit)

    # -- the front desk (issue 12)
    def _remember(self, ticket: Ticket, ways: list[tuple[str, str]]) -> None:
        with self._lock:
            for _, key in ways:
                entry = key_entry(ticket.id, ticket.created_at)
                self.duplicate_keys[key] = remembered(self.duplicate_keys.get(key, []), entry)

    def duplicate_pool(self, category: str | None, district: str | None, phone: str | None,
                       fingerprint: str | None, since: datetime, limit: int) -> list[Ticket]:
        ways = duplicate_ways(category, district, phone, fingerprint)
        def fetch(ids: list[str]) -> dict[str, dict]:
            return {i: d for i in ids if (d := self.tickets.get(i)) is not None}
        return [from_doc(d) for d in pool_of(ways, self.duplicate_keys, since, limit, fetch)]

    def merged_ids(self, main_id: str) -> list[str]:
        return [d["_id"] for d in self.tickets.find({"merged_into.id": main_id})]

    def merged_tickets(self, main_id: str) -> list[Ticket]:
        docs = self.tickets.find({"merged_into.id": main_id})
        docs.sort(key=lambda d: (d["created_at"], d["_id"]))
        return [from_doc(d) for d in docs]
