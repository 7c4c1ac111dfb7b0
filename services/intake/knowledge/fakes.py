"""In-memory twin of knowledge.store.KnowledgeStore for fast tests (tests/contract runs one suite on
both)."""
from __future__ import annotations

import threading
from datetime import datetime

from ..fakes import StoredAggregates
from .domain import Entry
from .store import EntryWrites, from_doc, listing_query, seed_entries, to_doc


class FakeKnowledgeStore(EntryWrites):

    def __init__(self, outbox):
        self.entries = StoredAggregates("knowledge", outbox)
        self._revision = 0
        self._uses: dict[str, tuple[str, datetime]] = {}
        self._lock = threading.Lock()

    def ensure_indexes(self) -> None:
        pass

    def seed(self, config_dir, now: datetime) -> int:
        if self.entries.docs:
            return 0
        for entry in seed_entries(config_dir, now):
            self.entries.insert(to_doc(entry))
        self._bump()
        return len(self.entries.docs)

    def _bump(self) -> int:
        with self._lock:
            self._revision += 1
            return self._revision

    def revision(self) -> int:
        return self._revision

    def get(self, entry_id: str) -> Entry | None:
        doc = self.entries.get(entry_id)
        return from_doc(doc) if doc else None

    def published(self) -> list[Entry]:
        return [from_doc(d) for d in self.entries.find({"status": "published"})]

    def find(self, unit: str | None = None, status: str | None = None, category: str | None = None,
             limit: int = 50) -> list[Entry]:
        docs = self.entries.find(listing_query(unit, status, category))
        docs.sort(key=lambda d: d["_id"])
        docs.sort(key=lambda d: d["updated_at"], reverse=True)
        return [from_doc(d) for d in docs[:limit]]

    def record_use(self, entry_id: str, ticket_id: str, at: datetime) -> bool:
        with self._lock:
            if ticket_id in self._uses:
                return False
            self._uses[ticket_id] = (entry_id, at)
            return True

    def use_counts(self, entry_ids: list[str]) -> dict[str, int]:
        counts: dict[str, int] = {}
        for entry_id, _ in self._uses.values():
            if entry_id in entry_ids:
                counts[entry_id] = counts.get(entry_id, 0) + 1
        return counts
