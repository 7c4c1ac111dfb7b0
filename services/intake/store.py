"""Intake's MongoDB adapter: tickets (versioned aggregates), daily number counters.

The only place a ticket document becomes a `domain.Ticket` and back (`to_doc`/`from_doc`). The
writes (`add`, `save`, `apply_view`) are shared with the in-memory twin in fakes.py: they only use
the aggregate collection's interface (mongo.AggregateCollection / testing.MemoryAggregates).
"""
from __future__ import annotations

import base64
import hashlib
import json
import math
import threading
from collections.abc import Callable, Collection
from dataclasses import fields, is_dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import ASCENDING, DESCENDING, UpdateOne
from pymongo.errors import BulkWriteError, DuplicateKeyError

from hotline_common.errors import StaleVersion, ValidationFailed
from hotline_common.mongo import (
    HIDDEN,
    AggregateCollection,
    Applied,
    SpanHints,
    duplicate_on,
    hi_bound,
    increment,
    newest_first,
)
from hotline_common.timeutil import as_utc, iso, parse_iso

from .commands import TicketFilters
from .domain import (
    CallbackEntry,
    Citizen,
    CoUnit,
    DeadlineSummary,
    DirectAnswer,
    ExtensionSummary,
    Idempotency,
    ReplySummary,
    Ticket,
    TicketRef,
    TimelineEntry,
    UnitRef,
)
from .duplicates import bands
from .view import ViewChange


class IdempotencyRace(Exception):
    """Another request with the same Idempotency-Key stored its ticket first."""


# -- documents <-> tickets -------------------------------------------------------------------------

NOT_STORED = ("id", "version", "idempotency")


def to_doc(ticket: Ticket) -> dict:
    doc: dict[str, Any] = {"_id": ticket.id}
    for f in fields(Ticket):
        if f.name not in NOT_STORED:
            doc[f.name] = field_doc(getattr(ticket, f.name))
    if ticket.idempotency is not None:  # absent otherwise: the unique index on its key is sparse
        doc["idempotency"] = field_doc(ticket.idempotency)
    doc["seq"] = {}  # per source, the order of the last change the view shows (apply_view)
    doc.update(listing_keys(ticket.status, ticket.closed, ticket.category))
    return doc


def listing_keys(status: str, closed: bool, category: str) -> dict[str, Any]:
    """What the listing indexes key on (read model, derived; see `search`): the status a listing
    filters by (closed over the handling status) and the category with its ancestors."""
    return {"list_status": "closed" if closed else status, "category_path": category_path(category)}


def category_path(code: str) -> list[str]:
    """"noise.neighbourhood" -> ["noise", "noise.neighbourhood"]: a category filter is an equality."""
    parts = code.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts) + 1)]


def field_doc(value: Any) -> Any:
    """One field's value as stored: dataclasses as sub-documents, tuples as arrays."""
    if isinstance(value, ExtensionSummary):
        return {"status": value.status, **({"working_days": value.working_days}
                                           if value.working_days is not None else {})}
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: field_doc(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, (list, tuple)):
        return [field_doc(v) for v in value]
    if isinstance(value, dict):
        return {k: field_doc(v) for k, v in value.items()}
    return value


