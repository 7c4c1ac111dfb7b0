"""Escalation rules (R10, R13, R14, R15, R17): reminders, supervision cases, on-site verification,
accountability.

Pure. A `watch` follows one ticket's deadline (from sla's events) so reminders and escalation are
decided without reading another service's data; decisions depend on the watch's state, not on the
order events arrive in, so a redelivery or a restart never sends a reminder or opens a case twice.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from hotline_common.actors import ADMIN, OPERATOR, SUPERVISOR, UNIT_ROLES, Actor
from hotline_common.errors import Conflict, Forbidden, NotFound, ValidationFailed
from hotline_common.events import DomainEvent, T
from hotline_common.timeutil import as_utc, iso, parse_iso


class WatchState:
    WATCHING = "watching"  # a deadline is running
    DONE = "done"          # replied


class CaseState:
    OPEN = "open"                      # waiting for the centre
    REINVESTIGATING = "reinvestigating"  # the unit was ordered to handle it again (R15)
    CLOSED = "closed"


class Trigger:
    """Why a ticket went to the supervision centre (R13, R14)."""
    OVERDUE_IGNORED = "overdue_ignored"                    # 超期经2次催办仍置之不理
    CITIZEN_CHALLENGE = "citizen_challenge"                # 当事人对反馈结果提出合理质疑
    INADEQUATE_INVESTIGATION = "inadequate_investigation"  # 调查不力
    IMPROPER_HANDLING = "improper_handling"                # 处理不当
    FIRST_RESPONSIBLE_REFUSED = "first_responsible_refused"  # 第一责任主体无正当理由拒不受理
    CO_UNIT_DECLINED = "co_unit_declined"                  # 协办单位不接受
    CO_UNIT_NOT_COOPERATING = "co_unit_not_cooperating"    # 协办单位不配合


TRIGGER_LABELS = {
    Trigger.OVERDUE_IGNORED: "超过办结时限经2次催办仍置之不理",
    Trigger.CITIZEN_CHALLENGE: "当事人对反馈结果提出合理质疑",
    Trigger.INADEQUATE_INVESTIGATION: "承办单位调查不力",
    Trigger.IMPROPER_HANDLING: "承办单位处理不当",
    Trigger.FIRST_RESPONSIBLE_REFUSED: "第一责任主体无正当理由拒不受理",
    Trigger.CO_UNIT_DECLINED: "协办单位不接受协办",
    Trigger.CO_UNIT_NOT_COOPERATING: "协办单位不配合",
}
REPORTABLE = (Trigger.INADEQUATE_INVESTIGATION, Trigger.IMPROPER_HANDLING)


class Accountability:
    """Kinds of accountability record (R17)."""
    EVASION = "evasion"                        # 推诿扯皮
    IGNORED_REMINDERS = "ignored_reminders"    # 催办后置之不理
    SERIOUS_CONSEQUENCES = "serious_consequences"  # 造成严重后果
    NOT_COOPERATING = "not_cooperating"        # 不接受、不配合


ACCOUNTABILITY_LABELS = {
    Accountability.EVASION: "推诿扯皮",
    Accountability.IGNORED_REMINDERS: "催办后置之不理",
    Accountability.SERIOUS_CONSEQUENCES: "工作不力造成严重后果",
    Accountability.NOT_COOPERATING: "不接受、不配合协办",
}


@dataclass(frozen=True)
class ReminderPolicy:
    """config/escalation.yaml (R13)."""
    first_at_overdue: bool = True
    second_after_working_days: int = 2
    escalate_after_working_days: int = 3
    reinvestigation_working_days: int = 10


# -- watches and reminders (R13) -------------------------------------------------------------------

def watch_from_deadline(data: dict) -> dict:
    """Start (or restart, for a new dispatch or round) watching a ticket's deadline."""
    return {
        "_id": data["ticket_id"], "number": data["number"], "unit_id": data["unit_id"],
        "clock": [data.get("dispatch_no", 1), data.get("round", 1)],
        "due_at": parse_iso(data["due_at"]), "state": WatchState.WATCHING,
        "reminders": [], "working_days_overdue": 0, "escalated": False, "event_seq": 0,
    }


def is_newer_clock(watch: dict, data: dict) -> bool:
    return [data.get("dispatch_no", 1), data.get("round", 1)] > list(watch["clock"])


def _reminder_text(number: str, n: int, days: int) -> str:
    late = f"已超期{days}个工作日" if days else "已超过办理时限"
    return f"【12345热线】您单位承办的工单{number}{late}，请主要领导阅批后尽快办理并答复。（第{n}次催办）"


def remind(watch: dict, now: datetime, actor: Actor, kind: str, note: str = "") -> tuple[dict, DomainEvent]:
    n = len(watch["reminders"]) + 1
    entry = {"n": n, "kind": kind, "at": now, "by": actor.to_dict(), "note": note,
             "working_days_overdue": watch["working_days_overdue"]}
    watch = {**watch, "reminders": watch["reminders"] + [entry], "event_seq": watch["event_seq"] + 1}
    return watch, DomainEvent(T.REMINDER_SENT, watch["number"], {
        "ticket_id": watch["_id"], "number": watch["number"], "unit_id": watch["unit_id"], "n": n, "kind": kind,
        "working_days_overdue": watch["working_days_overdue"], "note": note,
        "message": _reminder_text(watch["number"], n, watch["working_days_overdue"]),
        "at": iso(now), "actor": actor.to_dict(), "seq": watch["event_seq"]})


