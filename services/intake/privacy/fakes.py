"""In-memory twins of privacy.store for fast tests: the same public methods."""
from __future__ import annotations

import threading
from datetime import datetime

from hotline_common.testing import matches

from ..domain import TimelineEntry
from .domain import Reveal
from .store import LOOKUP, RETENTION, due_query, erasure, lookup_doc, reveal_doc, reveal_of, reveal_query


class FakeAuditLog:

    def __init__(self):
        self.docs: dict[str, dict] = {}
        self._lock = threading.Lock()

    def ensure_indexes(self) -> None:
        pass

    def add_reveal(self, r: Reveal) -> bool:
        with self._lock:
            if r.id in self.docs:
                return False
            self.docs[r.id] = reveal_doc(r)
            return True

    def get_reveal(self, reveal_id: str) -> Reveal | None:
        d = self.docs.get(reveal_id)
        return reveal_of(d) if d and d["kind"] not in (RETENTION, LOOKUP) else None

    def reveals(self, *, ticket_ids=None, unit=None, user=None, since=None, until=None, limit=100) -> list[Reveal]:
        query = reveal_query(ticket_ids=ticket_ids, unit=unit, user=user, since=since, until=until)
        docs = sorted((d for d in self.docs.values() if matches(d, query)), key=lambda d: (d["at"], d["_id"]),
                      reverse=True)
        return [reveal_of(d) for d in docs[:limit]]

    def add_retention_run(self, run_id: str, at: datetime, cutoff: datetime, erased: list[str]) -> None:
        self.docs[run_id] = {"_id": run_id, "kind": RETENTION, "at": at, "cutoff": cutoff, "erased": len(erased),
                             "ticket_ids": erased}

    def add_lookup(self, lookup_id: str, at: datetime, client: str, number: str, hit: bool) -> None:
        self.docs[lookup_id] = lookup_doc(lookup_id, at, client, number, hit)

    def lookups(self) -> list[dict]:
        return [d for d in self.docs.values() if d["kind"] == LOOKUP]

    def runs(self) -> list[dict]:
        return [d for d in self.docs.values() if d["kind"] == RETENTION]


class FakeContactData:
    """Over the fake intake store's tickets (fakes.StoredAggregates)."""

    def __init__(self, tickets):
        self.tickets = tickets

    def ensure_indexes(self) -> None:
        pass

    def due(self, cutoff: datetime, limit: int) -> list[tuple[str, int, bool]]:
        docs = sorted(self.tickets.find(due_query(cutoff)), key=lambda d: d["closed_at"])[:limit]
        return [(d["_id"], d["version"], bool((d.get("idempotency") or {}).get("key"))) for d in docs]

    def erase(self, ticket_id: str, version: int, now: datetime, entry: TimelineEntry, has_idempotency: bool):
        changes, push = erasure(now, entry, has_idempotency)
        return self.tickets.update(ticket_id, changes, version=version, push=push, where={"closed": True})

    def erased(self, ticket_id: str) -> bool:
        doc = self.tickets.get(ticket_id)
        return bool(doc and doc.get("contact_erased_at"))