def from_doc(doc: dict) -> Ticket:
    """Tolerates documents written before a field existed (they lack it)."""
    lead, deadline, reply, extension, idem = (doc.get(k) for k in ("lead_unit", "deadline", "reply", "extension",
                                                                   "idempotency"))
    closed_at = doc.get("closed_at")
    return Ticket(
        id=doc["_id"],
        number=doc["number"],
        channel=doc["channel"],
        type=doc["type"],
        category=doc["category"],
        district=doc["district"],
        address=doc.get("address") or "",
        citizen=Citizen(name=(doc.get("citizen") or {}).get("name") or "", phone=doc["citizen"]["phone"]),
        content=doc["content"],
        key_ticket=bool(doc.get("key_ticket")),
        key_reason=doc.get("key_reason"),
        external_ref=doc.get("external_ref"),
        status=doc["status"],
        created_at=as_utc(doc["created_at"]),
        registered_by=doc.get("registered_by") or {},
        timeline=tuple(_timeline_entry(e) for e in doc.get("timeline", [])),
        version=doc.get("version", 0),
        idempotency=Idempotency(key=idem["key"], hash=idem["hash"]) if idem else None,
        units=tuple(doc.get("units", [])),
        lead_unit=UnitRef(id=lead["id"], name=lead["name"]) if lead else None,
        co_units=tuple(CoUnit(unit_id=c["unit_id"], unit_name=c["unit_name"], status=c["status"])
                       for c in doc.get("co_units", [])),
        first_responsible=bool(doc.get("first_responsible")),
        dispatch_no=doc.get("dispatch_no"),
        round=doc.get("round") or 1,
        reply=ReplySummary(reply_no=reply["reply_no"], result=reply["result"], replied_at=reply.get("replied_at"),
                           public_summary=reply.get("public_summary"))
        if reply else None,
        deadline=DeadlineSummary(**{**deadline, "provisional_years": tuple(deadline.get("provisional_years") or ())})
        if deadline else None,
        overdue=bool(doc.get("overdue")),
        due_soon=doc.get("due_soon"),
        overdue_working_days=doc.get("overdue_working_days"),
        extension=ExtensionSummary(status=extension["status"], working_days=extension.get("working_days"))
        if extension else None,
        callbacks=tuple(_callback(c) for c in doc.get("callbacks", [])),
        satisfaction=doc.get("satisfaction"),
        challenged=bool(doc.get("challenged")),
        closed=bool(doc.get("closed")),
        close_reason=doc.get("close_reason"),
        closed_at=as_utc(closed_at) if closed_at else None,
        # the front desk (issue 12)
        disposition=doc.get("disposition") or "dispatch",
        disposition_reason=doc.get("disposition_reason"),
        referred_to=doc.get("referred_to"),
        answer=DirectAnswer(**doc["answer"]) if doc.get("answer") else None,
        merged_into=TicketRef(**doc["merged_into"]) if doc.get("merged_into") else None,
        merge_no=doc.get("merge_no") or 0,
        follow_up_of=TicketRef(**doc["follow_up_of"]) if doc.get("follow_up_of") else None,
        fingerprint=doc.get("fingerprint"),
        responsible_unit=UnitRef(**doc["responsible_unit"]) if doc.get("responsible_unit") else None,
    )


def _timeline_entry(e: dict) -> TimelineEntry:
    return TimelineEntry(at=as_utc(e["at"]), type=e["type"], label=e["label"], actor=e.get("actor") or {"role": "system"},
                         detail=e.get("detail") or {}, event_id=e.get("event_id"))


def _callback(c: dict) -> CallbackEntry:
    return CallbackEntry(at=as_utc(c["at"]), by=c["by"], by_unit=c["by_unit"], round=c.get("round") or 1,
                         attempt=c["attempt"], reached=c["reached"], satisfaction=c.get("satisfaction"),
                         solved=c.get("solved"), unit_contacted=c.get("unit_contacted"),
                         challenge=bool(c.get("challenge")), challenge_reason=c.get("challenge_reason"),
                         note=c.get("note") or "")


# -- the writes, over any aggregate collection -----------------------------------------------------

