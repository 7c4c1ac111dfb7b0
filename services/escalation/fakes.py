"""The in-memory twin of `store.EscalationStore` for fast tests: the same public methods over
`hotline_common.testing.MemoryAggregates` (the same documents, through the same conversions);
tests/contract/test_escalation_store.py runs one suite against both."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from hotline_common.messages import ActorRef, Event
from hotline_common.testing import MemoryAggregates
from services.routing.events import AssignmentState, LeadUnit

from .domain import AccountabilityRecord, Case, TicketRef, VerificationTask, Watch
from .store import (
    case_from_doc,
    case_to_doc,
    changes,
    record_from_doc,
    record_to_doc,
    task_from_doc,
    task_to_doc,
    watch_from_doc,
    watch_to_doc,
)

E = TypeVar("E", bound=Event)


class MemoryEscalationStore:
    def __init__(self, outbox):
        self.watches = MemoryAggregates("watches", outbox)
        self.cases = MemoryAggregates("cases", outbox)
        self.tasks = MemoryAggregates("verifications", outbox)
        self.records = MemoryAggregates("accountability", outbox)
        self.counters: dict[str, int] = {}

    def ensure_indexes(self) -> None:
        pass

    def ping(self) -> None:
        pass

    # -- watches
    def watch(self, key: str) -> Watch | None:
        doc = self.watches.get(key) or self.watches.find_one({"number": key})
        return watch_from_doc(doc) if doc else None

    def add_watch(self, watch: Watch, events: Iterable[Any] = (), *, cause: str) -> bool:
        return bool(self.watches.insert(watch_to_doc(watch), events, cause=cause))

    def save_watch(self, watch: Watch, events: Iterable[Any] = (), *, cause: str | None = None) -> bool:
        return bool(self.watches.update(watch.ticket_id, changes(watch_to_doc(watch)), events,
                                        version=watch.version, cause=cause))

    # -- tickets
    def ticket(self, key: str) -> TicketRef | None:
        watch = self.watch(key)
        if watch is not None:
            return watch.ticket
        doc = self.cases.find_one({"ticket_id": key}) or self.tasks.find_one({"ticket_id": key})
        if doc is None:
            return None
        return TicketRef(ticket_id=doc["ticket_id"], number=doc["number"], unit_id=doc.get("unit_id"))

    # -- cases
    def next_case_no(self, day: str) -> str:
        key = f"case-{day}"
        self.counters[key] = self.counters.get(key, 0) + 1
        return f"DB{day}{self.counters[key]:04d}"

    def add_case(self, case: Case, events: Iterable[Any] = ()) -> bool:
        return bool(self.cases.insert(case_to_doc(case), events, cause=case.case_id))

    def case(self, key: str) -> Case | None:
        doc = self.cases.find_one({"$or": [{"_id": key}, {"case_no": key}]})
        return case_from_doc(doc) if doc else None

    def save_case(self, case: Case, events: Iterable[Any] = (), *, cause: str | None = None) -> bool:
        return bool(self.cases.update(case.case_id, changes(case_to_doc(case)), events, version=case.version,
                                      cause=cause))

    def cases_for(self, ticket_id: str, state: str | None = None) -> list[Case]:
        query = {"ticket_id": ticket_id} | ({"state": state} if state else {})
        return [case_from_doc(d) for d in self.cases.find(query)]

    def list_cases(self, state: str | None, unit_id: str | None, limit: int) -> list[Case]:
        query: dict = {}
        if state:
            query["state"] = state
        if unit_id:
            query["unit_id"] = unit_id
        found = self.cases.find(query)
        found.sort(key=lambda d: d["opened_at"], reverse=True)
        return [case_from_doc(d) for d in found[:limit]]

    # -- verification tasks
    def add_task(self, task: VerificationTask, events: Iterable[Any] = ()) -> bool:
        return bool(self.tasks.insert(task_to_doc(task), events, cause=task.task_id))

    def pending_task(self, ticket_id: str) -> VerificationTask | None:
        doc = self.tasks.find_one({"ticket_id": ticket_id, "state": "pending"})
        return task_from_doc(doc) if doc else None

    def tasks_for(self, ticket_id: str) -> list[VerificationTask]:
        return [task_from_doc(d) for d in self.tasks.find({"ticket_id": ticket_id})]

    def save_task(self, task: VerificationTask, events: Iterable[Any] = (), *, cause: str | None = None) -> bool:
        return bool(self.tasks.update(task.task_id, changes(task_to_doc(task)), events, version=task.version,
                                      cause=cause))

    # -- accountability
    def add_record(self, record: AccountabilityRecord, events: Iterable[Any] = ()) -> bool:
        return bool(self.records.insert(record_to_doc(record), events, cause=record.record_id))

    def record(self, record_id: str) -> AccountabilityRecord | None:
        doc = self.records.get(record_id)
        return record_from_doc(doc) if doc else None

    def list_records(self, unit_id: str | None, limit: int) -> list[AccountabilityRecord]:
        found = self.records.find({"unit_id": unit_id} if unit_id else {})
        found.sort(key=lambda d: d["recorded_at"], reverse=True)
        return [record_from_doc(d) for d in found[:limit]]


# -- events escalation consumes, built for tests -------------------------------------------------------

SYSTEM_REF = ActorRef(user_id="system", role="system")


def deadline_event(cls: type[E], *, ticket_id: str = "t1", number: str = "AS20261127000001",
                   unit_id: str = "city.environment", dispatch_no: int = 1, round: int = 1,
                   due_at: str = "2026-11-27T16:00:00.000Z", seq: int = 1, **extra: Any) -> E:
    """An sla event (DeadlineSet, DeadlineOverdue, ...) about ticket t1's clock; `extra` for the
    fields of the class (working_days_overdue, replied_at, extension_id, ...)."""
    return cls(ticket_id=ticket_id, number=number, unit_id=unit_id, type="complain", dispatch_no=dispatch_no,
               round=round, state="running", started_at="2026-11-20T02:00:00.000Z", working_days=5,
               extended_days=0, due_date=due_at[:10], due_at=due_at, provisional=False, provisional_years=[],
               actor=SYSTEM_REF, seq=seq, **extra)


def routing_state(unit_id: str = "city.environment") -> AssignmentState:
    return AssignmentState(status="replied", lead_unit=LeadUnit(id=unit_id, name="市环保局"),
                           first_responsible=False, co_units=[], dispatch_no=1, round=1)


def routing_event(cls: type[E], *, ticket_id: str = "t1", number: str = "AS20261127000001",
                  unit_id: str = "city.environment", **extra: Any) -> E:
    """A routing event (TicketReplied, CounitDeclined, AssignmentRefused) about ticket t1."""
    return cls(ticket_id=ticket_id, number=number, unit_id=unit_id, at="2026-11-27T02:00:00.000Z",
               actor=ActorRef(user_id="u", role="unit_handler", unit_id=unit_id), seq=5,
               state=routing_state(unit_id), units=[unit_id], **extra)
