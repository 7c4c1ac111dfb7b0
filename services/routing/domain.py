"""Routing and the unit's work (R3, R4, R5, R6, R9, R14): who handles a ticket and what they do with it.

Pure: rules, units and the assignment come in as data; times and versions as arguments. Each command
returns the new assignment state and its events; every event carries the assignment's resulting
`state` and `seq` (its version), so any view of it converges whatever order events arrive in.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from hotline_common.actors import ADMIN, CITY_ROLES, OPERATOR, UNIT_LEADER, UNIT_ROLES, Actor
from hotline_common.errors import Conflict, Forbidden, NotFound, RuleViolation, ValidationFailed
from hotline_common.events import DomainEvent, T
from hotline_common.timeutil import iso


class AssignmentStatus:
    AWAITING_DISPATCH = "awaiting_dispatch"  # 待派单: no rule matched, or a return was approved
    DISPATCHED = "dispatched"                # 已交办, waiting for the unit to sign for it
    ACCEPTED = "accepted"                    # 已签收
    REVIEWED = "reviewed"                    # 已阅批
    REPLIED = "replied"                      # 已答复
    RETURN_REQUESTED = "return_requested"    # 退单审核中


class CoUnitStatus:
    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    CONTRIBUTED = "contributed"


class ReplyResult:
    SOLVED = "solved"        # 已解决
    EXPLAINED = "explained"  # 已解释说明: cannot be solved, with the legal or policy basis (R9)
    INVALID = "invalid"      # 无效/无理诉求 (R9)


REPLY_RESULTS = (ReplyResult.SOLVED, ReplyResult.EXPLAINED, ReplyResult.INVALID)
MIN_REPLY_CHARS = 15
MIN_REASON_CHARS = 6
# replies that say nothing (R9: 答复的内容必须具体真实)
TOKEN_REPLIES = {"已处理", "已解决", "已办结", "已办理", "处理完毕", "情况属实", "已收到", "收到", "已联系", "已答复",
                 "同意", "好的", "ok", "done"}


# -- rules (R3, R6) ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Rule:
    """category (and optionally district) -> lead unit, co-units; first_responsible marks R6 leads."""
    id: str
    category: str
    lead_unit: str
    district: str | None = None
    co_units: tuple = ()
    first_responsible: bool = False

    def matches(self, category: str, district: str) -> bool:
        in_category = category == self.category or category.startswith(self.category + ".")
        return in_category and self.district in (None, district)

    @property
    def specificity(self) -> tuple:
        # a deeper category beats its parent; a district rule beats an any-district rule
        return (self.category.count(".") + 1, self.district is not None)

    @classmethod
    def from_dict(cls, d: dict) -> "Rule":
        return cls(id=d["id"], category=d["category"], lead_unit=d["lead_unit"], district=d.get("district"),
                   co_units=tuple(d.get("co_units") or ()), first_responsible=bool(d.get("first_responsible")))

    def to_dict(self) -> dict:
        return {"id": self.id, "category": self.category, "lead_unit": self.lead_unit,
                "district": self.district, "co_units": list(self.co_units),
                "first_responsible": self.first_responsible}


def choose_rule(rules, category: str, district: str, exclude_unit: str | None = None) -> Rule | None:
    """The most specific matching rule; equal specificity is settled by rule id, so it is stable.
    `exclude_unit`: skip rules led by that unit (re-dispatch after it returned the ticket, R5)."""
    candidates = [r for r in rules if r.matches(category, district) and r.lead_unit != exclude_unit]
    if not candidates:
        return None
    return max(candidates, key=lambda r: (r.specificity, tuple(-ord(c) for c in r.id)))


def check_rule(rule: Rule, categories: dict, districts: dict, units: dict) -> None:
    errors = {}
    if rule.category not in categories:
        errors["category"] = [f"unknown category {rule.category}"]
    if rule.district is not None and rule.district not in districts:
        errors["district"] = [f"unknown district {rule.district}"]
    if rule.lead_unit not in units:
        errors["lead_unit"] = [f"unknown unit {rule.lead_unit}"]
    unknown = [u for u in rule.co_units if u not in units or u == rule.lead_unit]
    if unknown:
        errors["co_units"] = [f"unknown or same as the lead: {', '.join(unknown)}"]
    if errors:
        raise ValidationFailed("the rule refers to unknown data", errors=errors)


def check_unit(unit: dict) -> None:
    """R3: a unit records its main leader, its deputy leader in charge and at least one contact."""
    errors = {}
    for role in ("main_leader", "deputy_leader"):
        person = unit.get(role) or {}
        if not person.get("user_id") or not person.get("name"):
            errors[role] = ["user_id and name are required"]
    contacts = unit.get("contacts") or []
    if not contacts or not all(c.get("user_id") and c.get("name") for c in contacts):
        errors["contacts"] = ["at least one designated contact (专人对接) with user_id and name"]
    if errors:
        raise ValidationFailed("a unit needs its leaders and a contact (R3)", errors=errors)


def leaders_of(unit: dict) -> set[str]:
    return {p["user_id"] for p in (unit.get("main_leader"), unit.get("deputy_leader")) if p}


# -- the assignment --------------------------------------------------------------------------------

@dataclass(frozen=True)
class TicketFacts:
    """What routing knows of a ticket (from ticket.registered; no personal data)."""
    ticket_id: str
    number: str
    type: str
    category: str
    district: str
    key_ticket: bool = False

    @classmethod
    def from_event(cls, data: dict) -> "TicketFacts":
        return cls(data["ticket_id"], data["number"], data["type"], data["category"], data["district"],
                   bool(data.get("key_ticket")))


def new_assignment(ticket: TicketFacts, now: datetime) -> dict:
    return {
        "_id": ticket.ticket_id, "number": ticket.number, "type": ticket.type,
        "category": ticket.category, "district": ticket.district, "key_ticket": ticket.key_ticket,
        "registered_at": now, "status": AssignmentStatus.AWAITING_DISPATCH, "event_seq": 0,
        "lead_unit": None, "lead_unit_name": None, "first_responsible": False, "rule_id": None,
        "co_units": [], "dispatch_no": 0, "dispatches": [], "reviews": [], "replies": [], "returns": [],
    }


def public_state(a: dict) -> dict:
    """What every routing event says about the assignment after it (for views and subscribers)."""
    return {
        "status": a["status"],
        "lead_unit": {"id": a["lead_unit"], "name": a["lead_unit_name"]} if a["lead_unit"] else None,
        "first_responsible": a["first_responsible"],
        "co_units": [{"unit_id": c["unit_id"], "unit_name": c["unit_name"], "status": c["status"]}
                     for c in a["co_units"]],
        "dispatch_no": a["dispatch_no"],
        "round": a.get("round", 1),
    }


def units_involved(a: dict) -> list[str]:
    """Units whose people may see the ticket: the lead and the co-units that have not declined."""
    lead = [a["lead_unit"]] if a["lead_unit"] else []
    return lead + [c["unit_id"] for c in a["co_units"] if c["status"] != CoUnitStatus.DECLINED]


def _emit(a: dict, kind: str, actor: Actor, now: datetime, **data) -> tuple[dict, DomainEvent]:
    """The event for the state `a` has reached; `seq` numbers the assignment's events in order."""
    a = {**a, "event_seq": a.get("event_seq", 0) + 1}
    return a, DomainEvent(kind, a["number"], {
        "ticket_id": a["_id"], "number": a["number"], "unit_id": a["lead_unit"],
        "at": iso(now), "actor": actor.to_dict(), "seq": a["event_seq"],
        "state": public_state(a), "units": units_involved(a), **data,
    })


