"""MongoDB adapters of the privacy rules: the `audit` collection (who revealed which citizen's contact,
when and why; each retention run that erased something) and the erasure of contact data in the
tickets collection. The only place audit documents become `Reveal`s and back."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.errors import DuplicateKeyError

from hotline_common.timeutil import as_utc

from ..domain import TimelineEntry
from ..store import field_doc
from .domain import ERASED_FIELDS, Reveal

REVEAL = "contact_reveal"
RETENTION = "retention"
LOOKUP = "progress_lookup"   # a citizen's progress lookup (issue 15): address, number, hit or miss


def lookup_doc(lookup_id: str, at: datetime, client: str, number: str, hit: bool) -> dict[str, Any]:
    return {"_id": lookup_id, "kind": LOOKUP, "at": at, "client": client, "number": number, "hit": hit}


def reveal_doc(r: Reveal) -> dict[str, Any]:
    return {"_id": r.id, "kind": REVEAL, "ticket_id": r.ticket_id, "number": r.number, "unit_id": r.unit_id,
            "user_id": r.user_id, "role": r.role, "reason": r.reason, "at": r.at}


def reveal_of(d: dict[str, Any]) -> Reveal:
    return Reveal(id=d["_id"], ticket_id=d["ticket_id"], number=d["number"], unit_id=d["unit_id"],
                  user_id=d["user_id"], role=d["role"], reason=d["reason"], at=as_utc(d["at"]))


def reveal_query(*, ticket_ids: list[str] | None, unit: str | None, user: str | None,
                 since: datetime | None, until: datetime | None) -> dict[str, Any]:
    query: dict[str, Any] = {"kind": REVEAL}
    if ticket_ids is not None:
        query["ticket_id"] = {"$in": ticket_ids}
    if unit is not None:
        query["unit_id"] = unit
    if user is not None:
        query["user_id"] = user
    at: dict[str, Any] = {}
    if since is not None:
        at["$gte"] = since
    if until is not None:
        at["$lt"] = until
    if at:
        query["at"] = at
    return query


def erasure(now: datetime, entry: TimelineEntry, has_idempotency: bool) -> tuple[dict[str, Any], dict[str, Any]]:
    """($set, $push) of one ticket's erasure: the contact fields emptied, the moment recorded, and the
    hash of the registering request (it covered the phone) dropped; the timeline says so."""
    changes: dict[str, Any] = {**ERASED_FIELDS, "contact_erased_at": now}
    if has_idempotency:
        changes["idempotency.hash"] = "erased"
    return changes, {"timeline": field_doc(entry)}


DUE_FIELDS = {"_id": 1, "version": 1, "idempotency.key": 1}


def due_query(cutoff: datetime) -> dict[str, Any]:
    return {"closed": True, "closed_at": {"$lt": cutoff}, "contact_erased_at": {"$exists": False}}


class AuditLog:
    """The `audit` collection of intake's database."""

    def __init__(self, database):
        self.coll = database.audit

    def ensure_indexes(self) -> None:
        self.coll.create_index([("kind", ASCENDING), ("at", DESCENDING)], name="kind_newest")
        self.coll.create_index([("ticket_id", ASCENDING), ("at", DESCENDING)], name="ticket_newest", sparse=True)

    def add_reveal(self, r: Reveal) -> bool:
        """False when a reveal with this id is recorded already (a repeat under its Idempotency-Key)."""
        try:
            self.coll.insert_one(reveal_doc(r))
            return True
        except DuplicateKeyError:
            return False

    def get_reveal(self, reveal_id: str) -> Reveal | None:
        d = self.coll.find_one({"_id": reveal_id, "kind": REVEAL})
        return reveal_of(d) if d else None

    def reveals(self, *, ticket_ids: list[str] | None = None, unit: str | None = None, user: str | None = None,
                since: datetime | None = None, until: datetime | None = None, limit: int = 100) -> list[Reveal]:
        query = reveal_query(ticket_ids=ticket_ids, unit=unit, user=user, since=since, until=until)
        docs = self.coll.find(query).sort([("at", DESCENDING), ("_id", DESCENDING)]).limit(limit)
        return [reveal_of(d) for d in docs]

    def add_lookup(self, lookup_id: str, at: datetime, client: str, number: str, hit: bool) -> None:
        self.coll.insert_one(lookup_doc(lookup_id, at, client, number, hit))

    def add_retention_run(self, run_id: str, at: datetime, cutoff: datetime, erased: list[str]) -> None:
        self.coll.insert_one({"_id": run_id, "kind": RETENTION, "at": at, "cutoff": cutoff,
                              "erased": len(erased), "ticket_ids": erased})


class ContactData:
    """Finds the closed tickets whose citizen's contact is due for erasure, and erases it: a versioned
    write of the ticket aggregate (`tickets`: the intake store's AggregateCollection)."""

    def __init__(self, database, tickets):
        self.raw = database.tickets
        self.tickets = tickets

    def ensure_indexes(self) -> None:
        self.raw.create_index([("closed_at", ASCENDING)], name="closed_at", sparse=True)

    def due(self, cutoff: datetime, limit: int) -> list[tuple[str, int, bool]]:
        """(ticket id, version, whether it has an idempotency record), oldest first."""
        docs = self.raw.find(due_query(cutoff), DUE_FIELDS).sort([("closed_at", ASCENDING)]).limit(limit)
        return [(d["_id"], d["version"], bool((d.get("idempotency") or {}).get("key"))) for d in docs]

    def erase(self, ticket_id: str, version: int, now: datetime, entry: TimelineEntry, has_idempotency: bool):
        changes, push = erasure(now, entry, has_idempotency)
        return self.tickets.update(ticket_id, changes, version=version, push=push, where={"closed": True})

    def erased(self, ticket_id: str) -> bool:
        return self.raw.count_documents({"_id": ticket_id, "contact_erased_at": {"$exists": True}}) > 0

