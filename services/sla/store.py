"""SLA's MongoDB adapter: one deadline clock per ticket, calendar overrides stored through the API.

The only place a clock document becomes a `domain.Clock` and back (`to_doc`/`from_doc`); the fake
(`fakes.FakeSlaStore`) uses the same two functions, so both stores hold the same documents.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from hotline_common.actors import Actor
from hotline_common.mongo import BOOKKEEPING, HIDDEN, AggregateCollection, Applied, increment
from hotline_common.timeutil import as_utc
from pymongo import ASCENDING

from .domain import Clock, Extension, ExtensionRow, Fired, PastRound

CALENDAR_META = "calendar"


# -- documents <-> clocks ----------------------------------------------------------------------------

def to_doc(clock: Clock) -> dict:
    """The clock's document (without the store's bookkeeping: version, inbox, event ids)."""
    doc: dict[str, Any] = {
        "_id": clock.ticket_id, "number": clock.number, "type": clock.type, "unit_id": clock.unit_id,
        "unit_leaders": list(clock.unit_leaders), "dispatch_no": clock.dispatch_no, "round": clock.round,
        "state": clock.state, "started_at": clock.started_at, "working_days": clock.working_days,
        "extended_days": clock.extended_days, "extensions": [extension_doc(e) for e in clock.extensions],
        "event_seq": clock.event_seq, "due_date": clock.due_date.isoformat(), "due_at": clock.due_at,
        "provisional_years": list(clock.provisional_years), "warn_at": clock.warn_at,
        "fired": {"due_soon": clock.fired.due_soon, "overdue": clock.fired.overdue},
        "overdue_ticks": clock.overdue_ticks, "next_fire_at": clock.next_fire_at,
        "next_fire_kind": clock.next_fire_kind, "stopped_at": clock.stopped_at,
        "history": [{"dispatch_no": p.dispatch_no, "round": p.round, "unit_id": p.unit_id, "state": p.state,
                     "due_date": p.due_date.isoformat(), "stopped_at": p.stopped_at, "late": p.late}
                    for p in clock.history],
    }
    return doc


def from_doc(doc: dict) -> Clock:
    return Clock(
        ticket_id=doc["_id"], number=doc["number"], type=doc["type"], unit_id=doc["unit_id"],
        unit_leaders=tuple(doc["unit_leaders"]), dispatch_no=doc["dispatch_no"], round=doc["round"],
        state=doc["state"], started_at=as_utc(doc["started_at"]), working_days=doc["working_days"],
        extended_days=doc["extended_days"], extensions=tuple(extension_from_doc(e) for e in doc["extensions"]),
        due_date=date.fromisoformat(doc["due_date"]), due_at=as_utc(doc["due_at"]),
        provisional_years=tuple(doc["provisional_years"]), warn_at=as_utc(doc["warn_at"]),
        fired=Fired(due_soon=doc["fired"]["due_soon"], overdue=doc["fired"]["overdue"]),
        overdue_ticks=doc["overdue_ticks"], next_fire_at=_instant(doc["next_fire_at"]),
        next_fire_kind=doc["next_fire_kind"], stopped_at=_instant(doc.get("stopped_at")),
        history=tuple(PastRound(dispatch_no=p["dispatch_no"], round=p["round"], unit_id=p["unit_id"],
                                state=p["state"], due_date=date.fromisoformat(p["due_date"]),
                                stopped_at=_instant(p["stopped_at"]), late=p["late"])
                      for p in doc.get("history", ())),  # clocks stored before rounds were kept have none
        event_seq=doc["event_seq"], version=doc["version"],
    )


def extension_doc(e: Extension) -> dict:
    doc: dict[str, Any] = {"id": e.id, "working_days": e.working_days, "reason": e.reason,
                           "signed_by": e.signed_by.to_dict(), "requested_at": e.requested_at, "status": e.status,
                           "due_date_at_request": e.due_date_at_request.isoformat()}
    if e.status != "pending":
        doc.update(decided_by=e.decided_by.to_dict() if e.decided_by else None, decided_at=e.decided_at,
                   note=e.note, approved_working_days=e.approved_working_days)
    return doc


def extension_from_doc(doc: dict) -> Extension:
    decided_by = doc.get("decided_by")
    return Extension(id=doc["id"], working_days=doc["working_days"], reason=doc["reason"],
                     signed_by=_actor(doc["signed_by"]), requested_at=as_utc(doc["requested_at"]),
                     status=doc["status"], due_date_at_request=date.fromisoformat(doc["due_date_at_request"]),
                     decided_by=_actor(decided_by) if decided_by else None,
                     decided_at=_instant(doc.get("decided_at")), note=doc.get("note"),
                     approved_working_days=doc.get("approved_working_days"))


def _actor(doc: dict) -> Actor:
    return Actor(user_id=doc["user_id"], role=doc["role"], unit_id=doc.get("unit_id"))


def _instant(value: datetime | None) -> datetime | None:
    return as_utc(value) if value is not None else None


def changes_of(clock: Clock) -> dict:
    """What a save $sets: the whole document but the store's bookkeeping."""
    return {k: v for k, v in to_doc(clock).items() if k not in BOOKKEEPING}