def _actor_record(actor: Actor, now: datetime) -> dict:
    return {"user_id": actor.user_id, "role": actor.role, "unit_id": actor.unit_id, "at": now}


@dataclass
class Routed:
    assignment: dict
    events: list


def route_new_ticket(ticket: TicketFacts, rules, units: dict, now: datetime, actor: Actor) -> Routed:
    """Dispatch by the most specific rule (R3, R6), or park the ticket for manual dispatch."""
    a = new_assignment(ticket, now)
    return Routed(*route(a, rules, units, now, actor))


def route(a: dict, rules, units: dict, now: datetime, actor: Actor, exclude_unit: str | None = None):
    """The best rule's unit gets the ticket; without one it waits for an operator."""
    rule = choose_rule(rules, a["category"], a["district"], exclude_unit)
    if rule is None or rule.lead_unit not in units:
        reason = "没有匹配的派单规则" if rule is None else f"规则 {rule.id} 指定的承办单位不存在"
        state = {**a, "status": AssignmentStatus.AWAITING_DISPATCH, "awaiting_reason": reason}
        state, event = _emit(state, T.TICKET_AWAITING_DISPATCH, actor, now, reason=reason)
        return state, [event]
    return dispatch(a, rule.lead_unit, list(rule.co_units), units, now, actor, rule=rule,
                    first_responsible=rule.first_responsible, previous_unit=exclude_unit)


