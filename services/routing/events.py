"""Events routing publishes: dispatch, the unit's steps, returns, co-units, reopening (R3-R6, R9, R14, R15).

Every routing event carries the assignment's state after it (`state`, `units`) and its order (`seq`).

Generated once from the hand-written schemas; now the classes are the contract and
`docs/events/*.schema.json` is generated from them (`python -m hotline_common.contracts`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Literal  # noqa: F401

from hotline_common.messages import (  # noqa: F401
    ActorRef,
    Day,
    Event,
    Instant,
    TicketType,
    constrained,
    register,
)


@dataclass(frozen=True, kw_only=True)
class UnitRef:
    unit_id: str
    unit_name: str


@dataclass(frozen=True, kw_only=True)
class LeadUnit:
    id: str
    name: str


@dataclass(frozen=True, kw_only=True)
class CoUnitState:
    unit_id: str
    unit_name: str
    status: Literal["pending", "accepted", "declined", "contributed"]


@dataclass(frozen=True, kw_only=True)
class AssignmentState:
    """The assignment after the change: whoever shows it converges whatever order events arrive in."""
    status: Literal["awaiting_dispatch", "dispatched", "accepted", "reviewed", "replied", "return_requested",
                    "withdrawn"]
    lead_unit: LeadUnit | None
    first_responsible: bool
    co_units: list[CoUnitState]
    dispatch_no: int = constrained(minimum=0)
    round: int = constrained(minimum=1)
    responsible_unit: LeadUnit | None = constrained(
        None, description="the district or county government that passed the ticket down to its street office "
                          "and stays answerable for it (sees it, is told of its reply)")


@dataclass(frozen=True, kw_only=True)
class RoutingEvent(Event):
    SOURCE: ClassVar[str] = "routing"
    ticket_id: str
    number: str
    unit_id: str | None = constrained(description="the lead unit after the change")
    at: Instant
    actor: ActorRef
    seq: int = constrained(minimum=1, description="orders the assignment's events")
    state: AssignmentState
    units: list[str] = constrained(description="units whose people see the ticket")


@register
@dataclass(frozen=True, kw_only=True)
class AssignmentAccepted(RoutingEvent):
    """The lead unit signed for the ticket (签收)"""
    TYPE: ClassVar[str] = "assignment.accepted"


@register
@dataclass(frozen=True, kw_only=True)
class AssignmentRefused(RoutingEvent):
    """A first-responsible unit refused a ticket of its own category: for the supervision centre (R14)"""
    TYPE: ClassVar[str] = "assignment.refused"
    refusing_unit: str
    category: str
    reason: str


@register
@dataclass(frozen=True, kw_only=True)
class AssignmentReopened(RoutingEvent):
    """The unit handles the ticket again in a new round (unsatisfied, R10; re-investigation, R15)"""
    TYPE: ClassVar[str] = "assignment.reopened"
    reason: Literal["unsatisfied", "reinvestigation"]
    round: int = constrained(minimum=1)
    working_days: int | None
    type: TicketType


@register
@dataclass(frozen=True, kw_only=True)
class AssignmentReviewed(RoutingEvent):
    """The unit's main or deputy leader reviewed the ticket and wrote instructions (阅批, R4); the instructions stay in routing"""
    TYPE: ClassVar[str] = "assignment.reviewed"
    reviewer: str
    reviewer_title: str


@register
@dataclass(frozen=True, kw_only=True)
class CounitAccepted(RoutingEvent):
    """A co-unit accepted its part (R6)"""
    TYPE: ClassVar[str] = "counit.accepted"
    co_unit: str
    co_unit_name: str
    reason: str | None
    first_responsible: bool


@register
@dataclass(frozen=True, kw_only=True)
class CounitAdded(RoutingEvent):
    """The lead unit organised a co-unit with its part of the work (R6)"""
    TYPE: ClassVar[str] = "counit.added"
    co_unit: str
    co_unit_name: str
    task: str


