"""Bulletin's MongoDB adapter: every event as a fact (inserted in batches), reports built from them."""
from __future__ import annotations

from pymongo import ASCENDING, InsertOne

from hotline_common.batching import GroupCommit


class BulletinStore:

    def __init__(self, database, outbox):
        self.db = database
        self.outbox = outbox
        self.facts = GroupCommit(database.facts)

    def ensure_indexes(self) -> None:
        f = self.db.facts
        f.create_index([("type", ASCENDING), ("time", ASCENDING)], name="type_time")
        f.create_index([("ticket_id", ASCENDING), ("time", ASCENDING)], name="ticket_time")
        f.create_index([("received_at", ASCENDING), ("_id", ASCENDING)], name="feed")

    def ping(self) -> None:
        self.db.command("ping")

    def record(self, fact: dict) -> bool:
        """Keep a fact once: its `_id` is the event id, so a redelivery is a duplicate key."""
        outcome = self.facts.write(InsertOne(fact))
        if outcome.error is None:
            return True
        if outcome.error.get("code") == 11000:
            return False
        raise RuntimeError(outcome.error.get("errmsg", "write failed"))