def dispatch(a: dict, unit_id: str, co_unit_ids: list, units: dict, now: datetime, actor: Actor, *,
             rule: Rule | None = None, first_responsible: bool = False, note: str = "",
             previous_unit: str | None = None) -> tuple[dict, list]:
    """交办: hand the ticket to `unit_id` (with co-units). Automatic (a rule) or manual (an operator)."""
    if unit_id not in units:
        raise ValidationFailed("unknown unit", errors={"unit_id": [f"no unit {unit_id}"]})
    unknown = [u for u in co_unit_ids if u not in units]
    if unknown:
        raise ValidationFailed("unknown co-unit", errors={"co_units": [f"no unit {', '.join(unknown)}"]})
    number = a["dispatch_no"] + 1
    previous = previous_unit or a["lead_unit"]
    co_units = [{"unit_id": u, "unit_name": units[u]["name"], "task": "", "status": CoUnitStatus.PENDING,
                 "added_at": now, "added_by": actor.to_dict()}
                for u in dict.fromkeys(co_unit_ids) if u != unit_id]
    record = {"no": number, "unit_id": unit_id, "at": now, "by": actor.to_dict(),
              "rule_id": rule.id if rule else None, "manual": rule is None, "note": note}
    state = {**a, "status": AssignmentStatus.DISPATCHED, "lead_unit": unit_id,
             "lead_unit_name": units[unit_id]["name"], "co_units": co_units,
             "first_responsible": first_responsible, "rule_id": record["rule_id"], "dispatch_no": number,
             "dispatched_at": now, "dispatches": a["dispatches"] + [record], "accepted": None}
    state.pop("awaiting_reason", None)
    state, event = _emit(
        state, T.TICKET_DISPATCHED, actor, now, type=a["type"], category=a["category"], district=a["district"],
        unit_id=unit_id, unit_name=units[unit_id]["name"], unit_leaders=sorted(leaders_of(units[unit_id])),
        co_units=[{"unit_id": c["unit_id"], "unit_name": c["unit_name"]} for c in co_units],
        first_responsible=first_responsible, rule_id=record["rule_id"], manual=record["manual"],
        dispatch_no=number, dispatched_at=iso(now), previous_unit=previous)
    return state, [event]


def manual_dispatch(a: dict, unit_id: str, co_unit_ids: list, first_responsible: bool, note: str,
                    units: dict, now: datetime, actor: Actor) -> tuple[dict, list]:
    """An operator dispatches a ticket that waits in the manual queue (待派单)."""
    actor.require(OPERATOR, ADMIN)
    if a["status"] != AssignmentStatus.AWAITING_DISPATCH:
        raise Conflict(f"the ticket is {a['status']}, not waiting for dispatch")
    return dispatch(a, unit_id, co_unit_ids, units, now, actor, first_responsible=first_responsible, note=note)


# -- authorisation on an assignment ----------------------------------------------------------------

def require_lead(a: dict, actor: Actor) -> None:
    """The lead unit's people act on the ticket; anyone else's unit does not even see it (404)."""
    if actor.role not in UNIT_ROLES:
        raise Forbidden("only the handling unit does this")
    if actor.unit_id != a["lead_unit"]:
        raise NotFound(f"ticket {a['number']} not found")


def co_unit_of(a: dict, actor: Actor) -> dict:
    if actor.role not in UNIT_ROLES:
        raise Forbidden("only a co-unit does this")
    for c in a["co_units"]:
        if c["unit_id"] == actor.unit_id:
            return c
    raise NotFound(f"ticket {a['number']} not found")


def can_see(a: dict, actor: Actor) -> bool:
    if actor.role in CITY_ROLES:
        return True
    return actor.role in UNIT_ROLES and actor.unit_id in [a["lead_unit"]] + [c["unit_id"] for c in a["co_units"]]


# -- the unit's steps ------------------------------------------------------------------------------

def accept(a: dict, actor: Actor, now: datetime) -> tuple[dict, list]:
    """签收: the lead unit acknowledges receipt."""
    require_lead(a, actor)
    if a["status"] != AssignmentStatus.DISPATCHED:
        raise Conflict(f"the ticket is {a['status']}; only a dispatched ticket is signed for")
    state = {**a, "status": AssignmentStatus.ACCEPTED, "accepted": _actor_record(actor, now)}
    state, event = _emit(state, T.ASSIGNMENT_ACCEPTED, actor, now)
    return state, [event]


