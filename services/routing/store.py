"""Routing's MongoDB adapter: assignments (versioned aggregates), the units directory, routing rules.

The only place assignment documents and `domain.Assignment` are converted (`to_doc`, `from_doc`).
Rules and units are read on every routing decision from an in-process copy, refreshed when their
revision counter moves (checked at most once a second; this replica's own changes at once). So a
change through the admin API applies to the next ticket on every replica without a restart.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from typing import Any

from pymongo import ASCENDING

from hotline_common.config_files import read_yaml
from hotline_common.messages import from_jsonable, to_jsonable
from hotline_common.mongo import BOOKKEEPING, HIDDEN, AggregateCollection, Applied, increment

from .domain import Assignment, Rule

META = "directory"
REVISION_CHECK_SECONDS = 1.0


# -- documents <-> the aggregate --------------------------------------------------------------------

def to_doc(a: Assignment) -> dict[str, Any]:
    """The assignment's document: its fields by the same names, the ticket id as `_id` (no version)."""
    doc = to_jsonable(a)
    doc["_id"] = doc.pop("ticket_id")
    del doc["version"]
    return doc


def from_doc(doc: dict[str, Any]) -> Assignment:
    data = {k: v for k, v in doc.items() if k not in ("_id", "inbox", "event_ids", "writes")}
    return from_jsonable(Assignment, {**data, "ticket_id": doc["_id"]})


def unit_doc(unit: dict[str, Any]) -> dict[str, Any]:
    """A unit of config/units.yaml as the directory stores it."""
    return {k: v for k, v in unit.items() if k != "id"} | {"active": True}


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
        a.create_index([("number", ASCENDING)], unique=True, name="number")
        a.create_index([("returns.unit_id", ASCENDING)], name="returns_by_unit")

    def ping(self) -> None:
        self.db.command("ping")

    # -- seeding from config/ (idempotent, safe with several replicas starting at once)
    def seed(self, config_dir) -> None:
        if self.db.units.estimated_document_count() == 0:
            for unit in read_yaml(config_dir, "units.yaml")["units"]:
                self.db.units.update_one({"_id": unit["id"]}, {"$setOnInsert": unit_doc(unit)}, upsert=True)
            self._bump()
        if self.db.rules.estimated_document_count() == 0:
            for position, rule in enumerate(read_yaml(config_dir, "routing-rules.yaml")["rules"]):
                doc = {**Rule.from_dict(rule).to_dict(), "position": position}
                self.db.rules.update_one({"_id": rule["id"]}, {"$setOnInsert": doc}, upsert=True)
            self._bump()

    def _bump(self) -> int:
        revision = increment(self.db.meta, META, "revision")
        self._checked_at = -1e9  # this replica sees its own change at once
        return revision

    # -- the directory as routing sees it
    def directory(self) -> tuple[list[Rule], dict]:
        """Rules and units, re-read when their revision moved."""
        with self._lock:
            if time.monotonic() - self._checked_at >= REVISION_CHECK_SECONDS:
                meta = self.db.meta.find_one({"_id": META}) or {}
                revision = meta.get("revision", 0)
                if revision != self._cached_revision:
                    self._rules = [Rule.from_dict(d) for d in self.db.rules.find().sort("position", ASCENDING)]
                    self._units = {d["_id"]: d for d in self.db.units.find() if d.get("active", True)}
                    self._cached_revision = revision
                self._checked_at = time.monotonic()
            return self._rules, self._units

    def units(self) -> list[dict]:
        return list(self.db.units.find().sort("_id", ASCENDING))

    def unit(self, unit_id: str) -> dict | None:
        return self.db.units.find_one({"_id": unit_id})

    def put_unit(self, unit_id: str, unit: dict) -> None:
        self.db.units.replace_one({"_id": unit_id}, unit, upsert=True)
        self._bump()

    def rules(self) -> list[dict]:
        """The rules' documents in their order (`id`, the rule's fields, `position`)."""
        return list(self.db.rules.find().sort("position", ASCENDING))

    def put_rule(self, rule: Rule) -> None:
        existing = self.db.rules.find_one({"_id": rule.id}, {"position": 1})
        position = existing["position"] if existing else self.db.rules.estimated_document_count()
        self.db.rules.replace_one({"_id": rule.id}, {**rule.to_dict(), "position": position}, upsert=True)
        self._bump()

    def delete_rule(self, rule_id: str) -> bool:
        deleted = self.db.rules.delete_one({"_id": rule_id}).deleted_count
        if deleted:
            self._bump()
        return bool(deleted)

    def return_counts(self, unit_id: str) -> dict:
        """R5: returns counted per unit (requested, approved, rejected, waiting)."""
        return count_returns(self.db.assignments.find({"returns.unit_id": unit_id}, {"returns": 1}), unit_id)

    # -- assignments
    def add_assignment(self, a: Assignment, events: Iterable, *, cause: str) -> Applied:
        """Create the assignment; `cause` (the ticket.registered event) makes a redelivery a no-op."""
        return self.assignments.insert(to_doc(a), events, cause=cause)

    def get_assignment(self, key: str) -> Assignment | None:
        """By ticket id or ticket number."""
        doc = (self.db.assignments.find_one({"_id": key}, HIDDEN)
               or self.db.assignments.find_one({"number": key}, HIDDEN))
        return from_doc(doc) if doc is not None else None

    def save(self, a: Assignment, events: Iterable, *, cause: str | None = None) -> Applied:
        """Write `a` over the version it was read at (`a.version`): StaleVersion if it moved on;
        with `cause`, an event applied before is skipped (Applied(False))."""
        changes = {k: v for k, v in to_doc(a).items() if k not in BOOKKEEPING}
        return self.assignments.update(a.ticket_id, changes, events, version=a.version, cause=cause)


def count_returns(docs: Iterable[dict], unit_id: str) -> dict:
    counts = {"requested": 0, "approved": 0, "rejected": 0, "waiting": 0}
    for doc in docs:
        for entry in doc["returns"]:
            if entry["unit_id"] == unit_id:
                counts["requested"] += 1
                counts[entry["decision"] or "waiting"] += 1
    return counts
