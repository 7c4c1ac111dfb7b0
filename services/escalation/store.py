"""Escalation's MongoDB adapter: watches, supervision cases, verification tasks, accountability."""
from __future__ import annotations

from pymongo import ASCENDING, DESCENDING

from hotline_common.mongo import AggregateCollection, BOOKKEEPING, HIDDEN, increment



class EscalationStore:
    def __init__(self, database, outbox):
        self.db = database
        self.watches = AggregateCollection(database.watches, outbox)
        self.cases = AggregateCollection(database.cases, outbox)
        self.tasks = AggregateCollection(database.verifications, outbox)
        self.records = AggregateCollection(database.accountability, outbox)

    def ensure_indexes(self) -> None:
        self.db.watches.create_index([("number", ASCENDING)], name="number")
        self.db.cases.create_index([("state", ASCENDING), ("opened_at", DESCENDING)], name="state_age")
        self.db.cases.create_index([("ticket_id", ASCENDING)], name="ticket")
        self.db.verifications.create_index([("ticket_id", ASCENDING), ("state", ASCENDING)], name="ticket_state")
        self.db.accountability.create_index([("unit_id", ASCENDING), ("recorded_at", DESCENDING)], name="unit")

    def ping(self) -> None:
        self.db.command("ping")

    # -- watches
    def watch(self, key: str) -> dict | None:
        projection = HIDDEN
        return self.db.watches.find_one({"_id": key}, projection) or self.db.watches.find_one({"number": key}, projection)

    def add_watch(self, watch: dict, cause: str):
        return self.watches.insert(watch, (), cause=cause)

    def save_watch(self, watch: dict, events, *, version: int, cause: str | None = None):
        return self.watches.update(watch["_id"], _changes(watch), events, version=version, cause=cause)

    # -- cases
    def next_case_no(self, day: str) -> str:
        return f"DB{day}{increment(self.db.counters, f'case-{day}'):04d}"

    def add_case(self, case: dict, events):
        """A deterministic `_id` makes opening a case for one cause idempotent."""
        return self.cases.insert(case, events, cause=case["_id"])

    def case(self, case_id: str) -> dict | None:
        return self.db.cases.find_one({"$or": [{"_id": case_id}, {"case_no": case_id}]}, HIDDEN)

    def save_case(self, case: dict, events, *, version: int, cause: str | None = None):
        return self.cases.update(case["_id"], _changes(case), events, version=version, cause=cause)

    def cases_for(self, ticket_id: str, state: str | None = None) -> list[dict]:
        query = {"ticket_id": ticket_id} | ({"state": state} if state else {})
        return list(self.db.cases.find(query, HIDDEN))

    def list_cases(self, state: str | None, unit_id: str | None, limit: int) -> list[dict]:
        query = {}
        if state:
            query["state"] = state
        if unit_id:
            query["unit_id"] = unit_id
        return list(self.db.cases.find(query, HIDDEN).sort("opened_at", DESCENDING).limit(limit))

    # -- verification tasks
    def add_task(self, task: dict, events):
        return self.tasks.insert(task, events, cause=task["_id"])

    def pending_task(self, ticket_id: str) -> dict | None:
        return self.db.verifications.find_one({"ticket_id": ticket_id, "state": "pending"},
                                              HIDDEN)

    def tasks_for(self, ticket_id: str) -> list[dict]:
        return list(self.db.verifications.find({"ticket_id": ticket_id}, HIDDEN))

    def save_task(self, task: dict, events, *, version: int):
        return self.tasks.update(task["_id"], _changes(task), events, version=version)

    # -- accountability
    def add_record(self, record: dict, events):
        return self.records.insert(record, events, cause=record["_id"])

    def list_records(self, unit_id: str | None, limit: int) -> list[dict]:
        query = {"unit_id": unit_id} if unit_id else {}
        return list(self.db.accountability.find(query, HIDDEN)
                    .sort("recorded_at", DESCENDING).limit(limit))


def _changes(doc: dict) -> dict:
    return {k: v for k, v in doc.items() if k not in BOOKKEEPING}