def review(a: dict, instructions: str, actor: Actor, unit: dict, now: datetime) -> tuple[dict, list]:
    """阅批 (R4): the unit's main or deputy leader reads the ticket and writes instructions."""
    require_lead(a, actor)
    if actor.role != UNIT_LEADER or actor.user_id not in leaders_of(unit):
        raise Forbidden("only the unit's main leader or deputy leader in charge reviews (阅批, R4)")
    if a["status"] not in (AssignmentStatus.ACCEPTED, AssignmentStatus.REVIEWED):
        raise Conflict(f"the ticket is {a['status']}; sign for it (签收) before the leader reviews it")
    text = (instructions or "").strip()
    if len(text) < MIN_REASON_CHARS:
        raise ValidationFailed("instructions are required", errors={"instructions": [
            f"the leader's instructions (批示), at least {MIN_REASON_CHARS} characters"]})
    leader = unit["main_leader"] if actor.user_id == unit["main_leader"]["user_id"] else unit["deputy_leader"]
    entry = {**_actor_record(actor, now), "name": leader["name"], "title": leader.get("title", ""),
             "instructions": text}
    state = {**a, "status": AssignmentStatus.REVIEWED, "reviews": a["reviews"] + [entry]}
    state, event = _emit(state, T.ASSIGNMENT_REVIEWED, actor, now, reviewer=leader["name"],
                         reviewer_title=leader.get("title", ""))
    return state, [event]


def is_token_reply(text: str) -> bool:
    core = re.sub(r"[\s\W_]+", "", text.lower())
    return len(core) < MIN_REPLY_CHARS or core in TOKEN_REPLIES


def reply(a: dict, body: dict, actor: Actor, now: datetime) -> tuple[dict, list]:
    """答复 (R4, R9): after leader review, a numbered reply with the handling result."""
    require_lead(a, actor)
    if a["status"] == AssignmentStatus.REPLIED:
        raise Conflict("the ticket has been replied to already")
    if a["status"] != AssignmentStatus.REVIEWED:
        raise Conflict("the leader has not reviewed the ticket (阅批) yet; the reply follows the review (R4)")
    verification = a.get("verification") or {}
    if verification.get("required") and not verification.get("filed"):
        raise Conflict("the on-site verification record (现场核查) must be filed before the reply (R10)")
    errors = {}
    result = body.get("result")
    content = (body.get("content") or "").strip()
    basis = (body.get("basis") or "").strip()
    invalid_reason = (body.get("invalid_reason") or "").strip()
    if result not in REPLY_RESULTS:
        errors["result"] = [f"one of {', '.join(REPLY_RESULTS)}"]
    if is_token_reply(content):
        errors["content"] = [f"say specifically what was done and found (R9), at least {MIN_REPLY_CHARS} characters"]
    if result == ReplyResult.EXPLAINED and len(basis) < MIN_REASON_CHARS:
        errors["basis"] = ["a matter that cannot be solved needs its legal or policy basis (R9)"]
    if result == ReplyResult.INVALID and len(invalid_reason) < MIN_REASON_CHARS:
        errors["invalid_reason"] = ["why the request is invalid or unreasonable (无效/无理诉求, R9)"]
    if errors:
        raise ValidationFailed("the reply is not acceptable", errors=errors)
    reply_no = f"{a['number']}-{len(a['replies']) + 1:02d}"
    contributions = [{"unit_id": c["unit_id"], "unit_name": c["unit_name"], "content": c.get("contribution", "")}
                     for c in a["co_units"] if c["status"] == CoUnitStatus.CONTRIBUTED]
    pending = [c["unit_id"] for c in a["co_units"] if c["status"] in (CoUnitStatus.PENDING, CoUnitStatus.ACCEPTED)]
    document = {"reply_no": reply_no, "result": result, "content": content, "basis": basis or None,
                "invalid_reason": invalid_reason or None, "contacted_citizen": bool(body.get("contacted_citizen")),
                "contributions": contributions, "co_units_pending": pending, **_actor_record(actor, now)}
    state = {**a, "status": AssignmentStatus.REPLIED, "replies": a["replies"] + [document], "replied_at": now}
    state, event = _emit(state, T.TICKET_REPLIED, actor, now, reply_no=reply_no, result=result,
                         contacted_citizen=document["contacted_citizen"],
                         contributions=[c["unit_id"] for c in contributions], co_units_pending=pending,
                         replied_at=iso(now))
    return state, [event]


