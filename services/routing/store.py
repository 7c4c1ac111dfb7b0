"""Routing's MongoDB adapter: assignments (with outbox/inbox), the units directory, routing rules.

Rules and units are read on every routing decision from an in-process copy that is refreshed when
their revision counter moves, so a change through the admin API applies to the next ticket on every
replica without a restart, at the cost of one small indexed read per decision.
"""
from __future__ import annotations

import threading
import time

from pymongo import ASCENDING, ReturnDocument

from hotline_common.config_files import read_yaml
from hotline_common.mongo import AggregateCollection

from .domain import Rule

META = "directory"
REVISION_CHECK_SECONDS = 1.0  # how stale another replica's change may be seen; this replica's is immediate


class RoutingStore:

    def __init__(self, database, outbox):
        self.db = database
        self.assignments = AggregateCollection(database.assignments, outbox)
        self._lock = threading.Lock()
        self._cached_revision = None
        self._checked_at = -1e9
        self._rules: list[Rule] = []
        self._units: dict = {}

    def ensure_indexes(self) -> None:
        a = self.db.assignments
        a.create_index([("status", ASCENDING), ("registered_at", ASCENDING)], name="status_age")
        a.create_index([("lead_unit", ASCENDING), ("status", ASCENDING)], name="unit_status")

    def ping(self) -> None:
        self.db.command("ping")

    # -- seeding from config/ (idempotent, safe with several replicas starting at once)
    def seed(self, config_dir) -> None:
        if self.db.units.estimated_document_count() == 0:
            for unit in read_yaml(config_dir, "units.yaml")["units"]:
                self.db.units.update_one({"_id": unit["id"]}, {"$setOnInsert": _unit_doc(unit)}, upsert=True)
            self._bump()
        if self.db.rules.estimated_document_count() == 0:
            for position, rule in enumerate(read_yaml(config_dir, "routing-rules.yaml")["rules"]):
                doc = {**Rule.from_dict(rule).to_dict(), "position": position}
                self.db.rules.update_one({"_id": rule["id"]}, {"$setOnInsert": doc}, upsert=True)
            self._bump()

    def _bump(self) -> int:
        doc = self.db.meta.find_one_and_update({"_id": META}, {"$inc": {"revision": 1}}, upsert=True,
                                               return_document=ReturnDocument.AFTER)
        return doc["revision"]

    # -- the directory as routing sees it
    def directory(self) -> tuple[list[Rule], dict]:
        """Rules and units, re-read when their revision moved (checked at most once a second)."""
        with self._lock:
            if time.monotonic() - self._checked_at >= REVISION_CHECK_SECONDS:
                meta = self.db.meta.find_one({"_id": META}) or {}
                revision = meta.get("revision", 0)
                if revision != self._cached_revision:
                    self._rules = [Rule.from_dict(d) for d in self.db.rules.find().sort("position", ASCENDING)]
                    self._units = {d["_id"]: d for d in self.db.units.find()}
                    self._cached_revision = revision
                self._checked_at = time.monotonic()
            return self._rules, self._units

    def invalidate_directory(self) -> None:
        self._checked_at = -1e9

    # -- assignments
    def add_assignment(self, assignment: dict, events, cause: str):
        return self.assignments.insert(assignment, events, cause=cause)

    def get_assignment(self, ticket_id: str) -> dict | None:
        return self.assignments.get(ticket_id)


def _unit_doc(unit: dict) -> dict:
    return {k: v for k, v in unit.items() if k != "id"} | {"active": True}
