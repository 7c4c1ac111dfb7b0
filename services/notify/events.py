"""Events notify publishes: what became of a notice to a unit's designated contact (issue 15).

A notice is an SMS (or, in development, a log line) that tells the unit's contact of a reminder, a
supervision case, a re-investigation order or an extension decision. Intake projects these onto
the ticket's timeline, so the office sees whether the unit was told. The contact is named by user
id only: no phone number goes into an event.

Webhook deliveries publish nothing (a subscriber's delivery log is read through the API).
The classes are the contract: `docs/events/notice.*.schema.json` are generated from them
(`python -m hotline_common.contracts`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

from hotline_common.messages import ActorRef, Event, Instant, constrained, register

NoticeKind = Literal["reminder", "supervision", "reinvestigation", "extension_granted", "extension_rejected"]
Channel = Literal["sms", "log"]


@dataclass(frozen=True, kw_only=True)
class NoticeEvent(Event):
    SOURCE: ClassVar[str] = "notify"
    notice_id: str
    ticket_id: str
    number: str
    unit_id: str
    kind: NoticeKind
    kind_label: str = constrained(description="the notice's kind in Chinese, for the timeline (催办通知, ...)")
    cause_type: str = constrained(description="the short type of the event the notice tells of, e.g. reminder.sent")
    cause_id: str = constrained(description="the id of that event")
    channel: Channel
    recipient: str | None = constrained(description="the designated contact's user id (never a phone number)")
    attempts: int = constrained(minimum=0, description="sending attempts made (0: none was possible)")
    at: Instant
    actor: ActorRef


@register
@dataclass(frozen=True, kw_only=True)
class NoticeDelivered(NoticeEvent):
    """A notice reached the unit's designated contact's SMS gateway (sent; `attempts` > 1 when it was retried)"""
    TYPE: ClassVar[str] = "notice.delivered"
    provider_message_id: str | None


@register
@dataclass(frozen=True, kw_only=True)
class NoticeFailed(NoticeEvent):
    """A notice could not be delivered to the unit's designated contact: no contact with a phone, the gateway
    refused it, or every retry failed"""
    TYPE: ClassVar[str] = "notice.failed"
    reason: Literal["no_contact", "rejected", "exhausted"]
    error: str
