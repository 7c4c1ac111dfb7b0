"""Intake rules: registering tickets (R1), their numbers, and the ticket view other services feed.

Pure: no I/O, no clock reads. Times and ids come in as arguments.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

from hotline_common.actors import ADMIN, CITY_ROLES, OPERATOR, Actor
from hotline_common.errors import Conflict, NotFound, ValidationFailed
from hotline_common.catalog import Catalog
from hotline_common.events import DomainEvent, T, short_type
from hotline_common.timeutil import iso, parse_iso

TICKET_TYPES = {"consult": "咨询", "suggest": "建议", "help": "求助", "complain": "投诉", "report": "举报"}


class Status:
    REGISTERED = "registered"
    AWAITING_DISPATCH = "awaiting_dispatch"
    DISPATCHED = "dispatched"
    ACCEPTED = "accepted"
    REVIEWED = "reviewed"
    REPLIED = "replied"
    RETURN_REQUESTED = "return_requested"
    CLOSED = "closed"  # 办结: intake's own decision after the callback; shown over the handling status


STATUS_LABELS = {
    Status.REGISTERED: "已登记",
    Status.AWAITING_DISPATCH: "待派单",
    Status.DISPATCHED: "已交办",
    Status.ACCEPTED: "已签收",
    Status.REVIEWED: "已阅批",
    Status.REPLIED: "已答复",
    Status.RETURN_REQUESTED: "退单审核中",
    Status.CLOSED: "已办结",
}

PHONE = re.compile(r"^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8})$")


def ticket_number(prefix: str, day: date, sequence: int) -> str:
    """Human-readable and unique: city prefix + registration day (Asia/Shanghai) + daily sequence.

    e.g. AS20261127000123; six digits cover a million tickets a day.
    """
    return f"{prefix}{day:%Y%m%d}{sequence:06d}"


def mask_phone(phone: str | None) -> str | None:
    """138****1234 for mobiles, 0412-***4567 for landlines (PIPL: show only what a role needs)."""
    if not phone:
        return phone
    if len(phone) == 11 and phone.isdigit():
        return f"{phone[:3]}****{phone[-4:]}"
    return f"{phone[:-7]}***{phone[-4:]}" if len(phone) > 7 else "****"


def register(details: dict, *, ticket_id: str, number: str, now: datetime, actor: Actor,
             catalog: Catalog) -> tuple[dict, list[DomainEvent]]:
    """R1: a new ticket from validated `details`; its registration event carries no personal data."""
    ticket = {
        "_id": ticket_id,
        "number": number,
        "channel": details["channel"],
        "type": details["type"],
        "category": details["category"],
        "district": details["district"],
        "address": details.get("address") or "",
        "citizen": {"name": details["citizen"].get("name") or "",
                    "phone": details["citizen"]["phone"]},
        "content": details["content"],
        "key_ticket": bool(details.get("key_ticket", False)),
        "external_ref": details.get("external_ref"),
        "status": Status.REGISTERED,
        "created_at": now,
        "registered_by": actor.to_dict(),
        "units": [],
        "lead_unit": None,
        "co_units": [],
        "deadline": None,
        "overdue": False,
        "seq": {},
        "timeline": [timeline_entry(now, "ticket.registered", "工单登记", actor.to_dict(),
                                    {"channel": details["channel"]})],
    }
    event = DomainEvent(T.TICKET_REGISTERED, number, {
        "ticket_id": ticket_id,
        "number": number,
        "channel": ticket["channel"],
        "type": ticket["type"],
        "category": ticket["category"],
        "district": ticket["district"],
        "key_ticket": ticket["key_ticket"],
        "registered_at": iso(now),
    })
    return ticket, [event]


def timeline_entry(at: datetime, kind: str, label: str, actor: dict | None, detail: dict | None = None,
                   event_id: str | None = None) -> dict:
    return {"at": at, "type": kind, "label": label, "actor": actor or {"role": "system"},
            "detail": detail or {}, "event_id": event_id}


# -- the ticket view: how other services' events change what people see on a ticket -------------

@dataclass(frozen=True)
class ViewChange:
    """What one event does to the view. `source`/`seq` order status changes from one service:
    a change older than what the view already shows only adds its timeline entry."""
    changes: dict
    entry: dict
    source: str | None = None
    seq: int | None = None


REOPEN_LABELS = {"unsatisfied": "不满意件重办", "reinvestigation": "督办中心要求重新调查处理"}
VERIFICATION_REASONS = {"unsatisfied": "不满意件", "key_ticket": "重点问题件"}


def _routing(label_for):
    """Every routing event carries the assignment's state after it: status, lead, co-units."""
    def rule(d: dict) -> tuple[dict, str, dict]:
        state = d["state"]
        changes = {"status": state["status"], "lead_unit": state["lead_unit"], "co_units": state["co_units"],
                   "first_responsible": state["first_responsible"], "units": d["units"],
                   "dispatch_no": state["dispatch_no"], "round": state.get("round", 1)}
        label, detail = label_for(d)
        return changes, label, detail
    return rule