def on_overdue(watch: dict, working_days_overdue: int, policy: ReminderPolicy, now: datetime,
               actor: Actor) -> tuple[dict, list, bool]:
    """The deadline passed (0) or is `working_days_overdue` working days behind: reminders by policy.

    Returns the watch, its events, and whether the ticket must now go to the supervision centre."""
    if watch["state"] != WatchState.WATCHING:
        return watch, [], False
    watch = {**watch, "working_days_overdue": max(watch["working_days_overdue"], working_days_overdue)}
    events = []
    if policy.first_at_overdue and not watch["reminders"]:
        watch, event = remind(watch, now, actor, "auto")
        events.append(event)
    if watch["working_days_overdue"] >= policy.second_after_working_days and len(watch["reminders"]) < 2:
        watch, event = remind(watch, now, actor, "auto")
        events.append(event)
    escalate = (not watch["escalated"] and len(watch["reminders"]) >= 2
                and watch["working_days_overdue"] >= policy.escalate_after_working_days)
    if escalate:
        watch = {**watch, "escalated": True}
    return watch, events, escalate


def manual_reminder(watch: dict, note: str, now: datetime, actor: Actor) -> tuple[dict, list]:
    """An operator presses the unit (催办) about a ticket that is still being handled."""
    actor.require(OPERATOR, ADMIN)
    if watch["state"] != WatchState.WATCHING:
        raise Conflict("the ticket has been replied to; there is nothing to remind")
    watch, event = remind(watch, now, actor, "manual", (note or "").strip())
    return watch, [event]


# -- supervision cases (R13, R14, R15) -------------------------------------------------------------

def open_case(case_id: str, case_no: str, ticket: dict, trigger: str, detail: str, now: datetime,
              actor: Actor, cause: str | None = None) -> tuple[dict, list]:
    case = {
        "_id": case_id, "case_no": case_no, "ticket_id": ticket["ticket_id"], "number": ticket["number"],
        "unit_id": ticket.get("unit_id"), "trigger": trigger, "trigger_label": TRIGGER_LABELS[trigger],
        "detail": detail, "opened_at": now, "opened_by": actor.to_dict(), "state": CaseState.OPEN,
        "orders": [], "conclusion": None, "closed_at": None, "event_seq": 1, "cause": cause,
    }
    return case, [DomainEvent(T.SUPERVISION_OPENED, ticket["number"], {
        **_case_data(case), "detail": detail, "actor": actor.to_dict(), "seq": 1})]


def report_case(trigger: str, actor: Actor) -> None:
    """An operator reports inadequate investigation or improper handling (R14)."""
    actor.require(OPERATOR, ADMIN)
    if trigger not in REPORTABLE:
        raise ValidationFailed("not a trigger an operator reports", errors={"trigger": [
            f"one of {', '.join(REPORTABLE)}"]})


def order_reinvestigation(case: dict, instructions: str, working_days: int, now: datetime,
                          actor: Actor) -> tuple[dict, list]:
    """R15: the centre orders the unit to investigate and handle again, with a deadline; the case
    follows the ticket until the centre closes it."""
    actor.require(SUPERVISOR, ADMIN)
    if case["state"] == CaseState.CLOSED:
        raise Conflict("the case is closed")
    text = (instructions or "").strip()
    if len(text) < 6:
        raise ValidationFailed("instructions are required", errors={"instructions": [
            "what the unit must investigate again, at least 6 characters"]})
    order = {"n": len(case["orders"]) + 1, "instructions": text, "working_days": working_days, "at": now,
             "by": actor.to_dict(), "replied": None}
    case = {**case, "state": CaseState.REINVESTIGATING, "orders": case["orders"] + [order],
            "event_seq": case["event_seq"] + 1}
    return case, [DomainEvent(T.REINVESTIGATION_ORDERED, case["number"], {
        **_case_data(case), "order": order["n"], "instructions": text, "working_days": working_days,
        "actor": actor.to_dict(), "seq": case["event_seq"]})]


def follow_reply(case: dict, reply_no: str, replied_at: datetime) -> dict:
    """The unit replied after the order: the case records it and waits for the centre's conclusion."""
    if case["state"] != CaseState.REINVESTIGATING or not case["orders"]:
        return case
    orders = case["orders"][:-1] + [{**case["orders"][-1], "replied": {"reply_no": reply_no, "at": replied_at}}]
    return {**case, "orders": orders, "state": CaseState.OPEN}


