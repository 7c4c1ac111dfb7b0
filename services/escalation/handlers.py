"""Escalation use cases: reminders, supervision cases, verification, accountability."""
from __future__ import annotations

import uuid

from hotline_common.actors import ADMIN, OPERATOR, SUPERVISOR, SYSTEM_ACTOR, Actor
from hotline_common.errors import Conflict, NotFound
from hotline_common.events import short_type
from hotline_common.mongo import retrying
from hotline_common.timeutil import local_date, parse_iso
from hotline_common.validation import load

from . import domain
from . import schemas as s
from .domain import Trigger


class Escalation:
    def __init__(self, store, clock, policy: domain.ReminderPolicy):
        self.store = store
        self.clock = clock
        self.policy = policy

    # -- following deadlines (from sla's events)
    def watch(self, event: dict) -> bool:
        """deadline.set / extended / changed: watch the (new) deadline; a new clock starts afresh."""
        data = event["data"]
        watch = domain.watch_from_deadline(data)
        existing = self.store.watch(watch["_id"])
        if existing is None:
            return bool(self.store.add_watch(watch, cause=event["id"]))
        if domain.is_newer_clock(existing, data) or event["type"].endswith("extended"):
            # a new dispatch, round or extension: a new deadline, its reminders start from none
            watch = {**watch, "event_seq": existing["event_seq"]}
            return bool(self.store.save_watch(watch, (), version=existing["version"], cause=event["id"]))
        moved = {**existing, "due_at": watch["due_at"]}  # the calendar moved the same deadline
        return bool(self.store.save_watch(moved, (), version=existing["version"], cause=event["id"]))

    def overdue(self, event: dict) -> bool:
        """deadline.overdue / still_overdue: remind by policy; after 2 reminders and the grace period,
        the supervision centre (R13)."""
        data = event["data"]
        existing = self.store.watch(data["ticket_id"])
        if existing is None:
            raise NotFound(f"no watch for {data['number']} yet")  # retried: deadline.set is on its way
        if [data.get("dispatch_no", 1), data.get("round", 1)] != list(existing["clock"]):
            return False  # about an older clock
        now = self.clock.now()
        watch, events, escalate = domain.on_overdue(existing, data.get("working_days_overdue", 0), self.policy,
                                                    now, SYSTEM_ACTOR)
        if escalate:  # the case first (idempotent by its id), then the watch that remembers it
            clock_key = "-".join(map(str, existing["clock"]))
            detail = (f"超过办结时限{watch['working_days_overdue']}个工作日，"
                      f"经{len(watch['reminders'])}次催办仍未答复")
            case = self._open(f"overdue:{existing['_id']}:{clock_key}", existing | {"ticket_id": existing["_id"]},
                              Trigger.OVERDUE_IGNORED, detail, SYSTEM_ACTOR)
            self._record(f"ignored:{existing['_id']}:{clock_key}", {
                "kind": domain.Accountability.IGNORED_REMINDERS, "unit_id": existing["unit_id"],
                "ticket_id": existing["_id"], "number": existing["number"], "case_id": case,
                "note": detail}, SYSTEM_ACTOR, automatic=True)
        if watch == existing:
            return False
        return bool(self.store.save_watch(watch, events, version=existing["version"], cause=event["id"]))

    def replied(self, event: dict) -> bool:
        """deadline.met / missed: the unit replied; no more reminders for this clock."""
        data = event["data"]
        existing = self.store.watch(data["ticket_id"])
        if existing is None or existing["state"] == domain.WatchState.DONE:
            return False
        watch = {**existing, "state": domain.WatchState.DONE}
        return bool(self.store.save_watch(watch, (), version=existing["version"], cause=event["id"]))

    def remind(self, key: str, body: dict, actor: Actor) -> dict:
        cmd = load(s.REMINDER, body or {})

        def attempt():
            existing = self.store.watch(key)
            if existing is None:
                raise NotFound(f"ticket {key} has no deadline to remind about")
            watch, events = domain.manual_reminder(existing, cmd["note"], self.clock.now(), actor)
            self.store.save_watch(watch, events, version=existing["version"])
            return {"ticket_id": watch["_id"], "number": watch["number"], "reminders": watch["reminders"]}
        return retrying(attempt)

    # -- supervision cases (R13, R14, R15)
    def _open(self, case_id: str, ticket: dict, trigger: str, detail: str, actor: Actor) -> str:
        existing = self.store.case(case_id)
        if existing is not None:
            return existing["_id"]
        now = self.clock.now()
        case_no = self.store.next_case_no(f"{local_date(now):%Y%m%d}")
        case, events = domain.open_case(case_id, case_no, ticket, trigger, detail, now, actor)
        self.store.add_case(case, events)
        return case_id

    def triggered(self, event: dict) -> bool:
        """Events that send a ticket to the supervision centre (R14)."""
        data, kind = event["data"], short_type(event["type"])
        ticket = {"ticket_id": data["ticket_id"], "number": data["number"], "unit_id": data.get("unit_id")}
        if kind == "ticket.challenged":
            self._open(f"challenge:{event['id']}", ticket, Trigger.CITIZEN_CHALLENGE,
                       f"市民合理质疑：{data.get('reason', '')}", SYSTEM_ACTOR)
        elif kind == "counit.declined":
            self._open(f"declined:{event['id']}", {**ticket, "unit_id": data["co_unit"]}, Trigger.CO_UNIT_DECLINED,
                       f"{data['co_unit_name']}拒绝协办：{data.get('reason') or ''}", SYSTEM_ACTOR)
        elif kind == "assignment.refused":
            self._open(f"refused:{event['id']}", {**ticket, "unit_id": data["refusing_unit"]},
                       Trigger.FIRST_RESPONSIBLE_REFUSED, f"退单理由：{data.get('reason', '')}；退单被驳回", SYSTEM_ACTOR)
        elif kind == "ticket.replied":
            for unit in data.get("co_units_pending") or []:
                self._open(f"not-cooperating:{event['id']}:{unit}", {**ticket, "unit_id": unit},
                           Trigger.CO_UNIT_NOT_COOPERATING, "主办单位答复时该协办单位仍未提交协办意见", SYSTEM_ACTOR)
            self._follow_reply(data)
        return True

    def _follow_reply(self, data: dict) -> None:
        for case in self.store.cases_for(data["ticket_id"], domain.CaseState.REINVESTIGATING):
            updated = domain.follow_reply(case, data["reply_no"], parse_iso(data["replied_at"]))
            if updated != case:
                self.store.save_case(updated, (), version=case["version"])

    def report(self, key: str, body: dict, actor: Actor) -> dict:
        """An operator reports inadequate investigation or improper handling (R14)."""
        cmd = load(s.REPORT, body or {})
        domain.report_case(cmd["trigger"], actor)
        watch = self.store.watch(key)
        if watch is None:
            raise NotFound(f"ticket {key} has not been dispatched")
        case_id = self._open(f"report:{uuid.uuid4().hex[:12]}", {"ticket_id": watch["_id"], "number": watch["number"],
                                                                 "unit_id": watch["unit_id"]},
                             cmd["trigger"], cmd["detail"], actor)
        return domain.present_case(self.store.case(case_id), self.clock.now())

    def list_cases(self, query: dict, actor: Actor) -> dict:
        actor.require(SUPERVISOR, OPERATOR, ADMIN)
        q = load(s.CASE_QUERY, query or {})
        now = self.clock.now()
        return {"items": [domain.present_case(c, now) for c in
                          self.store.list_cases(q.get("state"), q.get("unit"), q["limit"])]}

    def get_case(self, case_id: str, actor: Actor) -> dict:
        actor.require(SUPERVISOR, OPERATOR, ADMIN)
        return domain.present_case(self._case(case_id), self.clock.now())

    def _case(self, case_id: str) -> dict:
        case = self.store.case(case_id)
        if case is None:
            raise NotFound(f"case {case_id} not found")
        return case

    def order_reinvestigation(self, case_id: str, body: dict, actor: Actor) -> dict:
        cmd = load(s.REINVESTIGATION, body or {})
        return self._change_case(case_id, lambda case: domain.order_reinvestigation(
            case, cmd["instructions"], cmd.get("working_days") or self.policy.reinvestigation_working_days,
            self.clock.now(), actor))

    def _change_case(self, case_id: str, decide) -> dict:
        def attempt():
            case = self._case(case_id)
            updated, events = decide(case)
            self.store.save_case(updated, events, version=case["version"])
            return domain.present_case({**updated, "version": case["version"] + 1}, self.clock.now())
        return retrying(attempt)

    def close_case(self, case_id: str, body: dict, actor: Actor) -> dict:
        cmd = load(s.CLOSE, body or {})
        return self._change_case(case_id, lambda case: domain.close_case(case, cmd["conclusion"], self.clock.now(),
                                                                         actor))

    # -- on-site verification (R10)
    def require_verification(self, event: dict) -> bool:
        """An unsatisfied callback reopened the ticket, or an operator marked it a key ticket."""
        data = event["data"]
        reason = "unsatisfied" if event["type"].endswith("reopened") else "key_ticket"
        if reason == "unsatisfied" and data.get("reason") != "unsatisfied":
            return False
        task, events = domain.verification_task(f"{reason}:{event['id']}", data, reason, self.clock.now())
        return bool(self.store.add_task(task, events))

    def file_verification(self, key: str, body: dict, actor: Actor) -> dict:
        record = load(s.VERIFICATION, body or {})
        watch = self.store.watch(key)
        ticket_id = watch["_id"] if watch else key
        def attempt():
            task = self.store.pending_task(ticket_id)
            if task is None:
                raise Conflict("no on-site verification is waiting for this ticket")
            updated, events = domain.file_verification(task, record, self.clock.now(), actor)
            self.store.save_task(updated, events, version=task["version"])
            return {k: v for k, v in updated.items() if k != "_id"} | {"id": updated["_id"]}
        return retrying(attempt)

    def verifications(self, key: str, actor: Actor) -> dict:
        watch = self.store.watch(key)
        tasks = self.store.tasks_for(watch["_id"] if watch else key)
        if actor.is_unit:
            tasks = [t for t in tasks if t["unit_id"] == actor.unit_id]
        return {"items": [{k: v for k, v in t.items() if k != "_id"} | {"id": t["_id"]} for t in tasks]}

    # -- accountability (R17)
    def _record(self, record_id: str, body: dict, actor: Actor, automatic: bool = False) -> dict:
        record, events = domain.accountability_record(record_id, body, self.clock.now(), actor, automatic)
        self.store.add_record(record, events)
        return record

    def record_accountability(self, body: dict, actor: Actor) -> dict:
        actor.require(SUPERVISOR, ADMIN)
        cmd = load(s.ACCOUNTABILITY, body or {})
        record = self._record(uuid.uuid4().hex[:12], cmd, actor)
        return {k: v for k, v in record.items() if k != "_id"} | {"id": record["_id"]}

    def list_accountability(self, query: dict, actor: Actor) -> dict:
        q = load(s.ACCOUNTABILITY_QUERY, query or {})
        records = self.store.list_records(actor.unit_scope(q.get("unit")), q["limit"])
        return {"items": [{k: v for k, v in r.items() if k != "_id"} | {"id": r["_id"]} for r in records]}
