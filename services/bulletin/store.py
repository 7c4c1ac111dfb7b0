"""Bulletin's MongoDB adapter: every event as a fact (inserted in batches), reports built from them."""
from __future__ import annotations

from pymongo import ASCENDING, InsertOne

from hotline_common.batching import GroupCommit
from hotline_common.timeutil import CHINA


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

    def feed(self, after: tuple | None, until, types: list[str] | None, limit: int) -> list[dict]:
        """Facts in arrival order after the cursor `(received_at, id)`, up to `until`."""
        query: dict = {"received_at": {"$lte": until}}
        if types:
            query["type"] = {"$in": types}
        if after:
            at, last_id = after
            query = {"$and": [query, {"$or": [{"received_at": {"$gt": at}},
                                              {"received_at": at, "_id": {"$gt": last_id}}]}]}
        return list(self.db.facts.find(query).sort([("received_at", ASCENDING), ("_id", ASCENDING)]).limit(limit))

    def count_by(self, event_type: str, field: str | None, start, end) -> list[dict]:
        """R2: how many `event_type` facts in [start, end), grouped by a data field or by day (Beijing)."""
        key = f"$event.data.{field}" if field else {"$dateToString": {"format": "%Y-%m-%d", "date": "$time",
                                                                        "timezone": str(CHINA)}}
        pipeline = [{"$match": {"type": event_type, "time": {"$gte": start, "$lt": end}}},
                    {"$group": {"_id": key, "count": {"$sum": 1}}},
                    {"$sort": {"count": -1, "_id": 1}}]
        return list(self.db.facts.aggregate(pipeline))