def request_return(a: dict, reason: str, actor: Actor, now: datetime) -> tuple[dict, list]:
    """退单 (R5): not this unit's responsibility; at once, with the reason, before any reply."""
    require_lead(a, actor)
    if a["status"] not in (AssignmentStatus.DISPATCHED, AssignmentStatus.ACCEPTED, AssignmentStatus.REVIEWED):
        raise Conflict(f"the ticket is {a['status']}; a return comes before the reply")
    text = (reason or "").strip()
    if len(text) < MIN_REASON_CHARS:
        raise ValidationFailed("a return needs its reason", errors={"reason": [
            f"why the ticket is not this unit's responsibility (退单理由), at least {MIN_REASON_CHARS} characters"]})
    entry = {"unit_id": a["lead_unit"], "unit_name": a["lead_unit_name"], "reason": text,
             "first_responsible": a["first_responsible"], "requested": _actor_record(actor, now),
             "status_before": a["status"], "decision": None}
    state = {**a, "status": AssignmentStatus.RETURN_REQUESTED, "returns": a["returns"] + [entry]}
    state, event = _emit(state, T.RETURN_REQUESTED, actor, now, reason=text,
                         first_responsible=a["first_responsible"])
    return state, [event]


def decide_return(a: dict, approve: bool, note: str, redispatch_to: str | None, rules, units: dict,
                  now: datetime, actor: Actor) -> tuple[dict, list]:
    """The hotline office approves a return (the ticket goes to another unit: by default the best rule
    not led by the returning unit, else the manual queue) or rejects it (the unit keeps it, and its
    clock keeps running). A first-responsible unit refusing its own category is escalated (R14)."""
    actor.require(OPERATOR, ADMIN)
    if a["status"] != AssignmentStatus.RETURN_REQUESTED:
        raise Conflict(f"the ticket is {a['status']}; no return is waiting for a decision")
    pending = a["returns"][-1]
    decided = {**pending, "decision": "approved" if approve else "rejected", "note": (note or "").strip(),
               "decided": _actor_record(actor, now)}
    returns = a["returns"][:-1] + [decided]
    returning = pending["unit_id"]
    if not approve:
        state = {**a, "status": pending["status_before"], "returns": returns}
        state, rejected = _emit(state, T.RETURN_REJECTED, actor, now, returning_unit=returning,
                                note=decided["note"], first_responsible=pending["first_responsible"])
        events = [rejected]
        if pending["first_responsible"]:
            state, refused = _emit(state, T.FIRST_RESPONSIBLE_REFUSED, actor, now, refusing_unit=returning,
                                   category=a["category"], reason=pending["reason"])
            events.append(refused)
        return state, events
    if redispatch_to == returning:
        raise RuleViolation("a returned ticket goes to another unit, not back to the one that returned it (R5)")
    released = {**a, "returns": returns, "status": AssignmentStatus.AWAITING_DISPATCH, "lead_unit": None,
                "lead_unit_name": None, "co_units": [], "first_responsible": False}
    released, approved = _emit(released, T.RETURN_APPROVED, actor, now, returning_unit=returning,
                               note=decided["note"])
    if redispatch_to:
        state, events = dispatch(released, redispatch_to, [], units, now, actor, note=decided["note"],
                                 previous_unit=returning)
    else:
        state, events = route(released, rules, units, now, actor, exclude_unit=returning)
    return state, [approved, *events]


def add_co_unit(a: dict, unit_id: str, task: str, units: dict, actor: Actor, now: datetime) -> tuple[dict, list]:
    """R6: the lead (above all a first-responsible one) organises co-units, each with its part."""
    require_lead(a, actor)
    if a["status"] in (AssignmentStatus.REPLIED, AssignmentStatus.RETURN_REQUESTED):
        raise Conflict(f"the ticket is {a['status']}; co-units are organised while it is being handled")
    if unit_id not in units or unit_id == a["lead_unit"]:
        raise ValidationFailed("not a co-unit", errors={"unit_id": ["an existing unit other than the lead"]})
    text = (task or "").strip()
    if len(text) < MIN_REASON_CHARS:
        raise ValidationFailed("the co-unit's part is required", errors={"task": [
            f"what the co-unit must do, at least {MIN_REASON_CHARS} characters"]})
    co_units = [c for c in a["co_units"] if c["unit_id"] != unit_id]
    existing = next((c for c in a["co_units"] if c["unit_id"] == unit_id), None)
    entry = {"unit_id": unit_id, "unit_name": units[unit_id]["name"], "task": text,
             "status": existing["status"] if existing and existing["status"] != CoUnitStatus.DECLINED
             else CoUnitStatus.PENDING, "added_at": now, "added_by": actor.to_dict()}
    state = {**a, "co_units": co_units + [entry]}
    state, event = _emit(state, T.COUNIT_ADDED, actor, now, co_unit=unit_id, co_unit_name=entry["unit_name"],
                         task=text)
    return state, [event]


