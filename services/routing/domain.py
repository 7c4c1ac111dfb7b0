"""Routing and the unit's work (R3, R4, R5, R6, R9, R14): who handles a ticket and what they do with it.

Pure: rules, units and the assignment come in as data; times and the actor as keyword arguments.
Every rule has the same shape,

    rule(a: Assignment, cmd, *, now: datetime, actor: Actor, ...collaborators) -> (Assignment, [events])

and every event carries the assignment's resulting `state` and `seq` (its order), so any view of it
converges whatever order events arrive in.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final, Literal, TypeVar, cast

from hotline_common.actors import ADMIN, CITY_ROLES, OPERATOR, UNIT_LEADER, UNIT_ROLES, Actor
from hotline_common.errors import Conflict, Forbidden, NotFound, NotYet, RuleViolation, ValidationFailed
from hotline_common.messages import ActorRef, Event, Instant, Role, TicketType
from hotline_common.timeutil import as_utc

from .events import (
    AssignmentAccepted,
    AssignmentRefused,
    AssignmentReopened,
    AssignmentReviewed,
    AssignmentState,
    AssignmentWithdrawn,
    CounitAccepted,
    CounitAdded,
    CounitContributed,
    CounitDeclined,
    CoUnitState,
    LeadUnit,
    ReturnApproved,
    ReturnRejected,
    ReturnRequested,
    RoutingEvent,
    TicketAwaitingDispatch,
    TicketDispatched,
    TicketReplied,
    UnitRef,
)

if TYPE_CHECKING:  # commands load themselves with marshmallow: the rules only read them
    from . import commands as c

Status = Literal["awaiting_dispatch", "dispatched", "accepted", "reviewed", "replied", "return_requested", "withdrawn"]
DispatchKind = Literal["rule", "manual", "return", "redispatch", "pass_down", "unmerged"]
CoStatus = Literal["pending", "accepted", "declined", "contributed"]
Unit = Mapping[str, Any]    # a unit of the directory, as the store's cache holds it
Units = Mapping[str, Unit]  # unit id -> unit


class AssignmentStatus:
    AWAITING_DISPATCH: Final = "awaiting_dispatch"  # 待派单: no rule matched, or a return was approved
    DISPATCHED: Final = "dispatched"                # 已交办, waiting for the unit to sign for it
    ACCEPTED: Final = "accepted"                    # 已签收
    REVIEWED: Final = "reviewed"                    # 已阅批
    REPLIED: Final = "replied"                      # 已答复
    RETURN_REQUESTED: Final = "return_requested"    # 退单审核中
    WITHDRAWN: Final = "withdrawn"                  # merged into another ticket (并单): not handled on its own


class CoUnitStatus:
    PENDING: Final = "pending"
    ACCEPTED: Final = "accepted"
    DECLINED: Final = "declined"
    CONTRIBUTED: Final = "contributed"


class ReplyResult:
    SOLVED: Final = "solved"        # 已解决
    EXPLAINED: Final = "explained"  # 已解释说明: cannot be solved, with the legal or policy basis (R9)
    INVALID: Final = "invalid"      # 无效/无理诉求 (R9)


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
    co_units: tuple[str, ...] = ()
    first_responsible: bool = False

    def matches(self, category: str, district: str) -> bool:
        in_category = category == self.category or category.startswith(self.category + ".")
        return in_category and self.district in (None, district)

    @property
    def specificity(self) -> tuple[int, bool]:
        # a deeper category beats its parent; a district rule beats an any-district rule
        return (self.category.count(".") + 1, self.district is not None)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Rule:
        return cls(id=d["id"], category=d["category"], lead_unit=d["lead_unit"], district=d.get("district"),
                   co_units=tuple(d.get("co_units") or ()), first_responsible=bool(d.get("first_responsible")))

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "category": self.category, "lead_unit": self.lead_unit,
                "district": self.district, "co_units": list(self.co_units),
                "first_responsible": self.first_responsible}


def choose_rule(rules: Iterable[Rule], category: str, district: str, exclude_unit: str | None = None) -> Rule | None:
    """The most specific matching rule; equal specificity is settled by rule id, so it is stable.
    `exclude_unit`: skip rules led by that unit (re-dispatch after it returned the ticket, R5)."""
    candidates = [r for r in rules if r.matches(category, district) and r.lead_unit != exclude_unit]
    if not candidates:
        return None
    return max(candidates, key=lambda r: (r.specificity, tuple(-ord(ch) for ch in r.id)))


def check_rule(rule: Rule, *, categories: Mapping[str, Any], districts: Mapping[str, Any], units: Units) -> None:
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


def check_unit(unit: Unit) -> None:
    """R3: a unit records its main leader, its deputy leader in charge and at least one contact."""
    errors = {}
    for role in ("main_leader", "deputy_leader"):
        person = unit.get(role) or {}
        if not person.get("user_id") or not person.get("name"):
            errors[role] = ["user_id and name are required"]
    contacts = unit.get("contacts") or []
    if not contacts or not all(p.get("user_id") and p.get("name") for p in contacts):
        errors["contacts"] = ["at least one designated contact (专人对接) with user_id and name"]
    if errors:
        raise ValidationFailed("a unit needs its leaders and a contact (R3)", errors=errors)


def check_parent(unit_id: str, unit: Unit, units: Units) -> None:
    """A street or town office (街道/乡镇) names its district or county government as `parent`; the
    parent exists, is a district-level government, and is not the unit itself."""
    parent = unit.get("parent")
    if parent is None:
        return
    if parent == unit_id or parent not in units:
        raise ValidationFailed("unknown parent", errors={"parent": [f"an existing unit other than {unit_id}"]})
    if units[parent].get("kind") != "district":
        raise ValidationFailed("the parent is a district or county government",
                               errors={"parent": [f"{parent} is a {units[parent].get('kind')}, not a district"]})


def leaders_of(unit: Unit) -> set[str]:
    return {p["user_id"] for p in (unit.get("main_leader"), unit.get("deputy_leader")) if p}


# -- the assignment --------------------------------------------------------------------------------

@dataclass(frozen=True)
class TicketFacts:
    """What routing knows of a ticket (from ticket.registered; no personal data)."""
    ticket_id: str
    number: str
    type: TicketType
    category: str
    district: str
    key_ticket: bool = False


@dataclass(frozen=True, kw_only=True)
class Stamp:
    """Who did a step of the work, and when."""
    user_id: str
    role: str
    unit_id: str | None
    at: datetime


@dataclass(frozen=True, kw_only=True)
class DispatchRecord:
    """One 交办: automatic (by `rule_id`) or manual (by an operator, with a note)."""
    no: int
    unit_id: str
    at: datetime
    by: ActorRef
    rule_id: str | None
    manual: bool
    note: str


@dataclass(frozen=True, kw_only=True)
class CoUnit:
    """A co-unit (协办单位) with its part of the work and how it answered (R6)."""
    unit_id: str
    unit_name: str
    task: str
    status: CoStatus
    added_at: datetime
    added_by: ActorRef
    answered: Stamp | None = None
    reason: str | None = None
    contribution: str | None = None
    contributed: Stamp | None = None


@dataclass(frozen=True, kw_only=True)
class LeaderReview:
    """阅批 (R4): the leader's instructions."""
    user_id: str
    role: str
    unit_id: str | None
    at: datetime
    name: str
    title: str
    instructions: str


