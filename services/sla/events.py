"""Events sla publishes: deadlines set, timers fired, replies on time or late, extensions (R7, R8).

Every sla event carries the clock's deadline after it.

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
class DeadlineEvent(Event):
    SOURCE: ClassVar[str] = "sla"
    ticket_id: str
    number: str
    unit_id: str
    type: TicketType
    dispatch_no: int = constrained(minimum=1)
    round: int = constrained(minimum=1, description="handling round: 1, then +1 for each reopening (R10, R15)")
    state: Literal["running", "met", "missed", "stopped"]
    started_at: Instant
    working_days: int = constrained(minimum=1)
    extended_days: int = constrained(minimum=0)
    due_date: Day
    due_at: Instant
    provisional: bool
    provisional_years: list[int]
    actor: ActorRef
    seq: int = constrained(minimum=1)


@register
@dataclass(frozen=True, kw_only=True)
class DeadlineChanged(DeadlineEvent):
    """The deadline was recomputed because the work calendar changed (a provisional year got its arrangement)"""
    TYPE: ClassVar[str] = "deadline.changed"
    previous_due_date: Day
    reason: Literal["calendar"]


@register
@dataclass(frozen=True, kw_only=True)
class DeadlineDueSoon(DeadlineEvent):
    """The last working day before the deadline began (due-soon warning)"""
    TYPE: ClassVar[str] = "deadline.due_soon"


@register
@dataclass(frozen=True, kw_only=True)
class DeadlineExtended(DeadlineEvent):
    """The hotline office approved an extension; the deadline moved (R8)"""
    TYPE: ClassVar[str] = "deadline.extended"
    extension_id: str
    extended_working_days: int = constrained(minimum=1)
    previous_due_date: Day


@register
@dataclass(frozen=True, kw_only=True)
class DeadlineMet(DeadlineEvent):
    """The unit replied by the deadline"""
    TYPE: ClassVar[str] = "deadline.met"
    replied_at: Instant


@register
@dataclass(frozen=True, kw_only=True)
class DeadlineMissed(DeadlineEvent):
    """The unit replied after the deadline"""
    TYPE: ClassVar[str] = "deadline.missed"
    replied_at: Instant


@register
@dataclass(frozen=True, kw_only=True)
class DeadlineOverdue(DeadlineEvent):
    """The deadline passed without a reply (R7, R13)"""
    TYPE: ClassVar[str] = "deadline.overdue"


@register
@dataclass(frozen=True, kw_only=True)
class DeadlineSet(DeadlineEvent):
    """The unit's deadline in working days was set (R7)"""
    TYPE: ClassVar[str] = "deadline.set"


@register
@dataclass(frozen=True, kw_only=True)
class DeadlineStillOverdue(DeadlineEvent):
    """Still no reply at the end of another working day past the deadline (R13)"""
    TYPE: ClassVar[str] = "deadline.still_overdue"
    working_days_overdue: int = constrained(minimum=1)


@register
@dataclass(frozen=True, kw_only=True)
class ExtensionRejected(DeadlineEvent):
    """The hotline office rejected an extension request (R8)"""
    TYPE: ClassVar[str] = "extension.rejected"
    extension_id: str
    note: str


@register
@dataclass(frozen=True, kw_only=True)
class ExtensionRequested(DeadlineEvent):
    """A unit leader asked for more time, signed, with the reason (延期申请, R8)"""
    TYPE: ClassVar[str] = "extension.requested"
    extension_id: str
    requested_working_days: int = constrained(minimum=1)
    reason: str