class TicketWrites:
    """`tickets` is a mongo.AggregateCollection (or its in-memory twin)."""

    tickets: Any

    def _idempotency_clash(self, exc: Exception) -> bool:
        raise NotImplementedError

    def _remember(self, ticket: Ticket, ways: list[tuple[str, str]]) -> None:
        """Put `ticket` first on each of its duplicate keys' lists (`remembered`)."""
        raise NotImplementedError

    def add(self, ticket: Ticket, events) -> Applied:
        """A new ticket with its events, then on its duplicate keys. IdempotencyRace: another request
        with its key got there first. (Stopped between the two, the ticket is stored and only missing
        from the suggestions for later calls: they are suggestions.)"""
        try:
            applied = self.tickets.insert(to_doc(ticket), events)
        except Exception as exc:
            if ticket.idempotency is not None and self._idempotency_clash(exc):
                raise IdempotencyRace(ticket.idempotency.key) from None
            raise
        ways = duplicate_ways(ticket.category, ticket.district, ticket.citizen.phone, ticket.fingerprint)
        if applied and ways:
            self._remember(ticket, ways)
        return applied

    def save(self, before: Ticket, after: Ticket, events) -> Applied:
        """A change intake itself decides (callback, key ticket): the fields that changed, if `before`
        is still the stored version (else StaleVersion); arrays that grew get their new items pushed."""
        old, new = to_doc(before), to_doc(after)
        changes: dict[str, Any] = {}
        pushes: dict[str, Any] = {}
        for name, value in new.items():
            previous = old.get(name)
            if name in ("_id", "seq") or value == previous:
                continue
            if isinstance(value, list) and isinstance(previous, list) and value[:len(previous)] == previous:
                pushes[name] = {"$each": value[len(previous):]}
            else:
                changes[name] = value
        return self.tickets.update(before.id, changes, events, version=before.version, push=pushes)

    def apply_view(self, ticket_id: str, change: ViewChange, entry: TimelineEntry, cause: str) -> Applied:
        """Apply a view change once. A status change older than what the view shows (events can be
        handled out of order) keeps the newer status and only adds its timeline entry."""
        changes = {name: field_doc(value) for name, value in change.changes.items()}
        push = {"timeline": field_doc(entry)}
        if change.source and change.seq is not None:
            seq_field = f"seq.{change.source}"
            try:  # a merged ticket shows its main ticket's handling: its own only adds timeline lines
                return self._set_view(ticket_id, {**changes, seq_field: change.seq},
                                      cause=cause, push=push,
                                      where={seq_field: {"$not": {"$gte": change.seq}}, "merged_into": None})
            except StaleVersion:
                return self.tickets.update(ticket_id, {}, cause=cause, push=push)
        return self.tickets.update(ticket_id, changes, cause=cause, push=push)


    # -- the front desk (issue 12): merged tickets follow their main ticket
    def apply_to_merged(self, main_id: str, change: ViewChange, entry: TimelineEntry, cause: str) -> int:
        """Apply a change of the main ticket's handling to every ticket merged into it, once each
        (`cause`: the event's id); an older change than one shown only adds its timeline line."""
        applied = 0
        changes = {name: field_doc(value) for name, value in change.changes.items()}
        seq_field = f"seq.main_{change.source}"
        for ticket_id in self.merged_ids(main_id):
            where: dict[str, Any] = {"merged_into.id": main_id}
            if change.seq is not None:
                where[seq_field] = {"$not": {"$gte": change.seq}}
            try:
                done = self._set_view(ticket_id, {**changes, **({seq_field: change.seq} if change.seq else {})},
                                      cause=cause, push={"timeline": field_doc(entry)}, where=where)
            except StaleVersion:
                done = self.tickets.update(ticket_id, {}, cause=cause, push={"timeline": field_doc(entry)})
            applied += bool(done)
        return applied

    def merged_ids(self, main_id: str) -> list[str]:
        raise NotImplementedError

    def _set_view(self, ticket_id: str, changes: dict, *, cause: str, push: dict, where: dict) -> Applied:
        """A view change. One that sets the handling status moves the listing status with it (one
        write), unless the ticket is closed: its listing keeps it closed (a second try, without)."""
        if "status" in changes:
            try:
                return self.tickets.update(ticket_id, {**changes, "list_status": changes["status"]}, cause=cause,
                                           push=push, where={**where, "closed": {"$ne": True}})
            except StaleVersion:
                pass
        return self.tickets.update(ticket_id, changes, cause=cause, push=push, where=where)


FRONT_DESK_FIELDS = {"_id": 1, "number": 1, "type": 1, "category": 1, "district": 1, "address": 1, "content": 1,
                     "citizen": 1, "status": 1, "created_at": 1, "closed": 1, "merged_into": 1, "fingerprint": 1,
                     "lead_unit": 1, "channel": 1, "registered_by": 1}


# -- the duplicate check's keys (issues 12, 13) ------------------------------------------------------
#
# A ticket is a candidate for a new call by the same caller, the same place or a shared MinHash band
# (duplicates.py). Each such key keeps the ids of its newest tickets in one small document of its own
# (`duplicate_keys`), written once when a ticket is registered: a registration reads its keys by _id
# and the candidates by _id. The tickets themselves carry no index for it: the embedded server rewrites
# every index entry of a document on each update, and the twelve band entries, the caller's and the
# place's made every later change of a ticket pay for the duplicate check (measured, bench/README.md:
# 158 writes/s of a ticket with its indexes, 171/s with the band index alone, 248/s with four listing
# indexes); and the walk over those indexes took ~20 reads a registration.