@dataclass(frozen=True, kw_only=True)
class Contribution:
    unit_id: str
    unit_name: str
    content: str


@dataclass(frozen=True, kw_only=True)
class ReplyRecord:
    """答复 (R4, R9): the numbered reply document, with what the co-units contributed."""
    reply_no: str
    result: str
    content: str
    basis: str | None
    invalid_reason: str | None
    contacted_citizen: bool
    contributions: tuple[Contribution, ...]
    co_units_pending: tuple[str, ...]
    user_id: str
    role: str
    unit_id: str | None
    at: datetime


@dataclass(frozen=True, kw_only=True)
class ReturnRecord:
    """退单 (R5): a unit's return and the hotline office's decision on it."""
    unit_id: str
    unit_name: str
    reason: str
    first_responsible: bool
    requested: Stamp
    status_before: Status
    decision: Literal["approved", "rejected"] | None = None
    note: str | None = None
    decided: Stamp | None = None


@dataclass(frozen=True, kw_only=True)
class Verification:
    """The on-site verification (现场核查) a reply waits for (R10)."""
    required: bool = False
    filed: bool = False
    reason: str | None = None


@dataclass(frozen=True, kw_only=True)
class Assignment:
    """A ticket as routing handles it: its lead unit, co-units, and the unit's steps."""
    ticket_id: str
    number: str
    type: TicketType
    category: str
    district: str
    key_ticket: bool
    registered_at: datetime
    status: Status = AssignmentStatus.AWAITING_DISPATCH
    event_seq: int = 0
    lead_unit: str | None = None
    lead_unit_name: str | None = None
    first_responsible: bool = False
    rule_id: str | None = None
    co_units: tuple[CoUnit, ...] = ()
    dispatch_no: int = 0
    dispatches: tuple[DispatchRecord, ...] = ()
    reviews: tuple[LeaderReview, ...] = ()
    replies: tuple[ReplyRecord, ...] = ()
    returns: tuple[ReturnRecord, ...] = ()
    awaiting_reason: str | None = None
    dispatched_at: datetime | None = None
    accepted: Stamp | None = None
    replied_at: datetime | None = None
    round: int = 1
    verification: Verification = Verification()
    # levels (issue 12): a district that passed the ticket down to its street office stays answerable
    responsible_unit: str | None = None
    responsible_unit_name: str | None = None
    # merges (并单, issue 12): the n-th merge of the ticket routing has applied, and into which ticket
    merge_no: int = 0
    merged_into: str | None = None
    version: int = 0  # the store's optimistic-concurrency version; the rules never change it

    @property
    def lead(self) -> LeadUnit | None:
        """The lead unit, while the ticket has one (its id and name are set together)."""
        if self.lead_unit is None or self.lead_unit_name is None:
            return None
        return LeadUnit(id=self.lead_unit, name=self.lead_unit_name)

    @property
    def responsible(self) -> LeadUnit | None:
        """The district or county government answerable for a ticket it passed down (下派)."""
        if self.responsible_unit is None or self.responsible_unit_name is None:
            return None
        return LeadUnit(id=self.responsible_unit, name=self.responsible_unit_name)