def _dispatched(d):
    label = "人工派单" if d.get("manual") else "交办"
    if d.get("first_responsible"):
        label += "（第一责任主体）"
    detail = {"unit": d.get("unit_name"), "dispatch_no": d.get("dispatch_no", 1)}
    if d.get("co_units"):
        detail["co_units"] = [c["unit_name"] for c in d["co_units"]]
    return label, detail


def _replied(d):
    return "答复", {"reply_no": d["reply_no"], "result": d["result"]}


def _on_replied(d: dict) -> tuple[dict, str, dict]:
    changes, label, detail = _routing(_replied)(d)
    return {**changes, "reply": {"reply_no": d["reply_no"], "result": d["result"],
                                 "replied_at": d.get("replied_at")}}, label, detail


DEADLINE_FIELDS = ("due_at", "due_date", "working_days", "extended_days", "started_at", "provisional",
                   "provisional_years", "unit_id", "state")


def _deadline(label_for, **flags):
    """Every sla event carries the clock's deadline after it."""
    def rule(d: dict) -> tuple[dict, str, dict]:
        changes = {"deadline": {k: d.get(k) for k in DEADLINE_FIELDS}}
        for key, value in flags.items():
            changes[key] = value(d) if callable(value) else value
        label, detail = label_for(d)
        return changes, label, detail
    return rule


def _due(d):
    return {"due_date": d["due_date"], "working_days": d["working_days"] + d.get("extended_days", 0),
            **({"provisional_years": d["provisional_years"]} if d.get("provisional") else {})}


def _co(label):
    return _routing(lambda d: (label, {"co_unit": d.get("co_unit_name"), **({"reason": d["reason"]}
                                                                          if d.get("reason") else {})}))