def close_case(case: dict, conclusion: str, now: datetime, actor: Actor) -> tuple[dict, list]:
    actor.require(SUPERVISOR, ADMIN)
    if case["state"] == CaseState.CLOSED:
        raise Conflict("the case is closed already")
    text = (conclusion or "").strip()
    if len(text) < 6:
        raise ValidationFailed("a conclusion is required", errors={"conclusion": [
            "the centre's conclusion (督办结论), at least 6 characters"]})
    case = {**case, "state": CaseState.CLOSED, "conclusion": text, "closed_at": now, "closed_by": actor.to_dict(),
            "event_seq": case["event_seq"] + 1}
    return case, [DomainEvent(T.SUPERVISION_CLOSED, case["number"], {
        **_case_data(case), "conclusion": text, "actor": actor.to_dict(), "seq": case["event_seq"]})]


def _case_data(case: dict) -> dict:
    return {"ticket_id": case["ticket_id"], "number": case["number"], "unit_id": case["unit_id"],
            "case_id": case["_id"], "case_no": case["case_no"], "trigger": case["trigger"],
            "trigger_label": case["trigger_label"], "state": case["state"]}


def present_case(case: dict, now: datetime) -> dict:
    view = {k: v for k, v in case.items() if k not in ("_id", "inbox", "event_ids", "event_seq")}
    view["id"] = case["_id"]
    age = as_utc(now) - as_utc(case["opened_at"])
    view["age_hours"] = round(age.total_seconds() / 3600, 1)
    view["age_days"] = age.days
    return view


# -- on-site verification (R10) --------------------------------------------------------------------

def verification_task(task_id: str, ticket: dict, reason: str, now: datetime) -> tuple[dict, list]:
    """现场核查 for an unsatisfied ticket (不满意件) or a key ticket (重点问题件)."""
    task = {"_id": task_id, "ticket_id": ticket["ticket_id"], "number": ticket["number"],
            "unit_id": ticket.get("unit_id"), "reason": reason, "created_at": now, "state": "pending",
            "record": None}
    return task, [DomainEvent(T.VERIFICATION_REQUIRED, ticket["number"], {
        "ticket_id": task["ticket_id"], "number": task["number"], "unit_id": task["unit_id"],
        "task_id": task_id, "reason": reason, "at": iso(now)})]


def file_verification(task: dict, record: dict, now: datetime, actor: Actor) -> tuple[dict, list]:
    """The unit files who checked on site, when, what they found, and whose responsibility it is."""
    if actor.role not in UNIT_ROLES:
        raise Forbidden("the handling unit files its on-site verification")
    if actor.unit_id != task["unit_id"]:
        raise NotFound(f"ticket {task['number']} not found")
    if task["state"] == "filed":
        raise Conflict("the verification record is filed already")
    errors = {}
    if len((record.get("inspector") or "").strip()) < 2:
        errors["inspector"] = ["who checked on site"]
    if len((record.get("findings") or "").strip()) < 4:
        errors["findings"] = ["what was found on site"]
    if len((record.get("responsibility") or "").strip()) < 4:
        errors["responsibility"] = ["whose responsibility it is (明确责任)"]
    if errors:
        raise ValidationFailed("the verification record is incomplete", errors=errors)
    filed = {"inspector": record["inspector"].strip(), "inspected_at": record["inspected_at"],
             "findings": record["findings"].strip(), "responsibility": record["responsibility"].strip(),
             "filed_by": actor.to_dict(), "filed_at": now}
    task = {**task, "state": "filed", "record": filed}
    return task, [DomainEvent(T.VERIFICATION_FILED, task["number"], {
        "ticket_id": task["ticket_id"], "number": task["number"], "unit_id": task["unit_id"],
        "task_id": task["_id"], "reason": task["reason"], "inspector": filed["inspector"],
        "inspected_at": iso(filed["inspected_at"]), "responsibility": filed["responsibility"],
        "at": iso(now), "actor": actor.to_dict()})]


# -- accountability (R17) ----------------------------------------------------------------------------

def accountability_record(record_id: str, body: dict, now: datetime, actor: Actor,
                          automatic: bool = False) -> tuple[dict, list]:
    if not automatic:
        actor.require(SUPERVISOR, ADMIN)
    kind = body["kind"]
    if kind not in ACCOUNTABILITY_LABELS:
        raise ValidationFailed("unknown kind", errors={"kind": [f"one of {', '.join(ACCOUNTABILITY_LABELS)}"]})
    record = {"_id": record_id, "kind": kind, "kind_label": ACCOUNTABILITY_LABELS[kind],
              "unit_id": body["unit_id"], "person": body.get("person"), "ticket_id": body.get("ticket_id"),
              "number": body.get("number"), "case_id": body.get("case_id"), "note": body.get("note", ""),
              "recorded_at": now, "recorded_by": actor.to_dict(), "automatic": automatic}
    return record, [DomainEvent(T.ACCOUNTABILITY_RECORDED, record.get("number") or record["unit_id"], {
        "record_id": record_id, "kind": kind, "kind_label": record["kind_label"], "unit_id": record["unit_id"],
        "person": record["person"], "ticket_id": record["ticket_id"], "number": record["number"],
        "case_id": record["case_id"], "automatic": automatic, "at": iso(now), "actor": actor.to_dict()})]