def new_assignment(ticket: TicketFacts, *, now: datetime) -> Assignment:
    return Assignment(ticket_id=ticket.ticket_id, number=ticket.number, type=ticket.type,
                      category=ticket.category, district=ticket.district, key_ticket=ticket.key_ticket,
                      registered_at=now)


def public_state(a: Assignment) -> AssignmentState:
    """What every routing event says about the assignment after it (for views and subscribers)."""
    return AssignmentState(
        status=a.status,
        lead_unit=a.lead,
        first_responsible=a.first_responsible,
        co_units=[CoUnitState(unit_id=co.unit_id, unit_name=co.unit_name, status=co.status) for co in a.co_units],
        dispatch_no=a.dispatch_no,
        round=a.round,
        responsible_unit=a.responsible,
    )


def units_involved(a: Assignment) -> list[str]:
    """Units whose people may see the ticket: the lead, the co-units that have not declined, and the
    district that passed it down to its street office (it stays answerable)."""
    lead = [a.lead_unit] if a.lead_unit else []
    parent = [a.responsible_unit] if a.responsible_unit and a.responsible_unit != a.lead_unit else []
    return lead + parent + [co.unit_id for co in a.co_units if co.status != CoUnitStatus.DECLINED]


def actor_ref(actor: Actor) -> ActorRef:
    return ActorRef(user_id=actor.user_id, role=cast(Role, actor.role), unit_id=actor.unit_id)


def instant(now: datetime) -> Instant:
    return Instant(as_utc(now).isoformat(timespec="milliseconds").replace("+00:00", "Z"))


def _stamp(actor: Actor, now: datetime) -> Stamp:
    return Stamp(user_id=actor.user_id, role=actor.role, unit_id=actor.unit_id, at=now)


EventT = TypeVar("EventT", bound=RoutingEvent)


def _emit(a: Assignment, event_class: type[EventT], *, now: datetime, actor: Actor,
          **data: Any) -> tuple[Assignment, EventT]:
    """The event for the state `a` has reached; `seq` numbers the assignment's events in order."""
    a = replace(a, event_seq=a.event_seq + 1)
    fields: dict[str, Any] = {
        "ticket_id": a.ticket_id, "number": a.number, "unit_id": a.lead_unit, "at": instant(now),
        "actor": actor_ref(actor), "seq": a.event_seq, "state": public_state(a), "units": units_involved(a),
    }
    return a, event_class(**{**fields, **data})


# -- dispatch (R3, R6) ------------------------------------------------------------------------------

def route_new_ticket(ticket: TicketFacts, *, now: datetime, actor: Actor, rules: Iterable[Rule],
                     units: Units) -> tuple[Assignment, list[Event]]:
    """Dispatch by the most specific rule (R3, R6), or park the ticket for manual dispatch."""
    return route(new_assignment(ticket, now=now), now=now, actor=actor, rules=rules, units=units)


def route(a: Assignment, *, now: datetime, actor: Actor, rules: Iterable[Rule], units: Units,
          exclude_unit: str | None = None, kind: DispatchKind | None = None) -> tuple[Assignment, list[Event]]:
    """The best rule's unit gets the ticket; without one it waits for an operator."""
    rule = choose_rule(rules, a.category, a.district, exclude_unit)
    if rule is None or rule.lead_unit not in units:
        reason = "没有匹配的派单规则" if rule is None else f"规则 {rule.id} 指定的承办单位不存在"
        state = replace(a, status=AssignmentStatus.AWAITING_DISPATCH, awaiting_reason=reason)
        state, event = _emit(state, TicketAwaitingDispatch, now=now, actor=actor, reason=reason)
        return state, [event]
    return dispatch(a, rule.lead_unit, list(rule.co_units), now=now, actor=actor, units=units, rule=rule,
                    first_responsible=rule.first_responsible, previous_unit=exclude_unit,
                    kind=kind or ("return" if exclude_unit else "rule"))


