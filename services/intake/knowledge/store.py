"""The knowledge base's MongoDB adapter: entries (versioned aggregates with their revisions), their uses,
and the knowledge base's revision counter (the search index rebuilds when it moves).

The only place an entry document becomes a `domain.Entry` and back (`to_doc`/`from_doc`). Days are
stored as ISO strings (BSON has no date without a time).
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.errors import DuplicateKeyError

from hotline_common.config_files import read_yaml
from hotline_common.mongo import BOOKKEEPING, HIDDEN, AggregateCollection, Applied, increment
from hotline_common.timeutil import as_utc

from .domain import Content, Entry, Revision, seeded

SEED_FILE = "knowledge-base.yaml"
META = "knowledge"


# -- documents <-> entries ---------------------------------------------------------------------------

def content_doc(c: Content | None) -> dict[str, Any] | None:
    if c is None:
        return None
    return {"title": c.title, "answer": c.answer, "category": c.category, "source": c.source,
            "valid_from": _day(c.valid_from), "valid_until": _day(c.valid_until), "review_date": _day(c.review_date),
            "keywords": list(c.keywords)}


def content_of(d: dict[str, Any] | None) -> Content | None:
    if not d:
        return None
    return Content(title=d["title"], answer=d["answer"], category=d["category"], source=d["source"],
                   valid_from=_date(d.get("valid_from")), valid_until=_date(d.get("valid_until")),
                   review_date=_date(d["review_date"]) or date.max, keywords=tuple(d.get("keywords") or ()))


def to_doc(e: Entry) -> dict[str, Any]:
    return {"_id": e.id, "unit_id": e.unit_id, "status": e.status,
            "pending_approval": e.pending is not None and not e.retired,
            "category": e.category, "current": content_doc(e.current), "pending": content_doc(e.pending),
            "retired": e.retired, "published_revision": e.published_revision, "example": e.example,
            "created_at": e.created_at, "updated_at": e.updated_at,
            "revisions": [{"n": r.n, "action": r.action, "at": r.at, "by": r.by, "content": content_doc(r.content),
                           "note": r.note} for r in e.revisions]}


def from_doc(d: dict[str, Any]) -> Entry:
    return Entry(id=d["_id"], unit_id=d["unit_id"], current=content_of(d.get("current")),
                 pending=content_of(d.get("pending")), retired=bool(d.get("retired")),
                 published_revision=d.get("published_revision"), example=bool(d.get("example")),
                 created_at=as_utc(d["created_at"]), updated_at=as_utc(d["updated_at"]),
                 revisions=tuple(Revision(n=r["n"], action=r["action"], at=as_utc(r["at"]), by=r.get("by") or {},
                                          content=content_of(r.get("content")), note=r.get("note") or "")
                                 for r in d.get("revisions", [])),
                 version=d.get("version", 0))


def _day(day: date | None) -> str | None:
    return day.isoformat() if day else None


def _date(value: Any) -> date | None:
    if value is None or isinstance(value, date) and not isinstance(value, datetime):
        return value
    return date.fromisoformat(str(value)[:10])


def listing_query(unit: str | None, status: str | None, category: str | None) -> dict[str, Any]:
    query: dict[str, Any] = {}
    if unit:
        query["unit_id"] = unit
    if status == "pending":
        query["pending_approval"] = True
    elif status:
        query["status"] = status
    if category:
        query["$or"] = [{"category": category}, {"category": {"$gt": category + ".", "$lt": category + ".\uffff"}}]
    return query


def seed_entries(config_dir, now: datetime) -> list[Entry]:
    """The example entries shipped in config/knowledge-base.yaml, published as loaded."""
    data = read_yaml(config_dir, SEED_FILE)
    example = bool(data.get("example", True))
    out = []
    for item in data.get("entries") or []:
        content = Content(title=item["title"], answer=" ".join(str(item["answer"]).split()), category=item["category"],
                          source=item["source"], valid_from=_date(item.get("valid_from")),
                          valid_until=_date(item.get("valid_until")), review_date=_date(item["review_date"]) or date.max,
                          keywords=tuple(str(k) for k in item.get("keywords") or ()))
        out.append(seeded(item["id"], item["unit_id"], content, now=now, example=example))
    return out


# -- the writes, over any aggregate collection ------------------------------------------------------

class EntryWrites:
    """`entries` is a mongo.AggregateCollection (or its in-memory twin); `_bump()` moves the revision."""

    entries: Any

    def _bump(self) -> int:
        raise NotImplementedError

    def add(self, entry: Entry, events) -> Applied:
        applied = self.entries.insert(to_doc(entry), events)
        self._bump()
        return applied

    def save(self, before: Entry, after: Entry, events) -> Applied:
        """`after` over the version `before` was read at (StaleVersion if another change came first)."""
        changes = {k: v for k, v in to_doc(after).items() if k not in BOOKKEEPING}
        applied = self.entries.update(before.id, changes, events, version=before.version)
        self._bump()
        return applied


class KnowledgeStore(EntryWrites):

    def __init__(self, database, outbox):
        self.db = database
        self.entries = AggregateCollection(database.knowledge, outbox)

    def ensure_indexes(self) -> None:
        self.db.knowledge.create_index([("unit_id", ASCENDING), ("updated_at", DESCENDING)], name="unit_recent")
        self.db.knowledge.create_index([("status", ASCENDING), ("updated_at", DESCENDING)], name="status_recent")
        self.db.knowledge_uses.create_index([("entry_id", ASCENDING)], name="entry")

    def seed(self, config_dir, now: datetime) -> int:
        """Load the shipped entries into an empty knowledge base (idempotent; safe with replicas)."""
        if self.db.knowledge.estimated_document_count():
            return 0
        added = 0
        for entry in seed_entries(config_dir, now):
            doc = {k: v for k, v in to_doc(entry).items() if k != "_id"} | {"version": 1, "event_ids": [], "inbox": []}
            result = self.db.knowledge.update_one({"_id": entry.id}, {"$setOnInsert": doc}, upsert=True)
            if result.upserted_id is not None:
                added += 1
        self._bump()
        return added

    def _bump(self) -> int:
        return increment(self.db.meta, META, "revision")

    def revision(self) -> int:
        return int((self.db.meta.find_one({"_id": META}) or {}).get("revision", 0))

    # -- reads
    def get(self, entry_id: str) -> Entry | None:
        doc = self.db.knowledge.find_one({"_id": entry_id}, HIDDEN)
        return from_doc(doc) if doc else None

    def published(self) -> list[Entry]:
        return [from_doc(d) for d in self.db.knowledge.find({"status": "published"}, HIDDEN)]

    def find(self, unit: str | None = None, status: str | None = None, category: str | None = None,
             limit: int = 50) -> list[Entry]:
        """Most recently changed first."""
        cursor = self.db.knowledge.find(listing_query(unit, status, category), HIDDEN) \
            .sort([("updated_at", DESCENDING), ("_id", ASCENDING)]).limit(limit)
        return [from_doc(d) for d in cursor]

    # -- uses: one record per ticket citing an entry, so counting twice is impossible
    def record_use(self, entry_id: str, ticket_id: str, at: datetime) -> bool:
        try:
            self.db.knowledge_uses.insert_one({"_id": ticket_id, "entry_id": entry_id, "at": at})
            return True
        except DuplicateKeyError:
            return False

    def use_counts(self, entry_ids: list[str]) -> dict[str, int]:
        rows = self.db.knowledge_uses.aggregate([{"$match": {"entry_id": {"$in": list(entry_ids)}}},
                                                 {"$group": {"_id": "$entry_id", "n": {"$sum": 1}}}])
        return {r["_id"]: r["n"] for r in rows}
