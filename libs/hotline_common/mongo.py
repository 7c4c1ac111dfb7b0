"""MongoDB access through pymongo only, and the versioned-aggregate collection every store uses.

An aggregate document records the ids of the events its changes caused (`event_ids`, which the
outbox relay checks; see outbox.py) and of the last events applied to it (`inbox`). A state change,
the ids of its events and the id of the event that caused it are written in one single-document
write: atomic on any MongoDB, no transaction needed.
"""
from __future__ import annotations

import itertools
import threading
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import bson
from pymongo import InsertOne, MongoClient, ReturnDocument, UpdateOne
from pymongo.collection import Collection
from pymongo.errors import DuplicateKeyError

from .batching import GroupCommit
from .errors import NotFound, StaleVersion, TransientError
from .outbox import derived_event_id  # noqa: F401  (re-exported for fakes)
from .settings import Settings
from .timeutil import as_utc

_clients: dict[str, MongoClient] = {}
_lock = threading.Lock()

INBOX_KEEP = 64    # applied event ids remembered per aggregate; redeliveries come soon after the original
EVENTS_KEEP = 100  # emitted event ids kept per aggregate; the sweeper looks only at recent ones
WRITES_KEEP = 16   # tokens of the last batched writes, to tell which of a batch applied
HIDDEN = {"inbox": 0, "event_ids": 0, "writes": 0}   # bookkeeping no reader needs
BOOKKEEPING = ("_id", "version", "inbox", "event_ids", "writes")  # never $set from a loaded document


def client(uri: str, write_concern: str | None = None) -> MongoClient:
    """One client per process and URI (pymongo pools connections and is thread-safe).

    Writes are acknowledged by a majority of the replica set (MONGO_WRITE_CONCERN, default
    "majority"; on a replica set with the default writeConcernMajorityJournalDefault that also means
    journaled), unless the URI names its own `w=` (production's does: `w=majority&journal=true`).
    An empty MONGO_WRITE_CONCERN leaves the driver's default (w=1). The embedded server accepts
    w=majority and, run with --sync-on-commit (tools/stack.py), fsyncs each commit anyway."""
    if write_concern is None:
        write_concern = Settings.from_env().mongo_write_concern
    key = f"{uri}#{write_concern}"
    with _lock:
        if key not in _clients:
            options = {}
            if write_concern and not _uri_sets_write_concern(uri):
                options["w"] = int(write_concern) if write_concern.isdigit() else write_concern
            # retryable writes stay pymongo's default (on); the URI may turn them off, as the
            # embedded server's URI does (its retryable-write log costs O(n) per write)
            _clients[key] = MongoClient(uri, tz_aware=True, serverSelectionTimeoutMS=5000,
                                        connectTimeoutMS=5000, **options)
        return _clients[key]


def _uri_sets_write_concern(uri: str) -> bool:
    query = uri.partition("?")[2]
    return any(part.partition("=")[0].lower() == "w" for part in query.split("&") if part)


def duplicate_on(exc: DuplicateKeyError, field: str) -> bool:
    details = exc.details or {}
    pattern = details.get("keyPattern") or {}
    if pattern:
        return field in pattern
    return f"{field}_" in str(details.get("errmsg", exc)) or f"index: {field}" in str(exc)


class Applied:
    """Result of an idempotent write: `applied` is False when the event had been applied before."""
    __slots__ = ("applied",)

    def __init__(self, applied: bool):
        self.applied = applied

    def __bool__(self):
        return self.applied