def dispatch(a: Assignment, unit_id: str, co_unit_ids: list[str], *, now: datetime, actor: Actor,
             units: Units, rule: Rule | None = None, first_responsible: bool = False, note: str = "",
             previous_unit: str | None = None, kind: DispatchKind = "manual", keeps_deadline: bool = False,
             responsible: LeadUnit | None = None) -> tuple[Assignment, list[Event]]:
    """交办: hand the ticket to `unit_id` (with co-units). Automatic (a rule) or manual (an operator);
    re-dispatched (改派) or passed down (下派) keeping the first dispatch's deadline (`keeps_deadline`);
    `responsible`: the district that passed it down and stays answerable."""
    if unit_id not in units:
        raise ValidationFailed("unknown unit", errors={"unit_id": [f"no unit {unit_id}"]})
    unknown = [u for u in co_unit_ids if u not in units]
    if unknown:
        raise ValidationFailed("unknown co-unit", errors={"co_units": [f"no unit {', '.join(unknown)}"]})
    number = a.dispatch_no + 1
    previous = previous_unit or a.lead_unit
    co_units = tuple(CoUnit(unit_id=u, unit_name=units[u]["name"], task="", status=CoUnitStatus.PENDING,
                            added_at=now, added_by=actor_ref(actor))
                     for u in dict.fromkeys(co_unit_ids) if u != unit_id)
    record = DispatchRecord(no=number, unit_id=unit_id, at=now, by=actor_ref(actor),
                            rule_id=rule.id if rule else None, manual=rule is None, note=note)
    unit_name = units[unit_id]["name"]
    state = replace(a, status=AssignmentStatus.DISPATCHED, lead_unit=unit_id, lead_unit_name=unit_name,
                    co_units=co_units, first_responsible=first_responsible, rule_id=record.rule_id,
                    dispatch_no=number, dispatched_at=now, dispatches=(*a.dispatches, record), accepted=None,
                    awaiting_reason=None, responsible_unit=responsible.id if responsible else None,
                    responsible_unit_name=responsible.name if responsible else None)
    state, event = _emit(
        state, TicketDispatched, now=now, actor=actor, type=a.type, category=a.category, district=a.district,
        unit_id=unit_id, unit_name=unit_name, unit_leaders=sorted(leaders_of(units[unit_id])),
        co_units=[UnitRef(unit_id=co.unit_id, unit_name=co.unit_name) for co in co_units],
        first_responsible=first_responsible, rule_id=record.rule_id, manual=record.manual,
        dispatch_no=number, dispatched_at=instant(now), previous_unit=previous, kind=kind,
        keeps_deadline=keeps_deadline, reason=note or None)
    return state, [event]


def manual_dispatch(a: Assignment, cmd: c.Dispatch, *, now: datetime, actor: Actor,
                    units: Units) -> tuple[Assignment, list[Event]]:
    """An operator dispatches a ticket that waits in the manual queue (待派单)."""
    actor.require(OPERATOR, ADMIN)
    if a.status != AssignmentStatus.AWAITING_DISPATCH:
        raise Conflict(f"the ticket is {a.status}, not waiting for dispatch")
    return dispatch(a, cmd.unit_id, list(cmd.co_units), now=now, actor=actor, units=units,
                    first_responsible=cmd.first_responsible, note=cmd.note)


# -- re-dispatch and levels (issue 12) ----------------------------------------------------------------

def redispatch(a: Assignment, cmd: c.Redispatch, *, now: datetime, actor: Actor,
               units: Units) -> tuple[Assignment, list[Event]]:
    """改派: the hotline office withdraws a ticket its unit has not signed for yet and gives it to
    another unit, with the reason. The first unit no longer sees it; the deadline keeps counting from
    the first dispatch (sla moves the running clock)."""
    actor.require(OPERATOR, ADMIN)
    if a.status != AssignmentStatus.DISPATCHED:
        raise Conflict(f"the ticket is {a.status}; only a ticket its unit has not signed for (签收) is re-dispatched"
                       + ("; a signed-for ticket comes back by a return (退单, R5)" if a.lead_unit else ""))
    if cmd.unit_id == a.lead_unit:
        raise RuleViolation("re-dispatch to another unit than the one that has it",
                            {"errors": {"unit_id": ["another unit"]}})
    reason = _reason(cmd.reason, "why the ticket goes to another unit (改派理由)")
    return dispatch(a, cmd.unit_id, list(cmd.co_units), now=now, actor=actor, units=units,
                    first_responsible=cmd.first_responsible, note=reason, kind="redispatch", keeps_deadline=True)