PROJECTIONS = {
    T.TICKET_DISPATCHED: ("routing", _routing(_dispatched)),
    T.TICKET_AWAITING_DISPATCH: ("routing", _routing(lambda d: ("待人工派单", {"reason": d.get("reason", "")}))),
    T.ASSIGNMENT_ACCEPTED: ("routing", _routing(lambda d: ("签收", {}))),
    T.ASSIGNMENT_REVIEWED: ("routing", _routing(lambda d: ("领导阅批", {"reviewer": d.get("reviewer"),
                                                                      "title": d.get("reviewer_title")}))),
    T.TICKET_REPLIED: ("routing", _on_replied),
    T.RETURN_REQUESTED: ("routing", _routing(lambda d: ("申请退单", {"reason": d.get("reason")}))),
    T.RETURN_APPROVED: ("routing", _routing(lambda d: ("退单审核通过", {"note": d.get("note")}))),
    T.RETURN_REJECTED: ("routing", _routing(lambda d: ("退单被驳回", {"note": d.get("note")}))),
    T.FIRST_RESPONSIBLE_REFUSED: ("routing", _routing(lambda d: ("第一责任主体拒不受理，报督办中心",
                                                               {"reason": d.get("reason")}))),
    T.COUNIT_ADDED: ("routing", _co("增加协办单位")),
    T.COUNIT_ACCEPTED: ("routing", _co("协办单位接受协办")),
    T.COUNIT_DECLINED: ("routing", _co("协办单位拒绝协办")),
    T.COUNIT_CONTRIBUTED: ("routing", _co("协办单位提交协办意见")),
    T.ASSIGNMENT_REOPENED: ("routing", _routing(lambda d: (REOPEN_LABELS.get(d["reason"], "重新办理"),
                                                          {"round": d["round"]}))),
    T.DEADLINE_SET: ("sla", _deadline(lambda d: ("设定办理时限", _due(d)), overdue=False, due_soon=False,
                                       overdue_working_days=0)),
    T.DEADLINE_DUE_SOON: ("sla", _deadline(lambda d: ("即将到期提醒", _due(d)), due_soon=True)),
    T.DEADLINE_OVERDUE: ("sla", _deadline(lambda d: ("已超期", _due(d)), overdue=True)),
    T.DEADLINE_STILL_OVERDUE: ("sla", _deadline(
        lambda d: (f"超期{d['working_days_overdue']}个工作日", {"working_days_overdue": d["working_days_overdue"]}),
        overdue=True, overdue_working_days=lambda d: d["working_days_overdue"])),
    T.DEADLINE_MET: ("sla", _deadline(lambda d: ("按时办结", {}), due_soon=False)),
    T.DEADLINE_MISSED: ("sla", _deadline(lambda d: ("超期答复", {}), due_soon=False)),
    T.DEADLINE_EXTENDED: ("sla", _deadline(
        lambda d: ("延期申请获批", {**_due(d), "extended_working_days": d["extended_working_days"]}),
        overdue=False, due_soon=False, overdue_working_days=0,
        extension=lambda d: {"status": "approved", "working_days": d["extended_working_days"]})),
    T.DEADLINE_CHANGED: ("sla", _deadline(lambda d: ("办理时限重新计算", {**_due(d), "previous_due_date":
                                                                     d["previous_due_date"]}))),
    T.EXTENSION_REQUESTED: ("sla", _deadline(
        lambda d: ("申请延期", {"working_days": d["requested_working_days"], "reason": d["reason"]}),
        extension=lambda d: {"status": "pending", "working_days": d["requested_working_days"]})),
    T.EXTENSION_REJECTED: ("sla", _deadline(lambda d: ("延期申请未获批准", {"note": d.get("note")}),
                                            extension=lambda d: {"status": "rejected"})),
}

# escalation's events add to the timeline only; the view's summary of them is derived when presented
TIMELINE_ONLY = {
    T.REMINDER_SENT: lambda d: (f"催办（第{d['n']}次）", {"message": d["message"], "kind": d["kind"]}),
    T.SUPERVISION_OPENED: lambda d: ("报市民诉求督办中心督办", {"case_no": d["case_no"], "trigger": d["trigger_label"]}),
    T.REINVESTIGATION_ORDERED: lambda d: ("督办中心要求重新调查处理", {"case_no": d["case_no"],
                                                             "working_days": d["working_days"]}),
    T.SUPERVISION_CLOSED: lambda d: ("督办结案", {"case_no": d["case_no"], "conclusion": d["conclusion"]}),
    T.VERIFICATION_REQUIRED: lambda d: ("需现场核查", {"reason": VERIFICATION_REASONS.get(d["reason"], d["reason"])}),
    T.VERIFICATION_FILED: lambda d: ("提交现场核查记录", {"inspector": d["inspector"],
                                                  "responsibility": d["responsibility"]}),
    T.ACCOUNTABILITY_RECORDED: lambda d: ("记录责任追究", {"kind": d["kind_label"]}),
}
for _kind, _label in TIMELINE_ONLY.items():
    PROJECTIONS[_kind] = ("escalation", (lambda label: lambda d: ({},) + label(d))(_label))

VIEW_EVENT_TYPES = sorted(PROJECTIONS)


def project(event: dict) -> ViewChange:
    """The change an event from another service makes to the ticket view."""
    source, rule = PROJECTIONS[event["type"]]
    data = event["data"]
    changes, label, detail = rule(data)
    at = parse_iso(event["time"])
    entry = timeline_entry(at, short_type(event["type"]), label, data.get("actor"), detail, event["id"])
    if source == "escalation":  # several aggregates there: no single order to guard
        return ViewChange(changes, entry)
    return ViewChange(changes, entry, source, data.get("seq"))