def co_unit_answer(a: dict, accept_it: bool, reason: str, actor: Actor, now: datetime) -> tuple[dict, list]:
    """A co-unit accepts its part, or declines with a reason (a refusal the supervision centre hears of, R14)."""
    mine = co_unit_of(a, actor)
    if mine["status"] != CoUnitStatus.PENDING:
        raise Conflict(f"this co-unit has already answered ({mine['status']})")
    text = (reason or "").strip()
    if not accept_it and len(text) < MIN_REASON_CHARS:
        raise ValidationFailed("a decline needs its reason", errors={"reason": [
            f"why the co-unit will not take part, at least {MIN_REASON_CHARS} characters"]})
    updated = {**mine, "status": CoUnitStatus.ACCEPTED if accept_it else CoUnitStatus.DECLINED,
               "answered": _actor_record(actor, now), "reason": text or None}
    state = {**a, "co_units": [updated if c["unit_id"] == mine["unit_id"] else c for c in a["co_units"]]}
    kind = T.COUNIT_ACCEPTED if accept_it else T.COUNIT_DECLINED
    state, event = _emit(state, kind, actor, now, co_unit=mine["unit_id"], co_unit_name=mine["unit_name"],
                         reason=text or None, first_responsible=a["first_responsible"])
    return state, [event]


def co_unit_contribute(a: dict, content: str, actor: Actor, now: datetime) -> tuple[dict, list]:
    """The co-unit's part of the joint solution, gathered into the lead's reply."""
    mine = co_unit_of(a, actor)
    if mine["status"] not in (CoUnitStatus.ACCEPTED, CoUnitStatus.CONTRIBUTED):
        raise Conflict("accept the co-unit task before contributing")
    if a["status"] == AssignmentStatus.REPLIED:
        raise Conflict("the lead unit has replied already")
    text = (content or "").strip()
    if is_token_reply(text):
        raise ValidationFailed("the contribution must be specific", errors={"content": [
            f"what the co-unit did and found, at least {MIN_REPLY_CHARS} characters"]})
    updated = {**mine, "status": CoUnitStatus.CONTRIBUTED, "contribution": text,
               "contributed": _actor_record(actor, now)}
    state = {**a, "co_units": [updated if c["unit_id"] == mine["unit_id"] else c for c in a["co_units"]]}
    state, event = _emit(state, T.COUNIT_CONTRIBUTED, actor, now, co_unit=mine["unit_id"],
                         co_unit_name=mine["unit_name"])
    return state, [event]


# -- handling again (R10, R15) ---------------------------------------------------------------------

def reopen(a: dict, reason: str, working_days: int | None, now: datetime, actor: Actor) -> tuple[dict, list]:
    """The unit handles the ticket again: the citizen was unsatisfied (重办, with an on-site
    verification first, R10) or the supervision centre ordered a re-investigation (R15).
    A new round starts: leader review and a new reply; sla starts a new clock."""
    if a["lead_unit"] is None or a["status"] in (AssignmentStatus.AWAITING_DISPATCH, AssignmentStatus.RETURN_REQUESTED):
        raise Conflict(f"the ticket is {a['status']}; it has no unit to handle it again")
    round_no = a.get("round", 1) + 1
    status = AssignmentStatus.DISPATCHED if a["status"] == AssignmentStatus.DISPATCHED else AssignmentStatus.ACCEPTED
    state = {**a, "status": status, "round": round_no}
    if reason == "unsatisfied":
        state["verification"] = {"required": True, "filed": False, "reason": "unsatisfied"}
    state, event = _emit(state, T.ASSIGNMENT_REOPENED, actor, now, reason=reason, round=round_no,
                         working_days=working_days, type=a["type"])
    return state, [event]


def require_verification(a: dict, reason: str) -> dict:
    """A key ticket (重点问题件) needs an on-site verification before its reply (R10)."""
    return {**a, "verification": {"required": True, "filed": False, "reason": reason}}


def verification_filed(a: dict) -> dict:
    verification = a.get("verification") or {}
    return {**a, "verification": {**verification, "filed": True}}