def pass_down(a: Assignment, cmd: c.PassDown, *, now: datetime, actor: Actor,
              units: Units) -> tuple[Assignment, list[Event]]:
    """下派: a district or county government passes its ticket to one of its street or town offices
    (a unit whose `parent` it is). The street office works it with the same rules; the district stays
    answerable: it sees the ticket and its reply. The deadline keeps counting from the first dispatch."""
    lead = require_lead(a, actor)
    if a.status not in (AssignmentStatus.DISPATCHED, AssignmentStatus.ACCEPTED, AssignmentStatus.REVIEWED):
        raise Conflict(f"the ticket is {a.status}; a ticket is passed down while it is being handled, before the reply")
    target = units.get(cmd.unit_id)
    if target is None:
        raise ValidationFailed("unknown unit", errors={"unit_id": [f"no unit {cmd.unit_id}"]})
    if target.get("parent") != lead.id:
        raise RuleViolation(f"{target.get('name', cmd.unit_id)} is not one of {lead.name}'s street or town offices",
                            {"errors": {"unit_id": [f"a unit whose parent is {lead.id}"]}})
    reason = _reason(cmd.reason, "what the street office is to do (下派说明)")
    responsible = a.responsible or lead
    return dispatch(a, cmd.unit_id, [co.unit_id for co in a.co_units if co.status != CoUnitStatus.DECLINED],
                    now=now, actor=actor, units=units, first_responsible=a.first_responsible, note=reason,
                    kind="pass_down", keeps_deadline=True, responsible=responsible, previous_unit=lead.id)


def _reason(text: str, what: str) -> str:
    text = text.strip()
    if len(text) < MIN_REASON_CHARS:
        raise ValidationFailed("the reason is required", errors={"reason": [f"{what}, at least {MIN_REASON_CHARS} characters"]})
    return text


# -- merges (并单, issue 12): from intake's ticket.merged / ticket.unmerged -----------------------------

def withdraw(a: Assignment, cmd: c.Withdraw, *, now: datetime, actor: Actor) -> tuple[Assignment, list[Event]]:
    """The ticket was merged into another one: its unit no longer has it (sla stops its clock). A merge
    already applied changes nothing."""
    if cmd.merge_no <= a.merge_no:
        return a, []
    if a.status == AssignmentStatus.REPLIED:
        raise Conflict(f"{a.number} has been replied to; it is not withdrawn")
    previous = a.lead_unit
    state = replace(a, status=AssignmentStatus.WITHDRAWN, lead_unit=None, lead_unit_name=None, co_units=(),
                    first_responsible=False, responsible_unit=None, responsible_unit_name=None,
                    merge_no=cmd.merge_no, merged_into=cmd.main_number, awaiting_reason=None)
    state, event = _emit(state, AssignmentWithdrawn, now=now, actor=actor, previous_unit=previous,
                         main_ticket_id=cmd.main_ticket_id, main_number=cmd.main_number)
    return state, [event]


def reinstate(a: Assignment, cmd: c.Reinstate, *, now: datetime, actor: Actor, rules: Iterable[Rule],
              units: Units) -> tuple[Assignment, list[Event]]:
    """Unmerged: the ticket is routed on its own (by its rules, or to the manual queue). Before routing
    has applied the merge it undoes, it waits (NotYet)."""
    if cmd.merge_no < a.merge_no or (cmd.merge_no == a.merge_no and a.merged_into is None):
        return a, []  # applied before
    if cmd.merge_no > a.merge_no:
        raise NotYet(f"{a.number}: merge {cmd.merge_no} has not reached routing yet")
    released = replace(a, merged_into=None)
    return route(released, now=now, actor=actor, rules=rules, units=units, kind="unmerged")


# -- authorisation on an assignment ----------------------------------------------------------------

def require_lead(a: Assignment, actor: Actor) -> LeadUnit:
    """The lead unit's people act on the ticket; anyone else's unit does not even see it (404)."""
    if actor.role not in UNIT_ROLES:
        raise Forbidden("only the handling unit does this")
    lead = a.lead
    if lead is None or actor.unit_id != lead.id:
        raise NotFound(f"ticket {a.number} not found")
    return lead


def require_own_unit(unit_id: str, actor: Actor) -> None:
    """A co-unit's people answer for their own unit only."""
    if actor.unit_id != unit_id:
        raise Forbidden("act only for your own unit")


def co_unit_of(a: Assignment, actor: Actor) -> CoUnit:
    if actor.role not in UNIT_ROLES:
        raise Forbidden("only a co-unit does this")
    for co in a.co_units:
        if co.unit_id == actor.unit_id:
            return co
    raise NotFound(f"ticket {a.number} not found")


def can_see(a: Assignment, actor: Actor) -> bool:
    if actor.role in CITY_ROLES:
        return True
    return actor.role in UNIT_ROLES and actor.unit_id in [a.lead_unit, a.responsible_unit] + \
        [co.unit_id for co in a.co_units]


# -- the unit's steps ------------------------------------------------------------------------------