DUPLICATE_KEEP = 200      # the newest tickets each key remembers: the largest pool (config/duplicates.yaml)
DUPLICATE_KEY_DAYS = 90   # a key no ticket has used for this long is dropped (TTL): the widest search
POOL_ROUNDS = 3           # reads of tickets for one pool at most (pool_of)
DUPLICATE_BACKFILL_DAYS = 30  # tickets stored before the keys existed: how far back they are added


def duplicate_ways(category: str | None, district: str | None, phone: str | None,
                   fingerprint: str | None) -> list[tuple[str, str]]:
    """The ways a ticket can be a candidate for a new call, as (way, key): the same caller (by a hash
    of the number: the key outlives no contact, see DUPLICATE_KEY_DAYS, and shows none), the same place
    (category and district), or one shared MinHash band each; none when the draft names none of these.
    Candidates are also recent, open and unmerged (`pick`, then the ticket itself)."""
    ways: list[tuple[str, str]] = []
    if phone:
        ways.append(("caller", "caller:" + hashlib.sha256(phone.encode()).hexdigest()[:32]))
    if category and district:
        ways.append(("place", f"place:{category}|{district}"))
    ways += [("band", f"band:{band}") for band in bands(fingerprint)]
    return ways


def way_limits(ways: list[tuple[str, str]], limit: int) -> list[int]:
    """How many of its newest candidates each way contributes to a pool of `limit`: the same caller and
    the same place all of it; the MinHash bands share it (a similar wording shares most bands, so a
    band each read up to twelve pools a registration: bench/pipeline.py's templated calls went through
    at 2.6 tickets/s)."""
    shared = sum(1 for way, _ in ways if way == "band")
    share = max(1, -(-limit // shared)) if shared else limit
    return [share if way == "band" else limit for way, _ in ways]


def key_entry(ticket_id: str, created_at: datetime) -> str:
    """A ticket on a key's list: its registration time (milliseconds, 12 hex digits: sorts as it reads)
    and id, as one string (a list of strings costs the embedded server less than half of a list of
    {at, id} documents to rewrite: 28 against 67 ms for a registration's 14 keys of 200)."""
    return f"{int(as_utc(created_at).timestamp() * 1000):012x}:{ticket_id}"


def entry_parts(entry: str) -> tuple[datetime, str]:
    millis, _, ticket_id = entry.partition(":")
    return datetime.fromtimestamp(int(millis, 16) / 1000, UTC), ticket_id


def remembered(entries: list[str], entry: str) -> list[str]:
    """A key's list with `entry` first, DUPLICATE_KEEP at most: what the store's `$push` does, for the
    fake and the backfill."""
    return [entry, *entries][:DUPLICATE_KEEP]


def pick(ways: list[tuple[str, str]], lists: dict[str, list[str]], since: datetime, limit: int,
         skip: Collection[str] = (), widen: int = 1) -> list[str]:
    """The ids each way contributes (its newest `way_limits` since `since`, `widen` times as many,
    leaving out `skip`), newest first, each once."""
    found: dict[str, datetime] = {}
    for (_, key), share in zip(ways, way_limits(ways, limit), strict=True):
        share = min(share * widen, DUPLICATE_KEEP)
        recent = sorted((entry_parts(e) for e in lists.get(key, [])), reverse=True)  # newest first
        # (replicas may interleave their pushes)
        recent = [(at, id_) for at, id_ in recent if id_ not in skip]
        taken: set[str] = set()
        for at, id_ in recent:
            if at < since or len(taken) >= share:
                break
            taken.add(id_)
            found[id_] = at
    return sorted(found, key=lambda i: (found[i], i), reverse=True)


def pool_of(ways: list[tuple[str, str]], lists: dict[str, list[str]], since: datetime, limit: int,
            fetch: Callable[[list[str]], dict[str, dict]]) -> list[dict]:
    """The newest open, unmerged tickets of `pick` (`fetch` reads tickets by id), newest first, at most
    `limit`. A closed or merged ticket gives its way's place to the next one: picked again without
    it and four times wider, up to POOL_ROUNDS reads of tickets (one when the newest are open, as
    they mostly are)."""
    docs: dict[str, dict] = {}
    left_out: set[str] = set()
    ids: list[str] = []
    for round_ in range(POOL_ROUNDS):
        ids = pick(ways, lists, since, limit, left_out, widen=4 ** round_)
        if missing := [i for i in ids if i not in docs]:
            docs.update(fetch(missing))
        not_candidates = {i for i in ids if i not in docs or not candidate(docs[i])}
        if not not_candidates:
            break
        left_out |= not_candidates
    return [docs[i] for i in ids if i not in left_out][:limit]


def candidate(doc: dict) -> bool:
    return doc.get("closed") is not True and doc.get("merged_into") is None


def ticket_query(filters: TicketFilters, cursor: str | None) -> dict:
    """The listing's MongoDB query; `cursor` continues after the last ticket of the previous page."""
    query: dict = {}
    for name in ("type", "district"):
        if getattr(filters, name) is not None:
            query[name] = getattr(filters, name)
    if filters.status == "closed":
        query["closed"] = True
    elif filters.status is not None:
        query["status"] = filters.status
        query["closed"] = {"$ne": True}
    if filters.overdue is not None:
        query["overdue"] = filters.overdue
    if filters.unit is not None:
        query["units"] = filters.unit
    if filters.category is not None:  # a category and everything under it
        code = filters.category
        query["$or"] = [{"category": code}, {"category": {"$gt": code + ".", "$lt": code + ".\uffff"}}]
    created = {}
    if filters.created_from is not None:
        created["$gte"] = filters.created_from
    if filters.created_to is not None:
        created["$lt"] = filters.created_to
    if created:
        query["created_at"] = created
    if cursor:
        at, last_id = decode_cursor(cursor)
        after = {"$or": [{"created_at": {"$lt": at}}, {"created_at": at, "_id": {"$lt": last_id}}]}
        query = {"$and": [query, after]} if query else after
    return query


def page(docs: list[dict], limit: int) -> tuple[list[Ticket], str | None]:
    """Up to `limit` of `docs` (fetched newest first, one more than `limit`) and the next page's cursor."""
    next_cursor = None
    if len(docs) > limit:
        docs = docs[:limit]
        next_cursor = encode_cursor(docs[-1]["created_at"], docs[-1]["_id"])
    return [from_doc(d) for d in docs], next_cursor


def encode_cursor(at: datetime, ticket_id: str) -> str:
    raw = json.dumps([iso(as_utc(at)), ticket_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        at, ticket_id = json.loads(base64.urlsafe_b64decode(padded))
        return parse_iso(at), str(ticket_id)
    except (ValueError, TypeError):
        raise ValidationFailed("bad cursor", errors={"cursor": ["not a cursor this API returned"]}) from None


# -- listings that do not grow with the archive (issue 13) ----------------------------------------------
#
# A listing is walked newest first one window of `created_at` at a time (mongo.newest_first), over the
# index whose equalities cover the most selective filters it names; what that index cannot say is
# checked on the documents the window returns. Each window is one query of the shape
# `{<the index's equalities>, created_at: {range}}`, which both the embedded server and MongoDB answer
# by reading that index range and nothing more, so a page costs about the same at any archive size.

LISTING_PATHS: tuple[tuple[str, tuple[str, ...]], ...] = (
    # index name, the fields it pins by equality (then created_at, newest first)
    ("listing_search", ("list_status", "district", "category_path")),  # a status + district + category search
    ("unit_newest", ("units",)),                                        # a unit's tickets
    ("listing_status", ("list_status",)),                               # a status queue (manual dispatch, ...)
    ("listing_overdue", ("overdue",)),                                  # overdue tickets (partial: only those)
    ("newest", ()),                                                     # everything
)
SELECTIVITY = {"units": 40, "list_status": 4, "district": 9, "category_path": 10, "overdue": 20}  # ~1 in n
LISTING_FIELDS = {"_id": 1, "created_at": 1, "type": 1, "district": 1, "status": 1, "closed": 1, "overdue": 1,
                  "units": 1, "category": 1}


def listing_plan(filters: TicketFilters) -> tuple[str, dict, TicketFilters]:
    """The index to walk, its equalities, and the filters left for `matches_filters`."""
    eq: dict[str, Any] = {}
    if filters.status is not None:
        eq["list_status"] = filters.status
    if filters.district is not None:
        eq["district"] = filters.district
    if filters.category is not None:
        eq["category_path"] = filters.category
    if filters.unit is not None:
        eq["units"] = filters.unit
    if filters.overdue is True:  # the partial index holds only overdue tickets
        eq["overdue"] = True

    def score(path: tuple[str, tuple[str, ...]]) -> int:
        n = 1
        for name in path[1]:
            n *= SELECTIVITY[name]
        return n
    usable = [p for p in LISTING_PATHS if all(name in eq for name in p[1])]
    name, pinned = max(usable, key=score)  # "newest" pins nothing: always usable
    left = {"status": "list_status", "district": "district", "category": "category_path", "unit": "units",
            "overdue": "overdue"}
    rest = replace(filters, created_from=None, created_to=None,
                   **{f: None for f, key in left.items() if key in pinned})
    return name, {key: eq[key] for key in pinned}, rest


def matches_filters(doc: dict, f: TicketFilters) -> bool:
    """`ticket_query`'s meaning, on a document (the filters no index of the walk pins)."""
    if f.type is not None and doc.get("type") != f.type:
        return False
    if f.district is not None and doc.get("district") != f.district:
        return False
    if f.status == "closed":
        if doc.get("closed") is not True:
            return False
    elif f.status is not None and (doc.get("status") != f.status or doc.get("closed") is True):
        return False
    if f.overdue is not None and doc.get("overdue") != f.overdue:
        return False
    if f.unit is not None and f.unit not in (doc.get("units") or ()):
        return False
    if f.category is not None:
        category = doc.get("category") or ""
        if category != f.category and not category.startswith(f.category + "."):
            return False
    return True


def has_filters(f: TicketFilters) -> bool:
    return any(getattr(f, name) is not None for name in ("status", "unit", "type", "category", "district", "overdue"))


# -- the MongoDB store -------------------------------------------------------------------------------

class NumberBlocks:
    """Hands out daily sequence numbers in blocks, so most tickets cost no counter write.

    Unique across any number of intake replicas (each block is one atomic $inc); a restarted
    replica leaves the rest of its block unused, so numbers can have gaps but never repeat.
    """

    def __init__(self, counters, block: int):
        self.counters = counters
        self.block = max(1, block)
        self._lock = threading.Lock()
        self._day: str | None = None
        self._next = 0
        self._end = -1

    def next(self, day_key: str) -> int:
        with self._lock:
            if day_key != self._day or self._next > self._end:
                end = increment(self.counters, day_key, by=self.block)
                self._day, self._end = day_key, end
                self._next = end - self.block + 1
            value = self._next
            self._next += 1
            return value


def looks_like_id(key: str) -> bool:
    """A ticket id is 32 hex digits (uuid4().hex); a number starts with its prefix's letters."""
    return len(key) == 32 and all(c in "0123456789abcdef" for c in key)


class IntakeStore(TicketWrites):

    def __init__(self, database, outbox, settings):
        self.db = database
        self.tickets = AggregateCollection(database.tickets, outbox)
        self.numbers = NumberBlocks(database.counters, settings.ticket_number_block)
        self.spans = SpanHints()

    def ensure_indexes(self) -> None:
        t = self.db.tickets
        t.create_index([("number", ASCENDING)], unique=True, name="number")
        t.create_index([("idempotency.key", ASCENDING)], unique=True, sparse=True, name="idempotency_key")
        # the listings (LISTING_PATHS): each walked newest first by created_at windows
        t.create_index([("created_at", DESCENDING), ("_id", DESCENDING)], name="newest")
        t.create_index([("units", ASCENDING), ("created_at", DESCENDING)], name="unit_newest")
        t.create_index([("list_status", ASCENDING), ("created_at", DESCENDING)], name="listing_status")
        t.create_index([("list_status", ASCENDING), ("district", ASCENDING), ("category_path", ASCENDING),
                        ("created_at", DESCENDING)], name="listing_search")
        t.create_index([("created_at", DESCENDING)], name="listing_overdue",
                       partialFilterExpression={"overdue": True})  # entries only for overdue tickets
        if "status_newest" in t.index_information():  # no query uses it (a status filter is list_status)
            t.drop_index("status_newest")
        self._backfill_listing_keys()
        # the front desk (issue 12): tickets merged into a main ticket; the duplicate keys
        t.create_index([("merged_into.id", ASCENDING)], name="merged_into", sparse=True)
        self.db.duplicate_keys.create_index([("used", ASCENDING)], name="unused",
                                            expireAfterSeconds=DUPLICATE_KEY_DAYS * 86400)
        self._backfill_duplicate_keys()
        for gone in ("caller_newest", "place_newest", "minhash_bands"):  # the duplicate check's, before its keys
            if gone in t.index_information():
                t.drop_index(gone)

    def _backfill_listing_keys(self) -> None:
        """Tickets stored before the listing keys existed get them, once (a marker in `counters`)."""
        marker = {"_id": "schema:listing_keys"}
        if self.db.counters.find_one(marker) is not None:
            return
        ops = []
        for d in self.db.tickets.find({"list_status": {"$exists": False}}, {"status": 1, "closed": 1, "category": 1}):
            keys = listing_keys(d.get("status") or "", bool(d.get("closed")), d.get("category") or "")
            ops.append(UpdateOne({"_id": d["_id"]}, {"$set": keys}))
            if len(ops) >= 1000:
                self.db.tickets.bulk_write(ops, ordered=False)
                ops = []
        if ops:
            self.db.tickets.bulk_write(ops, ordered=False)
        self.db.counters.update_one(marker, {"$set": {"done": True}}, upsert=True)

    def _backfill_duplicate_keys(self) -> None:
        """Tickets of the last DUPLICATE_BACKFILL_DAYS registered before the duplicate keys existed
        get onto them, once (a marker in `counters`): the lists built here, each written once."""
        marker = {"_id": "schema:duplicate_keys"}
        if self.db.counters.find_one(marker) is not None:
            return
        lists: dict[str, list[str]] = {}
        since = datetime.now(UTC) - timedelta(days=DUPLICATE_BACKFILL_DAYS)
        fields_ = {"created_at": 1, "category": 1, "district": 1, "citizen.phone": 1, "fingerprint": 1}
        for d in self.db.tickets.find({"created_at": {"$gte": since}}, fields_).sort([("created_at", ASCENDING)]):
            entry = key_entry(d["_id"], d["created_at"])
            for _, key in duplicate_ways(d.get("category"), d.get("district"), (d.get("citizen") or {}).get("phone"),
                                         d.get("fingerprint")):
                lists[key] = remembered(lists.get(key, []), entry)
        docs = [{"_id": key, "recent": recent, "used": entry_parts(recent[0])[0]} for key, recent in lists.items()]
        for start in range(0, len(docs), 1000):
            try:
                self.db.duplicate_keys.insert_many(docs[start:start + 1000], ordered=False)
            except BulkWriteError as exc:  # a key a registration made meanwhile keeps its own list
                if any(e.get("code") != 11000 for e in exc.details.get("writeErrors", [])):
                    raise
        self.db.counters.update_one(marker, {"$set": {"done": True}}, upsert=True)

    def ping(self) -> None:
        self.db.command("ping")

    def next_number(self, day_key: str) -> int:
        """The next sequence number of a day's counter (e.g. "AS20261127")."""
        return self.numbers.next(day_key)

    def _idempotency_clash(self, exc: Exception) -> bool:
        return isinstance(exc, DuplicateKeyError) and duplicate_on(exc, "idempotency.key")

    # -- reads
    def get(self, key: str) -> Ticket | None:
        """By id or by number (whichever the key looks like first: one read, not two)."""
        first, second = ("_id", "number") if looks_like_id(key) else ("number", "_id")
        doc = self.db.tickets.find_one({first: key}, HIDDEN) or self.db.tickets.find_one({second: key}, HIDDEN)
        return from_doc(doc) if doc else None

    def by_idempotency_key(self, key: str) -> Ticket | None:
        doc = self.db.tickets.find_one({"idempotency.key": key}, HIDDEN)
        return from_doc(doc) if doc else None

    def search(self, filters: TicketFilters, limit: int, cursor: str | None) -> tuple[list[Ticket], str | None]:
        """Newest first; `cursor` continues after the last ticket of the previous page. Walked one
        window of time at a time over the best listing index (`listing_plan`), so a page reads about
        a page of index entries whatever the archive holds."""
        before = decode_cursor(cursor) if cursor else None
        index, eq, rest = listing_plan(filters)
        residual = has_filters(rest)
        hint_key = (index, tuple(sorted(eq.items())), repr(rest))
        # a list not walked before starts from the typical width that filled a page of its family (the
        # same index, status and residual filters, any district, category or unit): a status's time
        # profile is the same across them, so the first window holds about a page (a few, or a few
        # windows, as their densities differ). From FIRST_SPAN the windows grow through the recent days
        # a status is rare in (closed, replied), and the one that reaches the dense part returns
        # density x width entries: five pages at 100,000 tickets, fifty at 1,000,000
        family = ("family", index, eq["list_status"], repr(rest)) if "list_status" in eq else None
        tickets = self.db.tickets

        def fetch(lo, hi, inclusive):
            window: dict[str, Any] = {}
            if lo is not None:
                window["$gte"] = lo
            if hi is not None:
                window["$lte" if inclusive else "$lt"] = hi
            query = {**eq, "created_at": window} if window else dict(eq)
            return tickets.find(query, LISTING_FIELDS)  # slim: a window may hold more than the page

        docs, span = newest_first(fetch, limit + 1, before=before, until=filters.created_to,
                                  since=filters.created_from, keep=(lambda d: matches_filters(d, rest)) if residual
                                  else None, span=self.spans.get(hint_key) or (self.spans.get(family) if family else None))
        if len(docs) > limit:  # full: the width that reached the page's last entry (newest_first's hint
            # assumes an even density over all it walked, and a status's is not: closed tickets are rare
            # in the last three weeks and dense behind them, so that hint fell short, and the next page
            # read a thin first window, grew it eightfold and got ten pages of entries)
            top = hi_bound(before, filters.created_to, datetime.now(UTC))
            last, quarter = as_utc(docs[limit]["created_at"]), as_utc(docs[limit - limit // 4]["created_at"])
            span = max(top - last + (quarter - last), timedelta(seconds=1))  # and a quarter page more, at
            # the density where the page ended
            if family is not None:  # the siblings' widths, averaged in proportion (geometric)
                typical = self.spans.get(family)
                self.spans.put(family, typical * math.sqrt(span / typical) if typical else span)
        self.spans.put(hint_key, span)
        if docs:  # the page's whole tickets, in its order (the one after it only says there is more)
            shown = [d["_id"] for d in docs[:limit]]
            whole = {d["_id"]: d for d in tickets.find({"_id": {"$in": shown}}, HIDDEN)}
            docs = [whole.get(d["_id"], d) for d in docs[:limit] if d["_id"] in whole] + docs[limit:]
        return page(docs, limit)

    # -- the front desk (issue 12)
    def _remember(self, ticket: Ticket, ways: list[tuple[str, str]]) -> None:
        # two statements, not one upsert per key: the embedded server commits (and fsyncs) each
        # statement on its own, and fourteen of them were most of a registration's store time
        entry, keys = key_entry(ticket.id, ticket.created_at), [key for _, key in ways]
        try:  # the keys no ticket had yet
            self.db.duplicate_keys.insert_many([{"_id": key, "recent": [entry], "used": ticket.created_at}
                                                for key in keys], ordered=False)
            return
        except BulkWriteError as exc:
            if any(e.get("code") != 11000 for e in exc.details.get("writeErrors", [])):
                raise
            existing = [keys[e["index"]] for e in exc.details["writeErrors"]]
        self.db.duplicate_keys.update_many(  # the others: the ticket first on their lists
            {"_id": {"$in": existing}},
            {"$push": {"recent": {"$each": [entry], "$position": 0, "$slice": DUPLICATE_KEEP}},
             "$max": {"used": ticket.created_at}})

    def duplicate_pool(self, category: str | None, district: str | None, phone: str | None,
                       fingerprint: str | None, since: datetime, limit: int) -> list[Ticket]:
        """Recent open tickets a call may repeat (duplicate_ways), newest first, at most `limit`: its
        keys in one read, their tickets in another (`pool_of`)."""
        ways = duplicate_ways(category, district, phone, fingerprint)
        if not ways:
            return []
        lists = {d["_id"]: d.get("recent") or []
                 for d in self.db.duplicate_keys.find({"_id": {"$in": [key for _, key in ways]}})}
        def fetch(ids: list[str]) -> dict[str, dict]:
            return {d["_id"]: d for d in self.db.tickets.find({"_id": {"$in": ids}}, FRONT_DESK_FIELDS)}
        return [from_doc({**d, "timeline": []}) for d in pool_of(ways, lists, since, limit, fetch)]

    def merged_ids(self, main_id: str) -> list[str]:
        return [d["_id"] for d in self.db.tickets.find({"merged_into.id": main_id}, {"_id": 1})]

    def merged_tickets(self, main_id: str) -> list[Ticket]:
        """The tickets merged into `main_id`, oldest first."""
        docs = self.db.tickets.find({"merged_into.id": main_id}, HIDDEN).sort([("created_at", ASCENDING)])
        return [from_doc(d) for d in docs]