class AggregateCollection:
    """Versioned documents whose writes carry their events through the outbox, applied once."""

    def __init__(self, collection: Collection, outbox):
        self.collection = collection
        self.outbox = outbox  # hotline_common.outbox.Outbox
        self.group = GroupCommit(collection)

    @property
    def name(self) -> str:
        return self.collection.name

    def get(self, key) -> dict | None:
        return self.collection.find_one({"_id": key}, HIDDEN)

    def insert(self, doc: dict, events: Iterable = (), *, cause: str | None = None) -> Applied:
        """Create an aggregate; a duplicate `_id` means the causing event was applied already."""
        envelopes = self.outbox.wrap(events, cause=cause, key=doc["_id"])
        self.outbox.stage(self.name, doc["_id"], envelopes)
        full = {**doc, "version": 1, "event_ids": [e["id"] for e in envelopes],
                "inbox": [cause] if cause else []}
        outcome = self.group.write(InsertOne(full))
        if outcome.error is not None:
            exc = DuplicateKeyError(outcome.error.get("errmsg", "write error"), outcome.error.get("code"),
                                    outcome.error)
            if outcome.error.get("code") == 11000 and cause is not None and self._created_by(doc["_id"], cause):
                # the same event created this document before: whichever unique index the store
                # reported (the _id or another), it is already applied. Its events were published
                # then, under the same derived ids, so nothing of ours is discarded that matters.
                self.outbox.discard([e for e in envelopes if e["id"] not in self._event_ids(doc["_id"])])
                return Applied(False)
            self.outbox.discard(envelopes)
            raise exc
        self.outbox.committed(self.name, doc["_id"], envelopes)
        return Applied(True)

    def update(self, key, changes: dict, events: Iterable = (), *, version: int | None = None,
               cause: str | None = None, push: dict | None = None, unset: Iterable[str] = (),
               where: dict | None = None) -> Applied:
        """Apply `changes` ($set) to one aggregate, with its events, atomically.

        `version`: optimistic concurrency, StaleVersion when the document moved on.
        `cause`: the id of the event being applied; a repeat is skipped (Applied(False)).
        `where`: further conditions; when they fail the update raises StaleVersion.
        """
        envelopes = self.outbox.wrap(events, cause=cause, key=key)
        self.outbox.stage(self.name, key, envelopes)
        query: dict = {**(where or {}), "_id": key}
        if version is not None:
            query["version"] = version
        if cause is not None:
            query["inbox"] = {"$ne": cause}
        update: dict = {"$inc": {"version": 1}}
        if changes:
            update["$set"] = changes
        pushes = dict(push or {})
        if envelopes:
            pushes["event_ids"] = {"$each": [e["id"] for e in envelopes], "$slice": -EVENTS_KEEP}
        if cause is not None:
            pushes["inbox"] = {"$each": [cause], "$slice": -INBOX_KEEP}
        if pushes:
            update["$push"] = pushes
        if unset:
            update["$unset"] = {f: "" for f in unset}
        if cause is not None and version is None:
            # idempotent (the inbox guards it): share a bulk write with concurrent writers. A write
            # token tells afterwards whether this write applied when the batch as a whole had a miss.
            token = uuid.uuid4().hex[:12]
            batched = {**update, "$push": {**update.get("$push", {}),
                                           "writes": {"$each": [token], "$slice": -WRITES_KEEP}}}
            outcome = self.group.write(UpdateOne(query, batched))
            if outcome.error is None and (outcome.all_updates_matched or self._wrote(key, token)):
                self.outbox.committed(self.name, key, envelopes)
                return Applied(True)
        result = self.collection.update_one(query, update)
        if result.matched_count:
            self.outbox.committed(self.name, key, envelopes)
            return Applied(True)
        current = self.collection.find_one({"_id": key}, {"version": 1, "inbox": 1, "event_ids": 1})
        recorded = set((current or {}).get("event_ids", []))
        # never discard a staged event the aggregate records: with ids derived from the cause, an
        # earlier delivery's committed events have the same ids and may still wait for the relay
        self.outbox.discard([e for e in envelopes if e["id"] not in recorded])
        if current is None:
            raise NotFound(f"{self.name} {key} not found")
        if cause is not None and cause in current.get("inbox", []):
            return Applied(False)
        raise StaleVersion(f"{self.name} {key} changed (now at version {current['version']})",
                           {"current_version": current["version"]})

    def _created_by(self, key, cause: str) -> bool:
        """A document inserted in reaction to `cause` has an `_id` derived from that event (the
        ticket's id, a case id naming its cause), so if it exists, this reaction happened."""
        return self.collection.count_documents({"_id": key}) > 0

    def _event_ids(self, key) -> set:
        doc = self.collection.find_one({"_id": key}, {"event_ids": 1}) or {}
        return set(doc.get("event_ids", []))

    def _wrote(self, key, token: str) -> bool:
        return self.collection.count_documents({"_id": key, "writes": token}) > 0

    def update_many_versioned(self, items: list[tuple]) -> list:
        """Many versioned changes in one bulk write: [(key, version, changes, events), ...].

        Returns the keys whose change applied; a key whose version moved on (another replica got
        there first) is skipped and its events are never published. For timers: one command fires
        thousands of clocks.
        """
        # the version a change starts from is its cause: a firing repeated after a crash gets the same ids
        staged = [(key, version, changes, self.outbox.wrap(events, cause=f"v{version}", key=key))
                  for key, version, changes, events in items]
        if not staged:
            return []
        self.outbox.stage_many([(self.name, key, envs) for key, _, _, envs in staged])
        token = uuid.uuid4().hex[:12]  # tells this writer's changes from an identical one by another replica
        ops = []
        for key, version, changes, envs in staged:
            update = {"$inc": {"version": 1}, "$set": changes,
                      "$push": {"writes": {"$each": [token], "$slice": -WRITES_KEEP}}}
            if envs:
                update["$push"]["event_ids"] = {"$each": [e["id"] for e in envs], "$slice": -EVENTS_KEEP}
            ops.append(UpdateOne({"_id": key, "version": version}, update))
        result = self.collection.bulk_write(ops, ordered=False)
        if result.matched_count == len(ops):
            applied = {key for key, *_ in staged}
        else:
            applied = {doc["_id"] for doc in self.collection.find(
                {"_id": {"$in": [k for k, *_ in staged]}, "writes": token}, {"_id": 1})}
        for key, _, _, envs in staged:
            if key in applied:
                self.outbox.committed(self.name, key, envs)
            else:
                self.outbox.discard(envs)
        return [key for key, *_ in staged if key in applied]

    def apply_many_versioned(self, items: list[tuple], chunk: int = 200) -> int:
        """Changes without events, each applied only if its document is still at `version`:
        [(key, version, changes), ...]. Returns how many applied; a key whose version moved on is
        skipped (whoever moved it had these changes already). Items with the same version and the same
        changes share one `update_many` per `chunk` keys (a multi-document write costs the store far
        less per document than a bulk of single updates); small `$in` lists, because the embedded
        server checks a `$in` list once per document. For folding state committed elsewhere (sla's
        timer runs), where many documents get the same changes."""
        groups: dict[tuple, tuple[int, dict, list]] = {}
        for key, version, changes in items:
            group = groups.setdefault((version, bson.encode(changes)), (version, changes, []))
            group[2].append(key)
        applied = 0
        for version, changes, keys in groups.values():
            for start in range(0, len(keys), chunk):
                applied += self.collection.update_many(
                    {"_id": {"$in": keys[start:start + chunk]}, "version": version},
                    {"$set": changes, "$inc": {"version": 1}}).matched_count
        return applied

