"""Bulletin's MongoDB adapter: facts, bulletin's record of each ticket, the aggregates, bulletins and the
assessment's manual inputs. The only place documents and the domain's dataclasses meet.

Collections (database `hotline_bulletin`):
  facts              every event, inserted once (`_id` = event id); the feed (D5) and the rebuild source
  tickets            bulletin's record of a ticket (domain.TicketRecord)
  cube               day × unit × type × category × district × channel × street -> counters (R2)
  units              day × unit -> counters and the named lists' ticket numbers (R16, R18)
  places             day × district -> registrations by type, channel, category, street (R2, R12, R16)
  unit_names         unit id -> name, as dispatches name them
  bulletins          the published bulletins (versioned, with their `bulletin.published` through the outbox)
  bulletin_files     each bulletin's HTML and PDF
  assessment_inputs  the manual parts of the assessment, with who entered them and when
  counters           bulletin issue numbers per kind and year

Idempotency of an event's counts: each bucket document keeps the (shortened) ids of the last events it
applied (`applied`, the last `*_KEEP`) and an update carries `applied: {$ne: id}` in its filter, in the
same single-document write as its `$inc`; so a repeat of the same event is a no-op for that bucket. The
fact, inserted last, says the whole event was applied: a later redelivery is skipped before any write.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import ASCENDING, DESCENDING, InsertOne, UpdateOne
from pymongo.errors import DuplicateKeyError

from hotline_common.batching import GroupCommit
from hotline_common.mongo import AggregateCollection, increment

from .assessment import ManualInput
from .domain import Count, Dims, TicketRecord

CUBE_KEEP = 32      # fine buckets: few events each
BUCKET_KEEP = 100   # unit-day and place-day buckets: minutes of events each at city scale
LIST_KEEP = 20      # ticket numbers kept per unit, day and list (the count is exact; numbers are examples)
DIMENSIONS = ("type", "category", "district", "channel", "street")


# -- documents <-> domain ------------------------------------------------------------------------------

def enc(code: str) -> str:
    """A code as a field name (MongoDB paths split on dots): noise.commercial -> noise:commercial."""
    return code.replace(".", ":").replace("$", "＄") or "-"


def dec(name: str) -> str:
    return "" if name == "-" else name.replace(":", ".").replace("＄", "$")


def guard_id(event_id: str) -> str:
    """The part of an event id a bucket remembers (64 bits are plenty among its last hundred)."""
    return event_id.replace("-", "")[:16]


def ticket_to_doc(t: TicketRecord) -> dict[str, Any]:
    d = t.dims
    return {"_id": t.ticket_id, "number": t.number, "type": d.type, "category": d.category, "district": d.district,
            "channel": d.channel, "street": d.street, "day": t.registered_day,
            "dispatches": {str(k): v for k, v in t.dispatches.items()}, "late": dict(t.late)}


def ticket_from_doc(doc: Mapping[str, Any]) -> TicketRecord:
    dims = Dims(doc["type"], doc["category"], doc["district"], doc["channel"], doc.get("street"))
    return TicketRecord(doc["_id"], doc["number"], dims, doc["day"],
                        {int(k): v for k, v in (doc.get("dispatches") or {}).items()}, dict(doc.get("late") or {}))


def clock_field(clock: str) -> str:
    return "late." + clock.replace(".", "-")


@dataclass(frozen=True)
class BucketWrite:
    """One bucket's part of a count: the document, what a new one starts with, what is added."""
    collection: str
    key: str
    fields: dict[str, Any]       # $setOnInsert
    inc: dict[str, int]          # $inc
    lists: dict[str, str]        # $push (capped) of a ticket number
    keep: int