# -- who sees what -------------------------------------------------------------------------------

def visible_to(ticket: dict, actor: Actor) -> bool:
    """Object-level authorisation: city roles see every ticket, a unit only those it handles."""
    if actor.role in CITY_ROLES:
        return True
    if actor.is_unit:
        return actor.unit_id in ticket.get("units", [])
    return False


def present(ticket: dict, actor: Actor) -> dict:
    """The ticket as `actor` may see it: the citizen's phone is masked except for the hotline office."""
    view = {k: v for k, v in ticket.items() if k not in ("_id", "event_ids", "inbox", "writes", "seq", "idempotency")}
    view["id"] = ticket["_id"]
    view["type_label"] = TICKET_TYPES.get(ticket["type"], ticket["type"])
    if ticket.get("closed"):
        view["handling_status"] = ticket["status"]
        view["status"] = Status.CLOSED
    view["status_label"] = STATUS_LABELS.get(view["status"], view["status"])
    if ticket.get("closed") and ticket.get("close_reason") == "unreached":
        view["status_label"] += "（回访未接通）"
    timeline = sorted(ticket.get("timeline", []), key=lambda e: e["at"])
    view["timeline"] = timeline
    view["reminders_sent"] = sum(1 for e in timeline if e["type"] == "reminder.sent")
    view["supervised"] = any(e["type"] == "supervision.opened" for e in timeline)
    citizen = dict(ticket.get("citizen") or {})
    if actor.role not in (OPERATOR, ADMIN):
        citizen["phone"] = mask_phone(citizen.get("phone"))
    view["citizen"] = citizen
    return view


# -- callback (R11), unsatisfied and key tickets (R10) ---------------------------------------------

SATISFACTION = {"satisfied": "满意", "basically_satisfied": "基本满意", "unsatisfied": "不满意"}
CLOSING = ("satisfied", "basically_satisfied")


@dataclass(frozen=True)
class CallbackPolicy:
    max_unreached_attempts: int = 3


def record_callback(ticket: dict, cb: dict, actor: Actor, now: datetime,
                    policy: CallbackPolicy) -> tuple[dict, dict, list]:
    """回访 (R11). The hotline office's callback decides: satisfied closes the ticket (办结); unsatisfied
    sends it back to the unit (重办) with an on-site verification; a reasonable challenge (合理质疑) goes
    to the supervision centre; nobody answering, after the configured attempts, closes it as unreached.
    A unit's own callback (承办单位回访) is recorded and changes nothing else.

    Returns ($set changes, the callback entry to append, events)."""
    by_unit = actor.is_unit
    if by_unit and actor.unit_id not in ticket.get("units", []):
        raise NotFound(f"ticket {ticket['number']} not found")
    if not by_unit:
        actor.require(OPERATOR, ADMIN)
    if ticket.get("closed"):
        raise Conflict("the ticket is closed (已办结)")
    if ticket["status"] != Status.REPLIED:
        raise Conflict("a callback follows the unit's reply (答复)")
    errors = {}
    if cb["reached"] and cb.get("satisfaction") not in SATISFACTION:
        errors["satisfaction"] = [f"one of {', '.join(SATISFACTION)} when the citizen was reached"]
    if cb.get("challenge") and len((cb.get("challenge_reason") or "").strip()) < 6:
        errors["challenge_reason"] = ["what the citizen reasonably challenges (合理质疑), at least 6 characters"]
    if errors:
        raise ValidationFailed("the callback is incomplete", errors=errors)
    round_no = ticket.get("round", 1)
    mine = [c for c in ticket.get("callbacks", []) if c.get("round") == round_no and not c["by_unit"]]
    entry = {"at": now, "by": actor.to_dict(), "by_unit": by_unit, "round": round_no,
             "attempt": len(mine) + (0 if by_unit else 1), "reached": cb["reached"],
             "satisfaction": cb.get("satisfaction") if cb["reached"] else None,
             "solved": cb.get("solved") if cb["reached"] else None,
             "unit_contacted": cb.get("unit_contacted") if cb["reached"] else None,
             "challenge": bool(cb.get("challenge")) and cb["reached"],
             "challenge_reason": (cb.get("challenge_reason") or "").strip() or None, "note": cb.get("note", "")}
    ref = {"ticket_id": ticket["_id"], "number": ticket["number"],
           "unit_id": (ticket.get("lead_unit") or {}).get("id"), "round": round_no}
    events = [DomainEvent(T.CALLBACK_RECORDED, ticket["number"], {
        **ref, "by": "unit" if by_unit else "hotline", "attempt": entry["attempt"], "reached": entry["reached"],
        "satisfaction": entry["satisfaction"], "solved": entry["solved"], "unit_contacted": entry["unit_contacted"],
        "challenge": entry["challenge"], "at": iso(now), "actor": actor.to_dict()})]
    changes: dict = {}
    if by_unit:
        return changes, entry, events
    if not cb["reached"]:
        unreached = sum(1 for c in mine if not c["reached"]) + 1
        if unreached >= policy.max_unreached_attempts:
            changes, closing = _close(ticket, ref, "unreached", now, actor)
            events += closing
        return changes, entry, events
    changes["satisfaction"] = entry["satisfaction"]
    if entry["challenge"]:
        changes["challenged"] = True
        events.append(DomainEvent(T.TICKET_CHALLENGED, ticket["number"], {
            **ref, "reason": entry["challenge_reason"], "at": iso(now), "actor": actor.to_dict()}))
    elif entry["satisfaction"] in CLOSING:
        closing_changes, closing = _close(ticket, ref, entry["satisfaction"], now, actor)
        changes.update(closing_changes)
        events += closing
    else:
        events.append(DomainEvent(T.TICKET_REOPENED, ticket["number"], {
            **ref, "reason": "unsatisfied", "at": iso(now), "actor": actor.to_dict()}))
    return changes, entry, events


