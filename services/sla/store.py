"""SLA's MongoDB adapter: one deadline clock per ticket, its timers fired in bulk through timer runs,
calendar overrides stored through the API.

The only place a clock document becomes a `domain.Clock` and back (`to_doc`/`from_doc`); the fake
(`fakes.FakeSlaStore`) uses the same two functions, so both stores hold the same documents.

Timer runs (`timer_runs`): the clocks whose next timer is at the same instant T, split into PARTS
partitions by ticket id, are prepared ahead of T into one run document per (T, partition): for each
clock, the version it was read at, the changes its firing makes (`domain.fire`, computed ahead) and the
events (staged in the outbox at preparation). At T one versioned write per run commits all of them
(status "fired", the event ids recorded: the outbox's sweeper publishes them iff that write happened);
the clocks' own documents catch up afterwards (`fold_runs`: one versioned bulk write, off the timer's
critical path). Until then a fired run is part of the clock's state: `get` folds it in first.

A writer that changes a clock first *holds* it in the run of the timer it read (`save(..., was=)`):
one write to the run document, serialised with the run's own versioned writes, so a run never fires a
clock version that a writer replaced, and a writer never replaces a version whose firing committed
without having folded it in (it gets StaleVersion and re-reads). Finding what to prepare reads the
due index over (prepared horizon, now + LEAD]; a writer whose new timer falls inside the horizon pulls
it back (`rearm`), and a periodic sweep over everything due catches what a crash left behind.
"""
from __future__ import annotations

import zlib
from datetime import date, datetime, timedelta
from typing import Any

from pymongo import ASCENDING
from pymongo.errors import DuplicateKeyError

from hotline_common.actors import Actor
from hotline_common.clock import utcnow
from hotline_common.errors import StaleVersion
from hotline_common.events import envelope
from hotline_common.mongo import BOOKKEEPING, HIDDEN, AggregateCollection, Applied, increment
from hotline_common.outbox import derived_event_id
from hotline_common.timeutil import as_utc

from .domain import Clock, Extension, ExtensionRow, Fired, PastRound

CALENDAR_META = "calendar"
HORIZON_META = "timer_horizon"
RUNS = "timer_runs"                # one small document per (instant, partition): members, holds, status
RUN_ENTRIES = "timer_run_entries"  # and one with what firing its members does (changes, events)
PARTS = 16                # runs per instant: ~600 clocks each at 10,000 due at once (documents well under 16 MB)
RESTAGE_SECONDS = 60.0    # a run prepared longer ago than this re-stages its events when it fires (the
                          # outbox sweeper drops staged events it cannot match after 120 s)
RUN_RETENTION = timedelta(days=7)  # folded runs keep their event ids this long for the outbox sweeper


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


# -- timer runs: shared by the store and the fake --------------------------------------------------------

def run_id(at: datetime, ticket_id: str) -> str:
    """The run a clock whose next timer is at `at` belongs to: the instant and a partition of ticket ids."""
    return f"{as_utc(at).strftime('%Y%m%dT%H%M%S.%f')}Z.{zlib.crc32(ticket_id.encode()) % PARTS:02d}"


def hold_tag(clock: Clock) -> str:
    return f"{clock.ticket_id}@{clock.version}"


def run_entry(before: Clock, after: Clock, events: list, *, service: str, at: datetime) -> dict:
    """A clock's part of a run: fired from `before` at `at`, the changes it makes and its events. Event
    ids derive from the version it fires from, as `save_many`'s do: the same firing, the same ids."""
    envelopes = [envelope(e, source_service=service, time=at,
                          event_id=derived_event_id(f"v{before.version}", before.ticket_id, i, e.full_type()))
                 for i, e in enumerate(events)]
    old, new = changes_of(before), changes_of(after)
    return {"v": before.version, "changes": {k: v for k, v in new.items() if old.get(k) != v}, "envelopes": envelopes,
            "behind": after.next_fire_at is not None and after.next_fire_at <= at}