def accept(a: Assignment, cmd: c.Accept, *, now: datetime, actor: Actor) -> tuple[Assignment, list[Event]]:
    """签收: the lead unit acknowledges receipt."""
    require_lead(a, actor)
    if a.status != AssignmentStatus.DISPATCHED:
        raise Conflict(f"the ticket is {a.status}; only a dispatched ticket is signed for")
    state = replace(a, status=AssignmentStatus.ACCEPTED, accepted=_stamp(actor, now))
    state, event = _emit(state, AssignmentAccepted, now=now, actor=actor)
    return state, [event]


def review(a: Assignment, cmd: c.Review, *, now: datetime, actor: Actor,
           unit: Unit) -> tuple[Assignment, list[Event]]:
    """阅批 (R4): the unit's main or deputy leader reads the ticket and writes instructions."""
    require_lead(a, actor)
    if actor.role != UNIT_LEADER or actor.user_id not in leaders_of(unit):
        raise Forbidden("only the unit's main leader or deputy leader in charge reviews (阅批, R4)")
    if a.status not in (AssignmentStatus.ACCEPTED, AssignmentStatus.REVIEWED):
        raise Conflict(f"the ticket is {a.status}; sign for it (签收) before the leader reviews it")
    text = cmd.instructions.strip()
    if len(text) < MIN_REASON_CHARS:
        raise ValidationFailed("instructions are required", errors={"instructions": [
            f"the leader's instructions (批示), at least {MIN_REASON_CHARS} characters"]})
    leader = unit["main_leader"] if actor.user_id == unit["main_leader"]["user_id"] else unit["deputy_leader"]
    entry = LeaderReview(user_id=actor.user_id, role=actor.role, unit_id=actor.unit_id, at=now,
                         name=leader["name"], title=leader.get("title", ""), instructions=text)
    state = replace(a, status=AssignmentStatus.REVIEWED, reviews=(*a.reviews, entry))
    state, event = _emit(state, AssignmentReviewed, now=now, actor=actor, reviewer=entry.name,
                         reviewer_title=entry.title)
    return state, [event]


def is_token_reply(text: str) -> bool:
    core = re.sub(r"[\s\W_]+", "", text.lower())
    return len(core) < MIN_REPLY_CHARS or core in TOKEN_REPLIES


def reply(a: Assignment, cmd: c.Reply, *, now: datetime, actor: Actor) -> tuple[Assignment, list[Event]]:
    """答复 (R4, R9): after leader review, a numbered reply with the handling result."""
    require_lead(a, actor)
    if a.status == AssignmentStatus.REPLIED:
        raise Conflict("the ticket has been replied to already")
    if a.status != AssignmentStatus.REVIEWED:
        raise Conflict("the leader has not reviewed the ticket (阅批) yet; the reply follows the review (R4)")
    if a.verification.required and not a.verification.filed:
        raise Conflict("the on-site verification record (现场核查) must be filed before the reply (R10)")
    errors = {}
    result = cmd.result
    content = cmd.content.strip()
    basis = cmd.basis.strip()
    invalid_reason = cmd.invalid_reason.strip()
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
    reply_no = f"{a.number}-{len(a.replies) + 1:02d}"
    contributions = tuple(Contribution(unit_id=co.unit_id, unit_name=co.unit_name, content=co.contribution or "")
                          for co in a.co_units if co.status == CoUnitStatus.CONTRIBUTED)
    pending = tuple(co.unit_id for co in a.co_units
                    if co.status in (CoUnitStatus.PENDING, CoUnitStatus.ACCEPTED))
    document = ReplyRecord(reply_no=reply_no, result=result, content=content, basis=basis or None,
                           invalid_reason=invalid_reason or None, contacted_citizen=bool(cmd.contacted_citizen),
                           contributions=contributions, co_units_pending=pending, user_id=actor.user_id,
                           role=actor.role, unit_id=actor.unit_id, at=now)
    state = replace(a, status=AssignmentStatus.REPLIED, replies=(*a.replies, document), replied_at=now)
    state, event = _emit(state, TicketReplied, now=now, actor=actor, reply_no=reply_no, result=result,
                         contacted_citizen=document.contacted_citizen,
                         contributions=[co.unit_id for co in contributions], co_units_pending=list(pending),
                         replied_at=instant(now), public_summary=cmd.public_summary.strip() or None)
    return state, [event]


def request_return(a: Assignment, cmd: c.RequestReturn, *, now: datetime,
                   actor: Actor) -> tuple[Assignment, list[Event]]:
    """退单 (R5): not this unit's responsibility; at once, with the reason, before any reply."""
    lead = require_lead(a, actor)
    if a.status not in (AssignmentStatus.DISPATCHED, AssignmentStatus.ACCEPTED, AssignmentStatus.REVIEWED):
        raise Conflict(f"the ticket is {a.status}; a return comes before the reply")
    text = cmd.reason.strip()
    if len(text) < MIN_REASON_CHARS:
        raise ValidationFailed("a return needs its reason", errors={"reason": [
            f"why the ticket is not this unit's responsibility (退单理由), at least {MIN_REASON_CHARS} characters"]})
    entry = ReturnRecord(unit_id=lead.id, unit_name=lead.name, reason=text,
                         first_responsible=a.first_responsible, requested=_stamp(actor, now),
                         status_before=a.status)
    state = replace(a, status=AssignmentStatus.RETURN_REQUESTED, returns=(*a.returns, entry))
    state, event = _emit(state, ReturnRequested, now=now, actor=actor, reason=text,
                         first_responsible=a.first_responsible)
    return state, [event]