def retrying(command, attempts: int = 5):
    """Run a load-decide-save `command` again when another writer moved the aggregate in between.

    For commands whose caller sent no If-Match: the decision is re-made on the fresh state (and may
    then be refused by the rules), instead of answering 412 for a race the caller cannot see."""
    for attempt in range(attempts):
        try:
            return command()
        except StaleVersion:
            if attempt == attempts - 1:
                raise


def increment(collection, key: str, field: str = "n", by: int = 1) -> int:
    """Atomically add to a counter document and return the new value.

    The counter is created apart (an idempotent upsert) rather than by an upserting
    find_one_and_update, whose racing first calls can fail or, on the embedded server, apply and
    return nothing: that would lose or skip a number."""
    for _ in range(5):
        doc = collection.find_one_and_update({"_id": key}, {"$inc": {field: by}},
                                             return_document=ReturnDocument.AFTER)
        if doc is not None:
            return doc[field]
        try:
            collection.update_one({"_id": key}, {"$setOnInsert": {field: 0}}, upsert=True)
        except DuplicateKeyError:
            pass  # another writer created it first
    raise TransientError(f"could not increment counter {key}")


# -- reads that do not grow with the archive ----------------------------------------------------------

ARCHIVE_FLOOR = datetime(2000, 1, 1, tzinfo=UTC)  # below this, one last open-ended window
FIRST_SPAN = timedelta(minutes=15)
MAX_SPAN = timedelta(days=3660)


