"""SLA's MongoDB adapter: one deadline clock per ticket (with outbox/inbox), calendar overrides."""
from __future__ import annotations

from pymongo import ASCENDING

from hotline_common.mongo import AggregateCollection


class SlaStore:

    def __init__(self, database, outbox):
        self.db = database
        self.clocks = AggregateCollection(database.clocks, outbox)

    def ensure_indexes(self) -> None:
        self.db.clocks.create_index([("unit_id", ASCENDING), ("state", ASCENDING)], name="unit_state")

    def ping(self) -> None:
        self.db.command("ping")

    def get(self, ticket_id: str) -> dict | None:
        return self.clocks.get(ticket_id)

    def add(self, clock: dict, events, cause: str):
        return self.clocks.insert(clock, events, cause=cause)

    def replace(self, ticket_id: str, clock: dict, events, *, version: int, cause: str):
        changes = {k: v for k, v in clock.items() if k not in ("_id", "version")}
        return self.clocks.update(ticket_id, changes, events, version=version, cause=cause)