def decide_return(a: Assignment, cmd: c.DecideReturn, *, now: datetime, actor: Actor, rules: Iterable[Rule],
                  units: Units) -> tuple[Assignment, list[Event]]:
    """The hotline office approves a return (the ticket goes to another unit: by default the best rule
    not led by the returning unit, else the manual queue) or rejects it (the unit keeps it, and its
    clock keeps running). A first-responsible unit refusing its own category is escalated (R14)."""
    actor.require(OPERATOR, ADMIN)
    if a.status != AssignmentStatus.RETURN_REQUESTED:
        raise Conflict(f"the ticket is {a.status}; no return is waiting for a decision")
    pending = a.returns[-1]
    note = cmd.note.strip()
    decided = replace(pending, decision="approved" if cmd.approve else "rejected", note=note,
                      decided=_stamp(actor, now))
    returns = (*a.returns[:-1], decided)
    returning = pending.unit_id
    if not cmd.approve:
        state = replace(a, status=pending.status_before, returns=returns)
        state, rejected = _emit(state, ReturnRejected, now=now, actor=actor, returning_unit=returning,
                                note=note, first_responsible=pending.first_responsible)
        events: list[Event] = [rejected]
        if pending.first_responsible:
            state, refused = _emit(state, AssignmentRefused, now=now, actor=actor, refusing_unit=returning,
                                   category=a.category, reason=pending.reason)
            events.append(refused)
        return state, events
    if cmd.redispatch_to == returning:
        raise RuleViolation("a returned ticket goes to another unit, not back to the one that returned it (R5)")
    released = replace(a, returns=returns, status=AssignmentStatus.AWAITING_DISPATCH, lead_unit=None,
                       lead_unit_name=None, co_units=(), first_responsible=False, responsible_unit=None,
                       responsible_unit_name=None)
    released, approved = _emit(released, ReturnApproved, now=now, actor=actor, returning_unit=returning,
                               note=note)
    if cmd.redispatch_to:
        state, then = dispatch(released, cmd.redispatch_to, [], now=now, actor=actor, units=units, note=note,
                               previous_unit=returning, kind="return")
    else:
        state, then = route(released, now=now, actor=actor, rules=rules, units=units, exclude_unit=returning)
    return state, [approved, *then]


def add_co_unit(a: Assignment, cmd: c.AddCoUnit, *, now: datetime, actor: Actor,
                units: Units) -> tuple[Assignment, list[Event]]:
    """R6: the lead (above all a first-responsible one) organises co-units, each with its part."""
    require_lead(a, actor)
    if a.status in (AssignmentStatus.REPLIED, AssignmentStatus.RETURN_REQUESTED):
        raise Conflict(f"the ticket is {a.status}; co-units are organised while it is being handled")
    if cmd.unit_id not in units or cmd.unit_id == a.lead_unit:
        raise ValidationFailed("not a co-unit", errors={"unit_id": ["an existing unit other than the lead"]})
    text = cmd.task.strip()
    if len(text) < MIN_REASON_CHARS:
        raise ValidationFailed("the co-unit's part is required", errors={"task": [
            f"what the co-unit must do, at least {MIN_REASON_CHARS} characters"]})
    others = tuple(co for co in a.co_units if co.unit_id != cmd.unit_id)
    existing = next((co for co in a.co_units if co.unit_id == cmd.unit_id), None)
    status: CoStatus = (existing.status if existing and existing.status != CoUnitStatus.DECLINED
                        else CoUnitStatus.PENDING)
    entry = CoUnit(unit_id=cmd.unit_id, unit_name=units[cmd.unit_id]["name"], task=text, status=status,
                   added_at=now, added_by=actor_ref(actor))
    state = replace(a, co_units=(*others, entry))
    state, event = _emit(state, CounitAdded, now=now, actor=actor, co_unit=entry.unit_id,
                         co_unit_name=entry.unit_name, task=text)
    return state, [event]


# -- a co-unit (R6, R14) ---------------------------------------------------------------------------

def co_unit_accept(a: Assignment, cmd: c.CoUnitAccept, *, now: datetime,
                   actor: Actor) -> tuple[Assignment, list[Event]]:
    """A co-unit accepts its part."""
    return _co_unit_answer(a, cmd.unit_id, True, "", now=now, actor=actor)


