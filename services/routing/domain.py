"""Routing rules (R3, R6): which unit leads a ticket, which units help, and dispatching it.

Pure: rules, units and tickets come in as data; times and versions as arguments.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from hotline_common.actors import Actor
from hotline_common.events import DomainEvent, T
from hotline_common.timeutil import iso


class AssignmentStatus:
    AWAITING_DISPATCH = "awaiting_dispatch"  # no rule matched: an operator dispatches by hand
    DISPATCHED = "dispatched"                # 已交办, waiting for the unit to sign for it
    ACCEPTED = "accepted"                    # 已签收
    REVIEWED = "reviewed"                    # 已阅批
    REPLIED = "replied"                      # 已答复
    RETURN_REQUESTED = "return_requested"    # 退单审核中


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


def choose_rule(rules, category: str, district: str) -> Rule | None:
    """The most specific matching rule; equal specificity is settled by rule id, so it is stable."""
    candidates = [r for r in rules if r.matches(category, district)]
    if not candidates:
        return None
    return max(candidates, key=lambda r: (r.specificity, _reverse(r.id)))


def _reverse(text: str) -> tuple:
    return tuple(-ord(c) for c in text)


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


@dataclass
class Routed:
    assignment: dict
    events: list = field(default_factory=list)


def route_new_ticket(ticket: TicketFacts, rules, units: dict, now: datetime, actor: Actor) -> Routed:
    """Dispatch by the most specific rule (R3, R6), or park the ticket for manual dispatch."""
    base = {
        "_id": ticket.ticket_id, "number": ticket.number, "type": ticket.type,
        "category": ticket.category, "district": ticket.district, "key_ticket": ticket.key_ticket,
        "registered_at": now, "dispatches": [], "returns": [], "co_units": [],
        "lead_unit": None, "first_responsible": False, "rule_id": None, "dispatch_no": 0,
    }
    rule = choose_rule(rules, ticket.category, ticket.district)
    if rule is None or rule.lead_unit not in units:
        reason = "没有匹配的派单规则" if rule is None else f"规则 {rule.id} 指定的承办单位不存在"
        assignment = {**base, "status": AssignmentStatus.AWAITING_DISPATCH, "awaiting_reason": reason}
        return Routed(assignment, [DomainEvent(T.TICKET_AWAITING_DISPATCH, ticket.number, {
            "ticket_id": ticket.ticket_id, "number": ticket.number, "reason": reason,
            "actor": actor.to_dict(), "seq": 1})])
    state, events = dispatch({**base, "status": AssignmentStatus.AWAITING_DISPATCH}, rule.lead_unit,
                             list(rule.co_units), units, now, actor, version=0, rule=rule,
                             first_responsible=rule.first_responsible)
    return Routed(state, events)


def dispatch(assignment: dict, unit_id: str, co_unit_ids: list, units: dict, now: datetime, actor: Actor,
             *, version: int, rule: Rule | None = None, first_responsible: bool = False) -> tuple[dict, list]:
    """交办: hand the ticket to `unit_id` (with co-units). Returns the new state and its events."""
    number = assignment["dispatch_no"] + 1
    co_units = [{"unit_id": u, "unit_name": units[u]["name"], "task": "", "status": "pending"}
                for u in co_unit_ids if u in units and u != unit_id]
    record = {"no": number, "unit_id": unit_id, "at": now, "by": actor.to_dict(),
              "rule_id": rule.id if rule else None, "manual": rule is None}
    state = {
        **assignment,
        "status": AssignmentStatus.DISPATCHED,
        "lead_unit": unit_id,
        "lead_unit_name": units[unit_id]["name"],
        "co_units": co_units,
        "first_responsible": first_responsible,
        "rule_id": rule.id if rule else None,
        "dispatch_no": number,
        "dispatched_at": now,
        "dispatches": assignment["dispatches"] + [record],
    }
    state.pop("awaiting_reason", None)
    event = DomainEvent(T.TICKET_DISPATCHED, assignment["number"], {
        "ticket_id": assignment["_id"], "number": assignment["number"], "type": assignment["type"],
        "category": assignment["category"], "district": assignment["district"],
        "unit_id": unit_id, "unit_name": units[unit_id]["name"],
        "co_units": [{"unit_id": c["unit_id"], "unit_name": c["unit_name"]} for c in co_units],
        "first_responsible": first_responsible, "rule_id": record["rule_id"], "manual": record["manual"],
        "dispatch_no": number, "dispatched_at": iso(now), "actor": actor.to_dict(), "seq": version + 1,
    })
    return state, [event]