def _close(ticket: dict, ref: dict, reason: str, now: datetime, actor: Actor) -> tuple[dict, list]:
    changes = {"closed": True, "close_reason": reason, "closed_at": now}
    return changes, [DomainEvent(T.TICKET_CLOSED, ticket["number"], {
        **ref, "reason": reason, "at": iso(now), "actor": actor.to_dict()})]


def mark_key(ticket: dict, reason: str, actor: Actor, now: datetime) -> tuple[dict, list]:
    """重点问题件 (R10): an operator marks a ticket as key; it then needs on-site verification."""
    actor.require(OPERATOR, ADMIN)
    if ticket.get("closed"):
        raise Conflict("the ticket is closed (已办结)")
    if ticket.get("key_ticket"):
        raise Conflict("the ticket is a key ticket already")
    if len((reason or "").strip()) < 4:
        raise ValidationFailed("a reason is required", errors={"reason": ["why this is a key ticket"]})
    return {"key_ticket": True, "key_reason": reason.strip()}, [DomainEvent(T.TICKET_MARKED_KEY, ticket["number"], {
        "ticket_id": ticket["_id"], "number": ticket["number"], "unit_id": (ticket.get("lead_unit") or {}).get("id"),
        "reason": reason.strip(), "at": iso(now), "actor": actor.to_dict()})]


OWN_LABELS = {
    T.CALLBACK_RECORDED: lambda d: ("单位回访" if d["by"] == "unit" else
                                    (f"回访：{SATISFACTION.get(d['satisfaction'], '')}" if d["reached"]
                                     else f"回访未接通（第{d['attempt']}次）")),
    T.TICKET_CLOSED: lambda d: "办结" + ("（回访未接通）" if d["reason"] == "unreached" else ""),
    T.TICKET_REOPENED: lambda d: "不满意，退回承办单位重办",
    T.TICKET_CHALLENGED: lambda d: "市民对办理结果提出合理质疑",
    T.TICKET_MARKED_KEY: lambda d: "标记为重点问题件",
}


def own_timeline(events: list, now: datetime, actor: Actor) -> list[dict]:
    """Timeline entries for intake's own events, written with the change that causes them."""
    entries = []
    for e in events:
        detail = {k: e.data[k] for k in ("reason", "satisfaction", "solved", "challenge") if e.data.get(k) is not None}
        entries.append(timeline_entry(now, short_type(e.type), OWN_LABELS[e.type](e.data), actor.to_dict(), detail))
    return entries