def bucket_writes(count: Count) -> list[BucketWrite]:
    d = count.dims
    street = d.street or ""
    out = [BucketWrite("cube", "|".join((count.day, count.unit, d.type, d.category, d.district, d.channel, street)),
                       {"day": count.day, "unit": count.unit, "type": d.type, "category": d.category,
                        "district": d.district, "channel": d.channel, "street": d.street},
                       {f"n.{k}": v for k, v in count.counters.items()}, {}, CUBE_KEEP)]
    if count.unit:
        out.append(BucketWrite("units", f"{count.day}|{count.unit}", {"day": count.day, "unit": count.unit},
                               {f"n.{k}": v for k, v in count.counters.items()},
                               {f"l.{k}": v for k, v in count.lists.items()}, BUCKET_KEEP))
    if count.registration:
        n = int(count.counters.get("registered", 0))
        inc = {"registered": n, f"type.{enc(d.type)}": n, f"channel.{enc(d.channel)}": n,
               f"category.{enc(d.category)}": n}
        if d.street:
            inc[f"street.{enc(d.street)}.{enc(d.category)}"] = n
        out.append(BucketWrite("places", f"{count.day}|{d.district}", {"day": count.day, "district": d.district},
                               inc, {}, BUCKET_KEEP))
    return out


def update_of(w: BucketWrite, event_id: str) -> UpdateOne:
    g = guard_id(event_id)
    push: dict[str, Any] = {"applied": {"$each": [g], "$slice": -w.keep}}
    for path, number in w.lists.items():
        push[path] = {"$each": [number], "$slice": LIST_KEEP}
    return UpdateOne({"_id": w.key, "applied": {"$ne": g}},
                     {"$setOnInsert": w.fields, "$inc": w.inc, "$push": push}, upsert=True)


def decoded(doc: Mapping[str, Any], collection: str) -> dict[str, Any]:
    """A bucket as the reports read it (no bookkeeping, codes decoded)."""
    if collection == "units":
        return {"day": doc["day"], "unit": doc["unit"], "counters": dict(doc.get("n") or {}),
                "lists": {k: list(v) for k, v in (doc.get("l") or {}).items()}}
    if collection == "places":
        return {"day": doc["day"], "district": doc["district"], "registered": int(doc.get("registered", 0)),
                "type": {dec(k): v for k, v in (doc.get("type") or {}).items()},
                "channel": {dec(k): v for k, v in (doc.get("channel") or {}).items()},
                "category": {dec(k): v for k, v in (doc.get("category") or {}).items()},
                "street": {dec(s): {dec(k): v for k, v in cats.items()} for s, cats in (doc.get("street") or {}).items()}}
    return {**{k: doc.get(k) for k in ("day", "unit", *DIMENSIONS)}, "counters": dict(doc.get("n") or {})}


def input_from_doc(doc: Mapping[str, Any]) -> ManualInput:
    return ManualInput(doc["unit_id"], doc["part"], float(doc["score"]), doc.get("note", ""), doc["by"], doc["at"])


