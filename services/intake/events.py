"""Events intake publishes: registrations, callbacks, closing, key tickets, challenges, merges (并单) and the
knowledge base's changes (R1, R10, R11, R14, R19).

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
    channel: Literal["phone", "web", "app", "wechat", "external", "open311"]
    type: TicketType
    category: str
    district: str
    key_ticket: bool
    registered_at: Instant
    disposition: Literal["dispatch", "direct_answer", "merged", "transferred", "referred", "out_of_scope",
                         "malicious"] = constrained(
        "dispatch", description="what intake did with it: only `dispatch` goes to routing; a direct answer "
                                "(直接答复) and the sorted-out calls are closed at intake, a merged one follows "
                                "its main ticket (并单)")
    referred_to: str | None = constrained(
        None, description="transferred: the emergency number (110/119/120/122); referred: the legal channel")
    knowledge_entry_id: str | None = constrained(
        None, description="the knowledge-base entry the ticket cites (a direct answer always does)")


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


@register
@dataclass(frozen=True, kw_only=True)
class TicketMerged(Event):
    """An operator merged the ticket into an open main ticket (并单): it follows the main ticket's handling and result, is not dispatched on its own, and still gets its own callback"""
    TYPE: ClassVar[str] = "ticket.merged"
    SOURCE: ClassVar[str] = "intake"
    ticket_id: str
    number: str
    main_ticket_id: str
    main_number: str
    unit_id: str | None = constrained(description="the main ticket's lead unit, if it has one yet")
    merge_no: int = constrained(minimum=1, description="the n-th merge of this ticket (orders merge and unmerge)")
    at_registration: bool = constrained(description="merged as it was registered: it was never dispatched")
    reason: str
    at: Instant
    actor: ActorRef


@register
@dataclass(frozen=True, kw_only=True)
class TicketUnmerged(Event):
    """An operator took a merged ticket out of its main ticket, with a reason: it is handled on its own again (routing dispatches it)"""
    TYPE: ClassVar[str] = "ticket.unmerged"
    SOURCE: ClassVar[str] = "intake"
    ticket_id: str
    number: str
    main_ticket_id: str
    main_number: str
    merge_no: int = constrained(minimum=1)
    reason: str
    at: Instant
    actor: ActorRef
    type: TicketType
    category: str
    district: str
    key_ticket: bool


@dataclass(frozen=True, kw_only=True)
class KnowledgeEvent(Event):
    SOURCE: ClassVar[str] = "intake"
    entry_id: str
    unit_id: str = constrained(description="the unit that owns the entry")
    category: str
    revision: int = constrained(minimum=1, description="the entry's revision after the change")
    at: Instant
    actor: ActorRef


@register
@dataclass(frozen=True, kw_only=True)
class KnowledgeSubmitted(KnowledgeEvent):
    """A unit wrote a knowledge-base entry or a change to one; it waits for the hotline office's approval (R19)"""
    TYPE: ClassVar[str] = "knowledge.submitted"
    change: Literal["created", "updated"]


@register
@dataclass(frozen=True, kw_only=True)
class KnowledgePublished(KnowledgeEvent):
    """The hotline office approved a knowledge-base entry (or its change): operators find and cite it (R19)"""
    TYPE: ClassVar[str] = "knowledge.published"
    first: bool = constrained(description="the entry's first publication")


@register
@dataclass(frozen=True, kw_only=True)
class KnowledgeRejected(KnowledgeEvent):
    """The hotline office sent a knowledge-base entry's change back to its unit, with a note (R19)"""
    TYPE: ClassVar[str] = "knowledge.rejected"
    note: str


@register
@dataclass(frozen=True, kw_only=True)
class KnowledgeRetired(KnowledgeEvent):
    """A knowledge-base entry was retired: operators no longer find or cite it (R19)"""
    TYPE: ClassVar[str] = "knowledge.retired"
    reason: str
