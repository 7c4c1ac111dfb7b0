"""SLA's MongoDB adapter: one deadline clock per ticket, calendar overrides stored through the API."""
from __future__ import annotations

from pymongo import ASCENDING

from hotline_common.mongo import AggregateCollection, BOOKKEEPING, HIDDEN, increment

CALENDAR_META = "calendar"


class SlaStore:
    def __init__(self, database, outbox):
        self.db = database
        self.clocks = AggregateCollection(database.clocks, outbox)

    def ensure_indexes(self) -> None:
        c = self.db.clocks
        # finding what is due costs what is due: a range scan of this index, never of all open clocks
        c.create_index([("next_fire_at", ASCENDING)], name="due")
        c.create_index([("provisional_years", ASCENDING)], name="provisional")
        c.create_index([("number", ASCENDING)], name="number")
        c.create_index([("unit_id", ASCENDING), ("extensions.status", ASCENDING)], name="unit_extensions")

    def ping(self) -> None:
        self.db.command("ping")

    # -- clocks
    def get(self, key: str) -> dict | None:
        projection = HIDDEN
        return self.db.clocks.find_one({"_id": key}, projection) or self.db.clocks.find_one({"number": key}, projection)

    def add(self, clock: dict, events, cause: str):
        return self.clocks.insert(clock, events, cause=cause)

    def save(self, clock: dict, events, *, version: int, cause: str | None = None):
        changes = {k: v for k, v in clock.items() if k not in BOOKKEEPING}
        return self.clocks.update(clock["_id"], changes, events, version=version, cause=cause)

    def save_many(self, items: list[tuple[dict, int, list]]) -> list:
        """[(clock, version, events)]: one bulk write; returns the ids that applied."""
        return self.clocks.update_many_versioned(
            [(c["_id"], v, {k: x for k, x in c.items() if k not in BOOKKEEPING}, e) for c, v, e in items])

    def due(self, now, limit: int) -> list[dict]:
        return list(self.db.clocks.find({"next_fire_at": {"$lte": now}}, HIDDEN)
                    .sort("next_fire_at", ASCENDING).limit(limit))

    def running_provisional(self, years: list[int] | None = None) -> list[dict]:
        query = {"state": "running", "provisional_years": {"$in": years} if years else {"$ne": []}}
        return list(self.db.clocks.find(query, HIDDEN))

    def extensions(self, unit_id: str | None, status: str | None) -> list[dict]:
        query: dict = {"extensions.0": {"$exists": True}}
        if unit_id:
            query["unit_id"] = unit_id
        out = []
        for clock in self.db.clocks.find(query, {"number": 1, "unit_id": 1, "due_date": 1, "extensions": 1}):
            for e in clock["extensions"]:
                if status is None or e["status"] == status:
                    out.append({**e, "ticket_id": clock["_id"], "number": clock["number"],
                                "unit_id": clock["unit_id"], "due_date": clock["due_date"]})
        return sorted(out, key=lambda e: e["requested_at"], reverse=True)

    # -- calendar overrides (the admin API's; files under config/calendar/ are read at start)
    def calendar_overrides(self) -> list[dict]:
        return list(self.db.calendar.find().sort("_id", ASCENDING))

    def put_calendar_override(self, year: int, document: dict) -> int:
        self.db.calendar.replace_one({"_id": year}, document, upsert=True)
        return self.bump_calendar()

    def bump_calendar(self) -> int:
        return increment(self.db.meta, CALENDAR_META, "revision")

    def calendar_revision(self) -> int:
        return (self.db.meta.find_one({"_id": CALENDAR_META}) or {}).get("revision", 0)