def members(run: dict | None) -> dict[str, int]:
    """A run's members: ticket id -> the clock version it fires (all the run document keeps of them,
    so that its versioned writes stay cheap: the store rewrites and diffs the whole document)."""
    return (run or {}).get("keys") or {}


def needs_run(clocks: list[Clock], runs: dict[str, dict]) -> list[tuple[Clock, str | None]]:
    """Which of these clocks still need a run, and which run: (clock, run id), or (clock, None) when its
    run has fired without this version (fire it on its own). Left out: clocks their run has already
    (prepared, or fired and not folded in yet) and clocks a writer holds out of an open run."""
    out: list[tuple[Clock, str | None]] = []
    for clock in clocks:
        assert clock.next_fire_at is not None
        rid = run_id(clock.next_fire_at, clock.ticket_id)
        run = runs.get(rid)
        if run is None:
            out.append((clock, rid))
        elif members(run).get(clock.ticket_id) == clock.version:
            continue
        elif run["status"] == "open":
            if hold_tag(clock) not in (run.get("holds") or ()):
                out.append((clock, rid))
        else:
            out.append((clock, None))
    return out


class FireResult:
    """What committing the runs due did: clocks fired, their events' types, clocks still behind."""
    __slots__ = ("fired", "types", "behind")

    def __init__(self) -> None:
        self.fired = 0
        self.types: list[str] = []
        self.behind: list[str] = []

    def add(self, entries: dict) -> None:
        """The entries of a run's members, committed."""
        self.fired += len(entries)
        for tid, entry in entries.items():
            self.types.extend(e["type"] for e in entry["envelopes"])
            if entry["behind"]:
                self.behind.append(tid)


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
        self._prepared: dict[str, dict[str, dict]] = {}  # run id -> ticket id -> entry prepared here

    def ensure_indexes(self) -> None:
        c = self.db.clocks
        # finding what is due costs what is due: a range scan of this index, never of all open clocks
        c.create_index([("next_fire_at", ASCENDING)], name="due")
        c.create_index([("provisional_years", ASCENDING)], name="provisional")
        c.create_index([("number", ASCENDING)], name="number")
        c.create_index([("unit_id", ASCENDING), ("extensions.status", ASCENDING)], name="unit_extensions")
        runs = self.db[RUNS]
        runs.create_index([("status", ASCENDING), ("at", ASCENDING)], name="status_at")
        runs.create_index([("folded_at", ASCENDING)], name="retention",
                          expireAfterSeconds=int(RUN_RETENTION.total_seconds()))

    def ping(self) -> None:
        self.db.command("ping")

    # -- clocks
    def get(self, key: str, now: datetime | None = None) -> Clock | None:
        """By ticket id or ticket number; a timer run that fired it (and was not folded in yet) folded
        in first. `now`: look for such a run only when the clock's timer is due by then."""
        doc = self.db.clocks.find_one({"_id": key}, HIDDEN) or self.db.clocks.find_one({"number": key}, HIDDEN)
        if doc is None:
            return None
        clock = from_doc(doc)
        if clock.next_fire_at is not None and (now is None or clock.next_fire_at <= now):
            return self._fold_one(clock) or clock
        return clock

    def _fold_one(self, clock: Clock) -> Clock | None:
        """Apply a fired run's changes to this clock, if it fired this version; the clock after."""
        assert clock.next_fire_at is not None
        rid, tid = run_id(clock.next_fire_at, clock.ticket_id), clock.ticket_id
        run = self.db[RUNS].find_one({"_id": rid, "status": "fired"}, {f"keys.{tid}": 1})
        if members(run).get(tid) != clock.version:
            return None
        entry = ((self.db[RUN_ENTRIES].find_one({"_id": rid}, {f"entries.{tid}": 1}) or {}).get("entries") or {}).get(tid)
        if entry is None or entry["v"] != clock.version:
            return None
        self.clocks.apply_many_versioned([(tid, clock.version, entry["changes"])])
        doc = self.db.clocks.find_one({"_id": tid}, HIDDEN)
        return from_doc(doc) if doc else None

    def add(self, clock: Clock, events, cause: str) -> Applied:
        """A new clock; a repeat of its `cause` changes nothing (Applied(False))."""
        return self.clocks.insert(to_doc(clock), events, cause=cause)

    def save(self, clock: Clock, events, *, cause: str | None = None, was: Clock | None = None) -> Applied:
        """Write a changed clock, provided the document is still at `clock.version` (else StaleVersion).
        `was`: the clock as read; while it has a timer, it is held out of that timer's run first."""
        if was is not None and was.next_fire_at is not None:
            self._hold(was)
        return self.clocks.update(clock.ticket_id, changes_of(clock), events, version=clock.version, cause=cause)

    def _hold(self, was: Clock) -> None:
        """Take this version of the clock out of its timer's run before replacing it; StaleVersion when
        the run fired it already (folded in here: the caller re-reads and decides again)."""
        assert was.next_fire_at is not None
        rid, tid = run_id(was.next_fire_at, was.ticket_id), was.ticket_id
        try:
            self.db[RUNS].update_one(
                {"_id": rid, "status": "open"},
                {"$unset": {f"keys.{tid}": ""}, "$addToSet": {"holds": hold_tag(was)},
                 "$inc": {"version": 1}, "$setOnInsert": {"at": was.next_fire_at, "prepared_at": utcnow()}},
                upsert=True)
            return
        except DuplicateKeyError:
            pass  # the run is not open any more: it fired
        if self._fold_one(was) is not None:
            raise StaleVersion(f"clock {tid}: a timer fired", {"current_version": was.version + 1})

    def save_many(self, items: list[tuple[Clock, list]]) -> list[str]:
        """[(clock, events)], each versioned at `clock.version`: one bulk write; the ticket ids that applied."""
        return self.clocks.update_many_versioned(
            [(clock.ticket_id, clock.version, changes_of(clock), events) for clock, events in items])

    def due(self, now: datetime, limit: int) -> list[Clock]:
        """Clocks with a timer due at `now`, earliest first (as stored: a fired run not folded in yet
        leaves its clocks here until `fold_runs`)."""
        docs = self.db.clocks.find({"next_fire_at": {"$lte": now}}, HIDDEN).sort("next_fire_at", ASCENDING).limit(limit)
        return [from_doc(d) for d in docs]

    # -- timer runs
    def pending(self, after: datetime | None, until: datetime) -> list[tuple[Clock, str | None]]:
        """Clocks whose next timer is in (after, until] and that no run holds yet, earliest first, each
        with the run to prepare it in; None when that run fired without it (a writer held it, or it
        came late): fire that clock on its own."""
        query: dict = {"$lte": until} if after is None else {"$gt": after, "$lte": until}
        return self.placed([from_doc(d) for d in self.db.clocks.find({"next_fire_at": query}, HIDDEN)
                            .sort("next_fire_at", ASCENDING)])

    def placed(self, clocks: list[Clock]) -> list[tuple[Clock, str | None]]:
        """`needs_run` with the runs these clocks' timers belong to read from the store."""
        clocks = [c for c in clocks if c.next_fire_at is not None]
        ids = sorted({run_id(c.next_fire_at, c.ticket_id) for c in clocks if c.next_fire_at is not None})
        runs: dict[str, dict] = {}
        for start in range(0, len(ids), 200):  # small `$in` lists: the embedded server's `$in` is O(n) per document
            for run in self.db[RUNS].find({"_id": {"$in": ids[start:start + 200]}},
                                          {"status": 1, "keys": 1, "holds": 1}):
                runs[run["_id"]] = run
        return needs_run(clocks, runs)

    def prepare(self, entries: list[tuple[str, datetime, Clock, Clock, list]], now: datetime) -> list[Clock]:
        """Put clocks into their runs: [(run id, instant, clock as read, clock after firing, events)],
        their events staged on the way. Returns the clocks whose run fired meanwhile without them (fire
        them on their own); a clock a writer holds meanwhile is left out (its next version comes next)."""
        service = getattr(self.clocks.outbox, "service", "sla")
        by_run: dict[str, list] = {}
        for rid, at, before, after, events in entries:
            by_run.setdefault(rid, []).append((at, before, run_entry(before, after, events, service=service,
                                                                     at=max(at, now))))
        late: list[Clock] = []
        for rid, items in by_run.items():
            late.extend(self._put(rid, items))
        return late

    def _put(self, rid: str, items: list[tuple[datetime, Clock, dict]]) -> list[Clock]:
        """Add these clocks to run `rid` (versioned, as long as it is open). Only what the run does not
        have yet is staged: staging again what another replica's run fired and its relay already sent
        would send it twice."""
        runs, staged = self.db[RUNS], set[str]()
        for _ in range(20):
            run = runs.find_one({"_id": rid}, {"version": 1, "status": 1, "keys": 1, "holds": 1}) or {}
            keys, holds = run.get("keys") or {}, set(run.get("holds") or ())
            todo = [(b, e) for _, b, e in items if keys.get(b.ticket_id) != b.version]
            if run and run["status"] != "open":  # fired meanwhile: the rest are late, fired on their own
                self._discard([e for b, e in todo if b.ticket_id in staged])
                return [b for b, _ in todo]
            self._discard([e for b, e in todo if hold_tag(b) in holds and b.ticket_id in staged])
            todo = [(b, e) for b, e in todo if hold_tag(b) not in holds]
            if not todo:
                return []
            fresh = [(b, e) for b, e in todo if b.ticket_id not in staged]
            if fresh:  # first the events and what firing does, then the members (a member has both)
                self.clocks.outbox.stage_many([(RUNS, rid, e["envelopes"]) for _, e in fresh])
                self.db[RUN_ENTRIES].update_one({"_id": rid}, {"$set": {f"entries.{b.ticket_id}": e for b, e in fresh}},
                                                upsert=True)
                staged.update(b.ticket_id for b, _ in fresh)
            if not run:
                try:
                    runs.insert_one({"_id": rid, "at": items[0][0], "status": "open", "version": 1,
                                     "prepared_at": utcnow(), "holds": [],
                                     "keys": {b.ticket_id: b.version for b, _ in todo}})
                    self._remember(rid, todo)
                    return []
                except DuplicateKeyError:
                    continue
            if runs.update_one({"_id": rid, "version": run["version"], "status": "open"},
                               {"$set": {f"keys.{b.ticket_id}": b.version for b, _ in todo},
                                "$inc": {"version": 1}}).matched_count:
                self._remember(rid, todo)
                return []
        raise StaleVersion(f"timer run {rid} kept changing")

    def _remember(self, rid: str, items: list[tuple[Clock, dict]]) -> None:
        """What firing these members does, for when this replica fires the run (else it is read back)."""
        self._prepared.setdefault(rid, {}).update({b.ticket_id: e for b, e in items})

    def _discard(self, entries: list[dict]) -> None:
        self.clocks.outbox.discard([env for e in entries for env in e["envelopes"]])

    def fire_runs(self, now: datetime) -> FireResult:
        """Commit every run due by `now`: one versioned write of its small document each, recording the
        event ids (what the outbox's sweeper checks: they are published iff this write happened), then
        the events to the relay."""
        result = FireResult()
        runs = self.db[RUNS]
        for run in list(runs.find({"status": "open", "at": {"$lte": now}}, {"holds": 0})):
            for _ in range(20):
                entries = self._entries(run)
                ids = [env["id"] for entry in entries.values() for env in entry["envelopes"]]
                done = runs.update_one({"_id": run["_id"], "version": run["version"], "status": "open"},
                                       {"$set": {"status": "fired", "fired_at": now, "event_ids": ids,
                                                 "committed_at": utcnow()},   # its events were staged ahead
                                        "$inc": {"version": 1}})
                if done.matched_count:
                    self._relay(run, entries)
                    result.add(entries)
                    break
                run = runs.find_one({"_id": run["_id"]}, {"holds": 0})
                if run is None or run["status"] != "open":
                    break
        return result

    def _entries(self, run: dict) -> dict[str, dict]:
        """The entries of the run's members: as prepared here, else (another replica prepared some)
        read back."""
        keys, prepared = members(run), self._prepared.get(run["_id"], {})
        if any(prepared.get(tid, {}).get("v") != v for tid, v in keys.items()):
            prepared = (self.db[RUN_ENTRIES].find_one({"_id": run["_id"]}) or {}).get("entries") or {}
        return {tid: prepared[tid] for tid, v in keys.items() if prepared.get(tid, {}).get("v") == v}

    def _relay(self, run: dict, entries: dict[str, dict]) -> None:
        self._prepared.pop(run["_id"], None)
        for rid in [r for r in self._prepared if r < run["_id"][:23]]:  # runs of past instants another replica fired
            del self._prepared[rid]
        envelopes = [env for entry in entries.values() for env in entry["envelopes"]]
        if (utcnow() - as_utc(run["prepared_at"])).total_seconds() > RESTAGE_SECONDS:
            self.clocks.outbox.stage_many([(RUNS, run["_id"], envelopes)])  # the sweeper may have dropped them
        self.clocks.outbox.committed(RUNS, run["_id"], envelopes)

    def fold_runs(self, limit: int = 20_000) -> int:
        """Bring the clocks of fired runs up to date (one multi-document write per group of clocks the
        firing changed alike); returns how many clocks that was, stopping after the run that reaches
        `limit`. A clock a writer moved on already had its firing folded in."""
        folded, soonest = 0, None
        for run in list(self.db[RUNS].find({"status": "fired"}, {"keys": 1})):
            keys = run.get("keys") or {}
            entries = (self.db[RUN_ENTRIES].find_one({"_id": run["_id"]}) or {}).get("entries") or {}
            items = [(tid, e["v"], e["changes"]) for tid, e in entries.items() if keys.get(tid) == e["v"]]
            self.clocks.apply_many_versioned(items)
            for _, _, changes in items:
                after = changes.get("next_fire_at")
                if after is not None and (soonest is None or after < soonest):
                    soonest = after
            self.db[RUNS].update_one({"_id": run["_id"], "status": "fired"},
                                     {"$set": {"status": "folded", "folded_at": utcnow()}})
            self.db[RUN_ENTRIES].delete_one({"_id": run["_id"]})
            folded += len(keys)
            if folded >= limit:
                break
        if soonest is not None:
            self.rearm(as_utc(soonest))  # a next timer the horizon passed while it was being folded
        return folded

    def fold(self, ticket_ids: list[str]) -> list[Clock]:
        """These clocks with their fired runs folded in (clocks a run left behind: fire them on)."""
        out = []
        for tid in ticket_ids:
            clock = self.get(tid)
            if clock is not None:
                out.append(clock)
        return out

    def prepared_through(self) -> datetime | None:
        doc = self.db.meta.find_one({"_id": HORIZON_META})
        return as_utc(doc["through"]) if doc and doc.get("through") else None

    def advance_horizon(self, seen: datetime | None, to: datetime) -> bool:
        """Prepared through `to`, unless the horizon moved since it was read as `seen` (a writer pulled
        it back for a new timer inside it: the next round covers that)."""
        if seen is None:
            try:
                self.db.meta.update_one({"_id": HORIZON_META, "through": None}, {"$set": {"through": to}}, upsert=True)
                return True
            except DuplicateKeyError:
                return False
        return bool(self.db.meta.update_one({"_id": HORIZON_META, "through": seen},
                                            {"$set": {"through": to}}).matched_count)

    def rearm(self, at: datetime) -> None:
        """A timer at `at` was written inside the prepared horizon: pull the horizon back before it."""
        self.db.meta.update_one({"_id": HORIZON_META, "through": {"$gte": at}},
                                {"$set": {"through": at - timedelta(microseconds=1)}})

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
