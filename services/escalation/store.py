"""Escalation's MongoDB adapter: watches per ticket (with outbox/inbox)."""
from __future__ import annotations

from pymongo import ASCENDING

from hotline_common.mongo import AggregateCollection


class EscalationStore:

    def __init__(self, database, outbox):
        self.db = database
        self.watches = AggregateCollection(database.watches, outbox)

    def ensure_indexes(self) -> None:
        self.db.watches.create_index([("unit_id", ASCENDING), ("state", ASCENDING)], name="unit_state")

    def ping(self) -> None:
        self.db.command("ping")

    def get(self, ticket_id: str) -> dict | None:
        return self.watches.get(ticket_id)

    def add(self, watch: dict, cause: str):
        return self.watches.insert(watch, (), cause=cause)

    def restart(self, watch: dict, *, version: int, cause: str):
        changes = {k: v for k, v in watch.items() if k != "_id"}
        return self.watches.update(watch["_id"], changes, version=version, cause=cause)
