"""Bulletin's MongoDB adapter: the per-ticket analytics records."""
from __future__ import annotations

from pymongo import ASCENDING
from pymongo.errors import DuplicateKeyError

from hotline_common.mongo import INBOX_KEEP


class BulletinStore:
    outbox_collections = ()

    def __init__(self, database, outbox):
        self.db = database
        self.outbox = outbox

    def ensure_indexes(self) -> None:
        t = self.db.tickets
        t.create_index([("registered_at", ASCENDING)], name="registered")
        t.create_index([("unit_id", ASCENDING), ("due_at", ASCENDING)], name="unit_due")

    def ping(self) -> None:
        self.db.command("ping")

    def record(self, ticket_id: str, changes: dict, event_id: str) -> bool:
        """Apply an event's changes once (upsert; the event id joins the record's inbox)."""
        update = {"$push": {"inbox": {"$each": [event_id], "$slice": -INBOX_KEEP}}}
        if changes:
            update["$set"] = changes
        try:
            result = self.db.tickets.update_one({"_id": ticket_id, "inbox": {"$ne": event_id}}, update,
                                                upsert=True)
        except DuplicateKeyError:
            return False  # the record exists and has this event already
        return result.modified_count > 0 or result.upserted_id is not None