def co_unit_decline(a: Assignment, cmd: c.CoUnitDecline, *, now: datetime,
                    actor: Actor) -> tuple[Assignment, list[Event]]:
    """A co-unit declines with a reason: a refusal the supervision centre hears of (R14)."""
    return _co_unit_answer(a, cmd.unit_id, False, cmd.reason, now=now, actor=actor)


def _co_unit_answer(a: Assignment, unit_id: str, accept_it: bool, reason: str, *, now: datetime,
                    actor: Actor) -> tuple[Assignment, list[Event]]:
    require_own_unit(unit_id, actor)
    mine = co_unit_of(a, actor)
    if mine.status != CoUnitStatus.PENDING:
        raise Conflict(f"this co-unit has already answered ({mine.status})")
    text = reason.strip()
    if not accept_it and len(text) < MIN_REASON_CHARS:
        raise ValidationFailed("a decline needs its reason", errors={"reason": [
            f"why the co-unit will not take part, at least {MIN_REASON_CHARS} characters"]})
    updated = replace(mine, status=CoUnitStatus.ACCEPTED if accept_it else CoUnitStatus.DECLINED,
                      answered=_stamp(actor, now), reason=text or None)
    state = replace(a, co_units=tuple(updated if co.unit_id == mine.unit_id else co for co in a.co_units))
    common = {"co_unit": mine.unit_id, "co_unit_name": mine.unit_name, "first_responsible": a.first_responsible}
    if accept_it:
        state, accepted = _emit(state, CounitAccepted, now=now, actor=actor, reason=text or None, **common)
        return state, [accepted]
    state, declined = _emit(state, CounitDeclined, now=now, actor=actor, reason=text, **common)
    return state, [declined]


def co_unit_contribute(a: Assignment, cmd: c.CoUnitContribute, *, now: datetime,
                       actor: Actor) -> tuple[Assignment, list[Event]]:
    """The co-unit's part of the joint solution, gathered into the lead's reply."""
    require_own_unit(cmd.unit_id, actor)
    mine = co_unit_of(a, actor)
    if mine.status not in (CoUnitStatus.ACCEPTED, CoUnitStatus.CONTRIBUTED):
        raise Conflict("accept the co-unit task before contributing")
    if a.status == AssignmentStatus.REPLIED:
        raise Conflict("the lead unit has replied already")
    text = cmd.content.strip()
    if is_token_reply(text):
        raise ValidationFailed("the contribution must be specific", errors={"content": [
            f"what the co-unit did and found, at least {MIN_REPLY_CHARS} characters"]})
    updated = replace(mine, status=CoUnitStatus.CONTRIBUTED, contribution=text, contributed=_stamp(actor, now))
    state = replace(a, co_units=tuple(updated if co.unit_id == mine.unit_id else co for co in a.co_units))
    state, event = _emit(state, CounitContributed, now=now, actor=actor, co_unit=mine.unit_id,
                         co_unit_name=mine.unit_name)
    return state, [event]


# -- handling again, verification (R10, R15) -------------------------------------------------------

def reopen(a: Assignment, cmd: c.Reopen, *, now: datetime, actor: Actor) -> tuple[Assignment, list[Event]]:
    """The unit handles the ticket again: the citizen was unsatisfied (重办, with an on-site
    verification first, R10) or the supervision centre ordered a re-investigation (R15).
    A new round starts: leader review and a new reply; sla starts a new clock."""
    if a.lead_unit is None or a.status in (AssignmentStatus.AWAITING_DISPATCH, AssignmentStatus.RETURN_REQUESTED):
        raise Conflict(f"the ticket is {a.status}; it has no unit to handle it again")
    round_no = a.round + 1
    status: Status = (AssignmentStatus.DISPATCHED if a.status == AssignmentStatus.DISPATCHED
                      else AssignmentStatus.ACCEPTED)
    state = replace(a, status=status, round=round_no)
    if cmd.reason == "unsatisfied":
        state = replace(state, verification=Verification(required=True, filed=False, reason="unsatisfied"))
    state, event = _emit(state, AssignmentReopened, now=now, actor=actor, reason=cmd.reason, round=round_no,
                         working_days=cmd.working_days, type=a.type)
    return state, [event]


def require_verification(a: Assignment, cmd: c.RequireVerification, *, now: datetime,
                         actor: Actor) -> tuple[Assignment, list[Event]]:
    """A key ticket (重点问题件) needs an on-site verification before its reply (R10)."""
    return replace(a, verification=Verification(required=True, filed=False, reason=cmd.reason)), []


def verification_filed(a: Assignment, cmd: c.RecordVerification, *, now: datetime,
                       actor: Actor) -> tuple[Assignment, list[Event]]:
    """The on-site verification record is filed: the reply may follow."""
    return replace(a, verification=replace(a.verification, filed=True)), []