def extension_rows(docs, unit_id: str | None, status: str | None) -> list[ExtensionRow]:
    """The extension requests of clock documents, newest first."""
    rows = []
    for doc in docs:
        if unit_id and doc["unit_id"] != unit_id:
            continue
        for e in doc["extensions"]:
            if status is None or e["status"] == status:
                rows.append(ExtensionRow(ticket_id=doc["_id"], number=doc["number"], unit_id=doc["unit_id"],
                                         due_date=date.fromisoformat(doc["due_date"]),
                                         extension=extension_from_doc(e)))
    return sorted(rows, key=lambda r: r.extension.requested_at, reverse=True)


# -- the store -----------------------------------------------------------------------------------------

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
    def get(self, key: str) -> Clock | None:
        """By ticket id or ticket number."""
        doc = self.db.clocks.find_one({"_id": key}, HIDDEN) or self.db.clocks.find_one({"number": key}, HIDDEN)
        return from_doc(doc) if doc else None

    def add(self, clock: Clock, events, cause: str) -> Applied:
        """A new clock; a repeat of its `cause` changes nothing (Applied(False))."""
        return self.clocks.insert(to_doc(clock), events, cause=cause)

    def save(self, clock: Clock, events, *, cause: str | None = None) -> Applied:
        """Write a changed clock, provided the document is still at `clock.version` (else StaleVersion)."""
        return self.clocks.update(clock.ticket_id, changes_of(clock), events, version=clock.version, cause=cause)

    def save_many(self, items: list[tuple[Clock, list]]) -> list[str]:
        """[(clock, events)], each versioned at `clock.version`: one bulk write; the ticket ids that applied."""
        return self.clocks.update_many_versioned(
            [(clock.ticket_id, clock.version, changes_of(clock), events) for clock, events in items])

    def due(self, now: datetime, limit: int) -> list[Clock]:
        """Clocks with a timer due at `now`, earliest first."""
        docs = self.db.clocks.find({"next_fire_at": {"$lte": now}}, HIDDEN).sort("next_fire_at", ASCENDING).limit(limit)
        return [from_doc(d) for d in docs]

    def running_provisional(self, years: list[int] | None = None) -> list[Clock]:
        query = {"state": "running", "provisional_years": {"$in": years} if years else {"$ne": []}}
        return [from_doc(d) for d in self.db.clocks.find(query, HIDDEN)]

    def extensions(self, unit_id: str | None, status: str | None) -> list[ExtensionRow]:
        query: dict = {"extensions.0": {"$exists": True}}
        if unit_id:
            query["unit_id"] = unit_id
        if status:
            query["extensions.status"] = status
        docs = self.db.clocks.find(query, {"number": 1, "unit_id": 1, "due_date": 1, "extensions": 1})
        return extension_rows(docs, unit_id, status)

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
