"""Escalation's MongoDB adapter: watches, supervision cases, verification tasks, accountability.

The only place where documents and the domain's dataclasses meet (`*_to_doc` / `*_from_doc`, also
used by the in-memory twin in fakes.py). The documents keep the layout they had before the typed
aggregates, so existing data reads unchanged; fields added since get their value from what the
document already says.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING

from hotline_common.messages import ActorRef
from hotline_common.mongo import BOOKKEEPING, HIDDEN, AggregateCollection, SpanHints, increment, newest_first
from hotline_common.timeutil import as_utc

from .domain import (
    AccountabilityRecord,
    Case,
    Order,
    Reminder,
    Reply,
    TicketRef,
    VerificationRecord,
    VerificationTask,
    Watch,
)

# -- documents <-> aggregates --------------------------------------------------------------------------


def _actor_doc(ref: ActorRef | None) -> dict | None:
    if ref is None:
        return None
    return {"user_id": ref.user_id, "role": ref.role, "unit_id": ref.unit_id}


def _actor(doc: dict | None) -> ActorRef | None:
    if doc is None:
        return None
    return ActorRef(user_id=doc["user_id"], role=doc["role"], unit_id=doc.get("unit_id"))


def _aware(value: datetime | None) -> datetime | None:
    return as_utc(value) if value is not None else None


def watch_to_doc(watch: Watch) -> dict:
    return {
        "_id": watch.ticket_id, "number": watch.number, "unit_id": watch.unit_id,
        "clock": [watch.dispatch_no, watch.round], "due_at": watch.due_at, "state": watch.state,
        "reminders": [{"n": r.n, "kind": r.kind, "at": r.at, "by": _actor_doc(r.by), "note": r.note,
                       "working_days_overdue": r.working_days_overdue, "overdue": r.overdue}
                      for r in watch.reminders],
        "working_days_overdue": watch.working_days_overdue, "escalated": watch.escalated,
        "event_seq": watch.event_seq, "deadline_seq": watch.deadline_seq,
    }


def watch_from_doc(doc: dict) -> Watch:
    due_at = as_utc(doc["due_at"])

    def reminder(r: dict) -> Reminder:
        at = as_utc(r["at"])
        # documents from before R13 counted only overdue reminders: an automatic one always was
        overdue = r.get("overdue", r["kind"] == "auto" or at >= due_at)
        return Reminder(n=r["n"], kind=r["kind"], at=at, by=_actor(r["by"]), note=r.get("note", ""),
                        working_days_overdue=r["working_days_overdue"], overdue=overdue)

    dispatch_no, round_no = doc["clock"]
    return Watch(ticket_id=doc["_id"], number=doc["number"], unit_id=doc["unit_id"], dispatch_no=dispatch_no,
                 round=round_no, due_at=due_at, state=doc["state"],
                 reminders=tuple(reminder(r) for r in doc["reminders"]),
                 working_days_overdue=doc["working_days_overdue"], escalated=doc["escalated"],
                 event_seq=doc["event_seq"], deadline_seq=doc.get("deadline_seq", 0), version=doc.get("version", 0))


def case_to_doc(case: Case) -> dict:
    doc = {
        "_id": case.case_id, "case_no": case.case_no, "ticket_id": case.ticket_id, "number": case.number,
        "unit_id": case.unit_id, "trigger": case.trigger, "trigger_label": case.trigger_label,
        "detail": case.detail, "opened_at": case.opened_at, "opened_by": _actor_doc(case.opened_by),
        "state": case.state,
        "orders": [{"n": o.n, "instructions": o.instructions, "working_days": o.working_days, "at": o.at,
                    "by": _actor_doc(o.by),
                    "replied": {"reply_no": o.replied.reply_no, "at": o.replied.at} if o.replied else None}
                   for o in case.orders],
        "conclusion": case.conclusion, "closed_at": case.closed_at, "event_seq": case.event_seq,
        "cause": case.cause,
    }
    if case.closed_by is not None:
        doc["closed_by"] = _actor_doc(case.closed_by)
    return doc


def case_from_doc(doc: dict) -> Case:
    def order(o: dict) -> Order:
        replied = o.get("replied")
        return Order(n=o["n"], instructions=o["instructions"], working_days=o["working_days"], at=as_utc(o["at"]),
                     by=_actor(o["by"]),
                     replied=Reply(reply_no=replied["reply_no"], at=as_utc(replied["at"])) if replied else None)

    return Case(case_id=doc["_id"], case_no=doc["case_no"], ticket_id=doc["ticket_id"], number=doc["number"],
                unit_id=doc.get("unit_id"), trigger=doc["trigger"], detail=doc["detail"],
                opened_at=as_utc(doc["opened_at"]), opened_by=_actor(doc["opened_by"]), state=doc["state"],
                orders=tuple(order(o) for o in doc["orders"]), conclusion=doc.get("conclusion"),
                closed_at=_aware(doc.get("closed_at")), closed_by=_actor(doc.get("closed_by")),
                event_seq=doc["event_seq"], cause=doc.get("cause"), version=doc.get("version", 0))


def task_to_doc(task: VerificationTask) -> dict:
    record = task.record
    return {
        "_id": task.task_id, "ticket_id": task.ticket_id, "number": task.number, "unit_id": task.unit_id,
        "reason": task.reason, "created_at": task.created_at, "state": task.state,
        "record": None if record is None else {
            "inspector": record.inspector, "inspected_at": record.inspected_at, "findings": record.findings,
            "responsibility": record.responsibility, "filed_by": _actor_doc(record.filed_by),
            "filed_at": record.filed_at},
    }


def task_from_doc(doc: dict) -> VerificationTask:
    r = doc.get("record")
    record = None if r is None else VerificationRecord(
        inspector=r["inspector"], inspected_at=as_utc(r["inspected_at"]), findings=r["findings"],
        responsibility=r["responsibility"], filed_by=_actor(r["filed_by"]), filed_at=as_utc(r["filed_at"]))
    return VerificationTask(task_id=doc["_id"], ticket_id=doc["ticket_id"], number=doc["number"],
                            unit_id=doc.get("unit_id"), reason=doc["reason"], created_at=as_utc(doc["created_at"]),
                            state=doc["state"], record=record, version=doc.get("version", 0))


def record_to_doc(record: AccountabilityRecord) -> dict:
    return {
        "_id": record.record_id, "kind": record.kind, "kind_label": record.kind_label, "unit_id": record.unit_id,
        "person": record.person, "ticket_id": record.ticket_id, "number": record.number,
        "case_id": record.case_id, "note": record.note, "recorded_at": record.recorded_at,
        "recorded_by": _actor_doc(record.recorded_by), "automatic": record.automatic,
        "request_hash": record.request_hash,
    }


def record_from_doc(doc: dict) -> AccountabilityRecord:
    return AccountabilityRecord(
        record_id=doc["_id"], kind=doc["kind"], unit_id=doc["unit_id"], person=doc.get("person"),
        ticket_id=doc.get("ticket_id"), number=doc.get("number"), case_id=doc.get("case_id"),
        note=doc.get("note", ""), recorded_at=as_utc(doc["recorded_at"]), recorded_by=_actor(doc["recorded_by"]),
        automatic=doc.get("automatic", False), request_hash=doc.get("request_hash"), version=doc.get("version", 0))


def changes(doc: dict) -> dict:
    """What a versioned update $sets: the document without its key and bookkeeping."""
    return {k: v for k, v in doc.items() if k not in BOOKKEEPING}


# -- the MongoDB store ---------------------------------------------------------------------------------

class EscalationStore:
    def __init__(self, database, outbox):
        self.db = database
        self.watches = AggregateCollection(database.watches, outbox)
        self.cases = AggregateCollection(database.cases, outbox)
        self.tasks = AggregateCollection(database.verifications, outbox)
        self.records = AggregateCollection(database.accountability, outbox)
        self.spans = SpanHints()

    def ensure_indexes(self) -> None:
        self.db.watches.create_index([("number", ASCENDING)], name="number")
        # the supervisor's lists (list_cases), each walked newest first by opened_at windows
        self.db.cases.create_index([("state", ASCENDING), ("opened_at", DESCENDING)], name="state_age")
        self.db.cases.create_index([("unit_id", ASCENDING), ("state", ASCENDING), ("opened_at", DESCENDING)],
                                   name="unit_state_age")
        self.db.cases.create_index([("unit_id", ASCENDING), ("opened_at", DESCENDING)], name="unit_age")
        self.db.cases.create_index([("opened_at", DESCENDING), ("_id", DESCENDING)], name="age")
        self.db.cases.create_index([("ticket_id", ASCENDING)], name="ticket")
        self.db.verifications.create_index([("ticket_id", ASCENDING), ("state", ASCENDING)], name="ticket_state")
        self.db.accountability.create_index([("unit_id", ASCENDING), ("recorded_at", DESCENDING)], name="unit")

    def ping(self) -> None:
        self.db.command("ping")

    # -- watches
    def watch(self, key: str) -> Watch | None:
        """A ticket's watch by the ticket's id or number."""
        doc = self.db.watches.find_one({"_id": key}, HIDDEN) or self.db.watches.find_one({"number": key}, HIDDEN)
        return watch_from_doc(doc) if doc else None

    def add_watch(self, watch: Watch, events: Iterable[Any] = (), *, cause: str) -> bool:
        return bool(self.watches.insert(watch_to_doc(watch), events, cause=cause))

    def save_watch(self, watch: Watch, events: Iterable[Any] = (), *, cause: str | None = None) -> bool:
        """Versioned: StaleVersion when the watch moved on since `watch.version`; False when `cause`
        was applied to it before."""
        return bool(self.watches.update(watch.ticket_id, changes(watch_to_doc(watch)), events,
                                        version=watch.version, cause=cause))

    # -- tickets
    def ticket(self, key: str) -> TicketRef | None:
        """A ticket escalation has seen (a deadline, a case or a verification task), by id or number."""
        watch = self.watch(key)
        if watch is not None:
            return watch.ticket
        doc = self.db.cases.find_one({"ticket_id": key}, HIDDEN) or \
            self.db.verifications.find_one({"ticket_id": key}, HIDDEN)
        if doc is None:
            return None
        return TicketRef(ticket_id=doc["ticket_id"], number=doc["number"], unit_id=doc.get("unit_id"))

    # -- cases
    def next_case_no(self, day: str) -> str:
        return f"DB{day}{increment(self.db.counters, f'case-{day}'):04d}"

    def add_case(self, case: Case, events: Iterable[Any] = ()) -> bool:
        """A deterministic id makes opening a case for one cause idempotent."""
        return bool(self.cases.insert(case_to_doc(case), events, cause=case.case_id))

    def case(self, key: str) -> Case | None:
        """A case by its id or its number (case_no)."""
        doc = self.db.cases.find_one({"$or": [{"_id": key}, {"case_no": key}]}, HIDDEN)
        return case_from_doc(doc) if doc else None

    def save_case(self, case: Case, events: Iterable[Any] = (), *, cause: str | None = None) -> bool:
        return bool(self.cases.update(case.case_id, changes(case_to_doc(case)), events, version=case.version,
                                      cause=cause))

    def cases_for(self, ticket_id: str, state: str | None = None) -> list[Case]:
        query = {"ticket_id": ticket_id} | ({"state": state} if state else {})
        return [case_from_doc(d) for d in self.db.cases.find(query, HIDDEN)]

    def list_cases(self, state: str | None, unit_id: str | None, limit: int) -> list[Case]:
        """Newest first. Walked one window of `opened_at` at a time over the index whose equalities
        are exactly the filters (state_age, unit_state_age, unit_age, age), so a page reads about a
        page of entries however many cases the years have closed (mongo.newest_first)."""
        eq: dict = {}
        if unit_id:
            eq["unit_id"] = unit_id
        if state:
            eq["state"] = state
        cases = self.db.cases

        def fetch(lo, hi, inclusive):
            window = ({"$gte": lo} if lo is not None else {}) | \
                ({"$lte" if inclusive else "$lt": hi} if hi is not None else {})
            return cases.find({**eq, "opened_at": window} if window else dict(eq), HIDDEN)
        key = ("cases", tuple(sorted(eq.items())))
        docs, span = newest_first(fetch, limit, field="opened_at", span=self.spans.get(key))
        self.spans.put(key, span)
        return [case_from_doc(d) for d in docs]

    # -- verification tasks
    def add_task(self, task: VerificationTask, events: Iterable[Any] = ()) -> bool:
        return bool(self.tasks.insert(task_to_doc(task), events, cause=task.task_id))

    def pending_task(self, ticket_id: str) -> VerificationTask | None:
        doc = self.db.verifications.find_one({"ticket_id": ticket_id, "state": "pending"}, HIDDEN)
        return task_from_doc(doc) if doc else None

    def tasks_for(self, ticket_id: str) -> list[VerificationTask]:
        return [task_from_doc(d) for d in self.db.verifications.find({"ticket_id": ticket_id}, HIDDEN)]

    def save_task(self, task: VerificationTask, events: Iterable[Any] = (), *, cause: str | None = None) -> bool:
        return bool(self.tasks.update(task.task_id, changes(task_to_doc(task)), events, version=task.version,
                                      cause=cause))

    # -- accountability
    def add_record(self, record: AccountabilityRecord, events: Iterable[Any] = ()) -> bool:
        return bool(self.records.insert(record_to_doc(record), events, cause=record.record_id))

    def record(self, record_id: str) -> AccountabilityRecord | None:
        doc = self.db.accountability.find_one({"_id": record_id}, HIDDEN)
        return record_from_doc(doc) if doc else None

    def list_records(self, unit_id: str | None, limit: int) -> list[AccountabilityRecord]:
        query = {"unit_id": unit_id} if unit_id else {}
        return [record_from_doc(d) for d in
                self.db.accountability.find(query, HIDDEN).sort("recorded_at", DESCENDING).limit(limit)]