def newest_first(fetch: Callable[[datetime | None, datetime | None, bool], Iterable[dict]], want: int, *,
                 field: str = "created_at", before: tuple[datetime, Any] | None = None,
                 until: datetime | None = None, since: datetime | None = None,
                 keep: Callable[[dict], bool] | None = None, span: timedelta | None = None,
                 now: datetime | None = None) -> tuple[list[dict], timedelta]:
    """Up to `want` documents, newest first by (`field`, `_id`), read one time window at a time.

    A query bounded only by `limit` costs the whole matching archive on a server that reads every
    matching index entry before it applies the limit (the embedded one does). This walks windows of
    `field` instead, newest first, each one an index range the server reads and nothing more, until
    `want` documents are found or `since` (or the archive's floor) is reached. `fetch(lo, hi,
    hi_inclusive)` returns the documents with lo <= field < hi (<= hi when inclusive; None: no
    bound), in any order: one query of the shape `{<equalities of an index>, field: {range}}`.

    `before` = (instant, id): only what sorts after that document (a page's cursor). `until`: an
    exclusive upper bound; `keep`: what the index cannot say (applied here). `span`: the first
    window's width (a hint: the width that filled the last page). Each window after an empty or thin
    one is wider, by how many of the wanted documents it found, so a sparse list costs a few more
    queries, never a scan of everything. Returns the documents and the width that would have filled
    the page at the density found (a hint for the next page).
    """
    now = now or datetime.now(UTC)
    span = span or FIRST_SPAN
    hi, inclusive = None, False
    if until is not None:
        hi = as_utc(until)
    if before is not None:
        at = as_utc(before[0])
        if hi is None or at < hi:
            hi, inclusive = at, True
    floor = as_utc(since) if since is not None else None
    top = hi if hi is not None else now
    found: list[dict] = []
    reached = top
    empty = 0  # windows in a row that found nothing: the next ones grow faster
    while True:
        lo: datetime | None = max(top - span, floor) if floor is not None else top - span
        if floor is None and lo is not None and lo <= ARCHIVE_FLOOR:
            lo = None  # the last window: everything older
        got = 0
        for doc in fetch(lo, hi, inclusive):
            if before is not None and not _sorts_before(doc, field, before):
                continue
            if keep is not None and not keep(doc):
                continue
            found.append(doc)
            got += 1
        reached = lo if lo is not None else ARCHIVE_FLOOR
        need = want - len(found)
        if need <= 0 or lo is None or (floor is not None and lo <= floor):
            break
        empty = empty + 1 if got == 0 else 0
        factor = 8.0 * 2 ** min(empty - 1, 2) if got == 0 else min(8.0, max(1.0, 1.25 * need / got))
        hi, inclusive, top = lo, False, lo
        span = min(span * factor, MAX_SPAN)
    found.sort(key=lambda d: (as_utc(d[field]), d["_id"]), reverse=True)
    covered = max((hi_bound(before, until, now) - reached), timedelta(seconds=1))
    hint = covered * want / len(found) if found else covered
    return found[:want], min(max(hint, timedelta(seconds=1)), MAX_SPAN)


def hi_bound(before, until, now) -> datetime:
    top = as_utc(until) if until is not None else now
    if before is not None and as_utc(before[0]) < top:
        top = as_utc(before[0])
    return top


def _sorts_before(doc: dict, field: str, cursor: tuple[datetime, Any]) -> bool:
    at, cut = as_utc(doc[field]), as_utc(cursor[0])
    return at < cut or (at == cut and doc["_id"] < cursor[1])


class SpanHints:
    """The window width that filled the last page of each list (per index and its equalities), so
    the next request starts near the right width. Bounded; per process; only a hint (a list not seen
    before starts narrow: another list's width may be far too wide for it)."""

    def __init__(self, size: int = 4096):
        self.size = size
        self._hints: dict = {}

    def get(self, key) -> timedelta | None:
        return self._hints.get(key)

    def put(self, key, span: timedelta) -> None:
        self._hints.pop(key, None)              # the newest at the end: the oldest go first when full
        if len(self._hints) >= self.size:
            for old in list(itertools.islice(self._hints, self.size // 4)):
                del self._hints[old]
        self._hints[key] = span
