"""Events intake publishes: registrations, callbacks, closing, key tickets, challenges (R1, R10, R11, R14).

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


@register
@dataclass(frozen=True, kw_only=True)
class CallbackRecorded(Event):
    """A callback (回访) was recorded: by the hotline office or by the unit itself (R11)"""
    TYPE: ClassVar[str] = "callback.recorded"
    SOURCE: ClassVar[str] = "intake"
    ticket_id: str
    number: str
    unit_id: str | None
    round: int = constrained(minimum=1)
    at: Instant
    actor: ActorRef
    by: Literal["hotline", "unit"]
    attempt: int = constrained(minimum=0)
    reached: bool
    satisfaction: Literal["satisfied", "basically_satisfied", "unsatisfied"] | None
    solved: bool | None
    unit_contacted: bool | None
    challenge: bool


@register
@dataclass(frozen=True, kw_only=True)
class TicketChallenged(Event):
    """The citizen reasonably challenges the result (合理质疑): for the supervision centre (R14)"""
    TYPE: ClassVar[str] = "ticket.challenged"
    SOURCE: ClassVar[str] = "intake"
    ticket_id: str
    number: str
    unit_id: str | None
    round: int = constrained(minimum=1)
    at: Instant
    actor: ActorRef
    reason: str


@register
@dataclass(frozen=True, kw_only=True)
class TicketClosed(Event):
    """The ticket was closed (办结) after the callback: satisfied, basically satisfied, or unreached"""
    TYPE: ClassVar[str] = "ticket.closed"
    SOURCE: ClassVar[str] = "intake"
    ticket_id: str
    number: str
    unit_id: str | None
    round: int = constrained(minimum=1)
    at: Instant
    actor: ActorRef
    reason: Literal["satisfied", "basically_satisfied", "unreached"]


@register
@dataclass(frozen=True, kw_only=True)
class TicketMarkedKey(Event):
    """An operator marked the ticket as a key ticket (重点问题件): it needs on-site verification (R10)"""
    TYPE: ClassVar[str] = "ticket.marked_key"
    SOURCE: ClassVar[str] = "intake"
    ticket_id: str
    number: str
    unit_id: str | None
    reason: str
    at: Instant
    actor: ActorRef


@register
@dataclass(frozen=True, kw_only=True)
class TicketRegistered(Event):
    """A ticket was registered (R1). No personal data: no name, phone, address or content."""
    TYPE: ClassVar[str] = "ticket.registered"
    SOURCE: ClassVar[str] = "intake"
    ticket_id: str
    number: str
    channel: Literal["phone", "web", "app", "wechat", "external"]
    type: TicketType
    category: str
    district: str
    key_ticket: bool
    registered_at: Instant


@register
@dataclass(frozen=True, kw_only=True)
class TicketReopened(Event):
    """The citizen was unsatisfied: the ticket goes back to the unit (重办) with an on-site verification (R10)"""
    TYPE: ClassVar[str] = "ticket.reopened"
    SOURCE: ClassVar[str] = "intake"
    ticket_id: str
    number: str
    unit_id: str | None
    round: int = constrained(minimum=1)
    at: Instant
    actor: ActorRef
    reason: Literal["unsatisfied"]