@register
@dataclass(frozen=True, kw_only=True)
class CounitContributed(RoutingEvent):
    """A co-unit submitted its contribution to the joint solution (R6)"""
    TYPE: ClassVar[str] = "counit.contributed"
    co_unit: str
    co_unit_name: str


@register
@dataclass(frozen=True, kw_only=True)
class CounitDeclined(RoutingEvent):
    """A co-unit declined, with a reason: for the supervision centre (R6, R14)"""
    TYPE: ClassVar[str] = "counit.declined"
    co_unit: str
    co_unit_name: str
    reason: str
    first_responsible: bool


@register
@dataclass(frozen=True, kw_only=True)
class ReturnApproved(RoutingEvent):
    """The hotline office approved a return; the ticket goes to another unit (R5)"""
    TYPE: ClassVar[str] = "return.approved"
    returning_unit: str
    note: str


@register
@dataclass(frozen=True, kw_only=True)
class ReturnRejected(RoutingEvent):
    """The hotline office rejected a return; the unit keeps the ticket and its clock (R5)"""
    TYPE: ClassVar[str] = "return.rejected"
    returning_unit: str
    note: str
    first_responsible: bool


@register
@dataclass(frozen=True, kw_only=True)
class ReturnRequested(RoutingEvent):
    """The lead unit asked to return the ticket as not its responsibility (退单, R5)"""
    TYPE: ClassVar[str] = "return.requested"
    reason: str
    first_responsible: bool


@register
@dataclass(frozen=True, kw_only=True)
class TicketAwaitingDispatch(RoutingEvent):
    """No routing rule matched, or a return was approved with no other unit: the ticket waits for manual dispatch (待派单)"""
    TYPE: ClassVar[str] = "ticket.awaiting_dispatch"
    reason: str


@register
@dataclass(frozen=True, kw_only=True)
class TicketDispatched(RoutingEvent):
    """A ticket was dispatched (交办) to a lead unit, with co-units (R3, R6)"""
    TYPE: ClassVar[str] = "ticket.dispatched"
    type: TicketType
    category: str
    district: str
    unit_name: str
    co_units: list[UnitRef]
    first_responsible: bool
    rule_id: str | None
    manual: bool
    dispatch_no: int = constrained(minimum=1)
    dispatched_at: Instant
    previous_unit: str | None
    unit_leaders: list[str] = constrained(description="user ids of the unit's main and deputy leader, who may sign extensions (R8)")
    kind: Literal["rule", "manual", "return", "redispatch", "pass_down", "unmerged"] = constrained(
        "rule", description="how it came: by a rule, by an operator's manual dispatch, after an approved return, "
                            "re-dispatched by the hotline office before sign-for (改派), passed down by a district to "
                            "its street office (下派), or dispatched on its own after an unmerge")
    keeps_deadline: bool = constrained(
        False, description="the deadline keeps counting from the first dispatch (改派, 下派): sla moves the running "
                           "clock to the new unit instead of starting a new one")
    reason: str | None = constrained(None, description="why it was re-dispatched or passed down")


@register
@dataclass(frozen=True, kw_only=True)
class TicketReplied(RoutingEvent):
    """The lead unit replied (答复, R4, R9) with a numbered reply; its text stays in routing"""
    TYPE: ClassVar[str] = "ticket.replied"
    reply_no: str = constrained(pattern="-[0-9]{2}$")
    result: Literal["solved", "explained", "invalid"]
    contacted_citizen: bool
    contributions: list[str]
    co_units_pending: list[str]
    replied_at: Instant
    public_summary: str | None = constrained(
        None, description="the summary the unit marked public (the citizen's progress lookup shows it)")


@register
@dataclass(frozen=True, kw_only=True)
class AssignmentWithdrawn(RoutingEvent):
    """The ticket was merged into another (并单): routing withdrew it from its unit; it is not handled on its own (sla stops its clock)"""
    TYPE: ClassVar[str] = "assignment.withdrawn"
    previous_unit: str | None
    main_ticket_id: str
    main_number: str
