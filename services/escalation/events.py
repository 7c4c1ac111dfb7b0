"""Events escalation publishes: reminders, supervision cases, verification, accountability (R10, R13-R15, R17).

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
class AccountabilityRecorded(Event):
    """An accountability record against a unit (and person) was made (R17)"""
    TYPE: ClassVar[str] = "accountability.recorded"
    SOURCE: ClassVar[str] = "escalation"
    record_id: str
    kind: Literal["evasion", "ignored_reminders", "serious_consequences", "not_cooperating"]
    kind_label: str
    unit_id: str
    person: str | None
    ticket_id: str | None
    number: str | None
    case_id: str | None
    automatic: bool
    at: Instant
    actor: ActorRef


@register
@dataclass(frozen=True, kw_only=True)
class ReinvestigationOrdered(Event):
    """The supervision centre ordered the unit to investigate and handle again (R15)"""
    TYPE: ClassVar[str] = "reinvestigation.ordered"
    SOURCE: ClassVar[str] = "escalation"
    ticket_id: str
    number: str
    unit_id: str | None
    case_id: str
    case_no: str = constrained(pattern="^DB[0-9]{12}$")
    trigger: Literal["overdue_ignored", "citizen_challenge", "inadequate_investigation", "improper_handling", "first_responsible_refused", "co_unit_declined", "co_unit_not_cooperating"]
    trigger_label: str
    state: Literal["open", "reinvestigating", "closed"]
    actor: ActorRef
    seq: int = constrained(minimum=1)
    order: int = constrained(minimum=1)
    instructions: str
    working_days: int = constrained(minimum=1)


@register
@dataclass(frozen=True, kw_only=True)
class ReminderSent(Event):
    """The hotline office reminded the unit (催办, R13); `message` is the notice its contact receives"""
    TYPE: ClassVar[str] = "reminder.sent"
    SOURCE: ClassVar[str] = "escalation"
    ticket_id: str
    number: str
    unit_id: str
    n: int = constrained(minimum=1)
    kind: Literal["auto", "manual"]
    working_days_overdue: int = constrained(minimum=0)
    note: str
    message: str
    at: Instant
    actor: ActorRef
    seq: int = constrained(minimum=1)


@register
@dataclass(frozen=True, kw_only=True)
class SupervisionClosed(Event):
    """The supervision centre closed a case with its conclusion (R15)"""
    TYPE: ClassVar[str] = "supervision.closed"
    SOURCE: ClassVar[str] = "escalation"
    ticket_id: str
    number: str
    unit_id: str | None
    case_id: str
    case_no: str = constrained(pattern="^DB[0-9]{12}$")
    trigger: Literal["overdue_ignored", "citizen_challenge", "inadequate_investigation", "improper_handling", "first_responsible_refused", "co_unit_declined", "co_unit_not_cooperating"]
    trigger_label: str
    state: Literal["open", "reinvestigating", "closed"]
    actor: ActorRef
    seq: int = constrained(minimum=1)
    conclusion: str


@register
@dataclass(frozen=True, kw_only=True)
class SupervisionOpened(Event):
    """A supervision case was opened at the 市民诉求督办中心 with its trigger (R13, R14)"""
    TYPE: ClassVar[str] = "supervision.opened"
    SOURCE: ClassVar[str] = "escalation"
    ticket_id: str
    number: str
    unit_id: str | None
    case_id: str
    case_no: str = constrained(pattern="^DB[0-9]{12}$")
    trigger: Literal["overdue_ignored", "citizen_challenge", "inadequate_investigation", "improper_handling", "first_responsible_refused", "co_unit_declined", "co_unit_not_cooperating"]
    trigger_label: str
    state: Literal["open", "reinvestigating", "closed"]
    actor: ActorRef
    seq: int = constrained(minimum=1)
    detail: str


@register
@dataclass(frozen=True, kw_only=True)
class VerificationFiled(Event):
    """The unit filed its on-site verification record: who, when, findings, responsibility (R10)"""
    TYPE: ClassVar[str] = "verification.filed"
    SOURCE: ClassVar[str] = "escalation"
    ticket_id: str
    number: str
    unit_id: str | None
    task_id: str
    reason: Literal["unsatisfied", "key_ticket"]
    inspector: str
    inspected_at: Instant
    responsibility: str
    at: Instant
    actor: ActorRef


@register
@dataclass(frozen=True, kw_only=True)
class VerificationRequired(Event):
    """An on-site verification (现场核查) is required for an unsatisfied or key ticket (R10)"""
    TYPE: ClassVar[str] = "verification.required"
    SOURCE: ClassVar[str] = "escalation"
    ticket_id: str
    number: str
    unit_id: str | None
    task_id: str
    reason: Literal["unsatisfied", "key_ticket"]
    at: Instant