class BulletinStore:

    def __init__(self, database, outbox):
        self.db = database
        self.outbox = outbox
        self.facts = GroupCommit(database.facts)
        self.groups = {name: GroupCommit(database[name]) for name in ("cube", "units", "places")}
        self.bulletins = AggregateCollection(database.bulletins, outbox)

    def ensure_indexes(self) -> None:
        f = self.db.facts
        f.create_index([("type", ASCENDING), ("time", ASCENDING)], name="type_time")
        f.create_index([("ticket_id", ASCENDING), ("time", ASCENDING)], name="ticket_time")
        f.create_index([("received_at", ASCENDING), ("_id", ASCENDING)], name="feed")
        for name in ("cube", "units", "places"):
            self.db[name].create_index([("day", ASCENDING)], name="day")
        self.db.bulletins.create_index([("kind", ASCENDING), ("first_day", DESCENDING)], name="kind_period")

    def ping(self) -> None:
        self.db.command("ping")

    # -- facts
    def has_fact(self, event_id: str) -> bool:
        return self.db.facts.find_one({"_id": event_id}, {"_id": 1}) is not None

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

    def all_facts(self, batch: int = 1000) -> Iterator[dict]:
        """Every fact in arrival order (for rebuilding the aggregates)."""
        yield from self.db.facts.find({}).sort([("received_at", ASCENDING), ("_id", ASCENDING)]).batch_size(batch)

    # -- bulletin's record of each ticket
    def ticket(self, ticket_id: str) -> TicketRecord | None:
        doc = self.db.tickets.find_one({"_id": ticket_id})
        return ticket_from_doc(doc) if doc else None

    def add_ticket(self, t: TicketRecord) -> bool:
        try:
            self.db.tickets.insert_one(ticket_to_doc(t))
            return True
        except DuplicateKeyError:
            return False

    def add_dispatch(self, ticket_id: str, dispatch_no: int, at: str) -> None:
        self.db.tickets.update_one({"_id": ticket_id}, {"$set": {f"dispatches.{dispatch_no}": at}})

    def claim_late(self, ticket_id: str, clock: str, event_id: str) -> bool:
        """The clock is counted late by this event, unless another event did first (True: this one)."""
        path = clock_field(clock)
        result = self.db.tickets.update_one({"_id": ticket_id, path: {"$exists": False}}, {"$set": {path: event_id}})
        if result.modified_count:
            return True
        return self.db.tickets.count_documents({"_id": ticket_id, path: event_id}) > 0

    # -- aggregates
    def apply(self, event_id: str, counts: Sequence[Count]) -> int:
        """Add an event's counts to their buckets, each once. Returns how many buckets changed now."""
        by_collection: dict[str, list[BucketWrite]] = {}
        for count in counts:
            for w in bucket_writes(count):
                by_collection.setdefault(w.collection, []).append(w)
        changed = 0
        for name, writes in by_collection.items():
            outcomes = self.groups[name].write_all([update_of(w, event_id) for w in writes])
            for w, outcome in zip(writes, outcomes, strict=True):
                changed += self._settle(name, w, event_id, outcome.error)
        return changed

    def _settle(self, name: str, w: BucketWrite, event_id: str, error: dict | None) -> int:
        if error is None:
            return 1
        if error.get("code") != 11000:
            raise RuntimeError(error.get("errmsg", "write failed"))
        # a duplicate key: the bucket has this event already, or another writer created it first
        collection = self.db[name]
        if collection.count_documents({"_id": w.key, "applied": guard_id(event_id)}):
            return 0
        result = collection.bulk_write([update_of(w, event_id)], ordered=False)
        return result.modified_count + result.upserted_count

    def remember_unit(self, unit_id: str, name: str) -> None:
        self.db.unit_names.update_one({"_id": unit_id}, {"$set": {"name": name}}, upsert=True)

    def unit_names(self) -> dict[str, str]:
        return {d["_id"]: d["name"] for d in self.db.unit_names.find({})}

    def cube(self, first_day: str, end_day: str, group: Sequence[str], filters: Mapping[str, Sequence[Any]],
             measures: Sequence[str]) -> list[dict[str, Any]]:
        """Counters added up per combination of the `group` dimensions over the days [first, end)."""
        match: dict[str, Any] = {"day": {"$gte": first_day, "$lt": end_day}}
        for dim, values in filters.items():
            match[dim] = {"$in": list(values)}
        spec: dict[str, Any] = {"_id": {g: f"${g}" for g in group}}
        for m in measures:
            spec[m] = {"$sum": f"$n.{m}"}
        rows = []
        for r in self.db.cube.aggregate([{"$match": match}, {"$group": spec}]):
            rows.append({"key": {g: r["_id"].get(g) for g in group},
                         "counters": {m: int(r.get(m) or 0) for m in measures}})
        return rows

    def units(self, first_day: str, end_day: str, unit: str | None = None, *,
              lists: bool = True) -> list[dict[str, Any]]:
        """Unit-day buckets of the days [first, end) (with their ticket-number lists unless `lists=False`)."""
        query: dict[str, Any] = {"day": {"$gte": first_day, "$lt": end_day}}
        if unit is not None:
            query["unit"] = unit
        projection = {"applied": 0} if lists else {"applied": 0, "l": 0}
        return [decoded(d, "units") for d in self.db.units.find(query, projection)]

    def first_day(self) -> str | None:
        """The earliest day with a registration (None: none yet)."""
        doc = self.db.places.find_one({}, {"day": 1}, sort=[("day", ASCENDING)])
        return doc["day"] if doc else None

    def places(self, first_day: str, end_day: str) -> list[dict[str, Any]]:
        return [decoded(d, "places") for d in self.db.places.find({"day": {"$gte": first_day, "$lt": end_day}},
                                                                  {"applied": 0})]

    def dump(self) -> dict[str, dict[str, Any]]:
        """Every aggregate without bookkeeping, by collection and key (rebuild checks, tests)."""
        return {name: {d["_id"]: decoded(d, name) for d in self.db[name].find({}, {"applied": 0})}
                for name in ("cube", "units", "places")}

    # -- bulletins
    def bulletin(self, bulletin_id: str) -> dict | None:
        return self.bulletins.get(bulletin_id)

    def list_bulletins(self, kind: str | None, year: int | None, limit: int) -> list[dict]:
        query: dict[str, Any] = {}
        if kind:
            query["kind"] = kind
        if year:
            query["year"] = year
        projection = {"content": 0, "inbox": 0, "event_ids": 0, "writes": 0}
        return list(self.db.bulletins.find(query, projection).sort([("first_day", DESCENDING), ("kind", ASCENDING)])
                    .limit(limit))

    def next_number(self, kind: str, year: int) -> int:
        return increment(self.db.counters, f"{kind}-{year}")

    def claim_number(self, bulletin_id: str, kind: str, year: int, now: datetime, ttl_seconds: float) -> int | None:
        """Claim the making of a new bulletin and its issue number; None while another replica holds the
        claim. A claim older than `ttl_seconds` (its maker died) is taken over with the number it had,
        so no number is skipped."""
        claims = self.db.bulletin_claims
        try:
            claims.insert_one({"_id": bulletin_id, "at": now})
        except DuplicateKeyError:
            taken = claims.update_one({"_id": bulletin_id, "at": {"$lt": now - timedelta(seconds=ttl_seconds)}},
                                      {"$set": {"at": now}})
            if not taken.modified_count:
                return None
        doc = claims.find_one({"_id": bulletin_id}) or {}
        if doc.get("number"):
            return int(doc["number"])
        number = self.next_number(kind, year)
        claims.update_one({"_id": bulletin_id}, {"$set": {"number": number}})
        return number

    def release_claim(self, bulletin_id: str) -> None:
        """The making failed: let the next attempt take the claim at once (keeping its number)."""
        self.db.bulletin_claims.update_one({"_id": bulletin_id}, {"$set": {"at": datetime(1970, 1, 1, tzinfo=UTC)}})

    def save_bulletin(self, doc: dict, files: Mapping[str, bytes], events: Iterable, *,
                      version: int | None = None) -> None:
        """A new bulletin (version None) or a new revision of one; its files first, so that a
        published bulletin always has them."""
        for fmt, body in files.items():
            self.db.bulletin_files.replace_one({"_id": f"{doc['_id']}.{fmt}"},
                                               {"body": body, "revision": doc["revision"]}, upsert=True)
        if version is None:
            self.bulletins.insert(doc, events)
        else:
            changes = {k: v for k, v in doc.items() if k not in ("_id", "version", "inbox", "event_ids", "writes")}
            self.bulletins.update(doc["_id"], changes, events, version=version)

    def bulletin_file(self, bulletin_id: str, fmt: str) -> bytes | None:
        doc = self.db.bulletin_files.find_one({"_id": f"{bulletin_id}.{fmt}"})
        return bytes(doc["body"]) if doc else None

    # -- the assessment's manual parts
    def put_input(self, period: str, given: ManualInput) -> None:
        entry = {"unit_id": given.unit_id, "part": given.part, "score": given.score, "note": given.note,
                 "by": given.by, "at": given.at}
        self.db.assessment_inputs.update_one({"_id": f"{period}|{given.unit_id}|{given.part}"},
                                             {"$set": {"period": period, **entry}, "$push": {"history": entry}},
                                             upsert=True)

    def inputs(self, period: str) -> list[ManualInput]:
        return [input_from_doc(d) for d in self.db.assessment_inputs.find({"period": period}).sort("_id", ASCENDING)]
