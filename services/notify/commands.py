"""What callers ask notify to do (or to answer): one frozen dataclass per RPC command and query, then
the commands notify's own timer and reactions give the domain (no RPC).

Each RPC command builds itself from the RPC request (`dispatch.request(...)`): the path parameter
`subscription_id`, the body or query loaded by its marshmallow schema, and the Idempotency-Key.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from hotline_common.dispatch import from_request
from hotline_common.messages import Command

from . import schemas as s

DeliveryStatus = Literal["pending", "delivered", "dead"]


# -- webhook subscriptions (the `subscriber` role, and admin) --------------------------------------

@dataclass(frozen=True, kw_only=True)
class CreateSubscription(Command):
    """A webhook: where to POST (http(s), never an internal address), which event types or patterns
    (`cn.gov.12345.ticket.#`, `deadline.overdue`), a note. The answer carries the signing secret, once."""
    NAME: ClassVar[str] = "create_subscription"
    url: str
    types: list[str]
    description: str = ""
    idempotency_key: str | None = None

    @classmethod
    def from_request(cls, req: dict[str, Any]) -> CreateSubscription:
        return from_request(cls, req, s.SUBSCRIPTION)


@dataclass(frozen=True, kw_only=True)
class ListSubscriptions(Command):
    NAME: ClassVar[str] = "list_subscriptions"

    @classmethod
    def from_request(cls, req: dict[str, Any]) -> ListSubscriptions:
        return from_request(cls, req)


@dataclass(frozen=True, kw_only=True)
class GetSubscription(Command):
    NAME: ClassVar[str] = "get_subscription"
    subscription_id: str

    @classmethod
    def from_request(cls, req: dict[str, Any]) -> GetSubscription:
        return from_request(cls, req)


@dataclass(frozen=True, kw_only=True)
class DeleteSubscription(Command):
    """Stop delivering: the subscription, its pending deliveries and its log are removed."""
    NAME: ClassVar[str] = "delete_subscription"
    subscription_id: str

    @classmethod
    def from_request(cls, req: dict[str, Any]) -> DeleteSubscription:
        return from_request(cls, req)


@dataclass(frozen=True, kw_only=True)
class ListDeliveries(Command):
    """The delivery log of one subscription, newest first."""
    NAME: ClassVar[str] = "list_deliveries"
    subscription_id: str
    status: DeliveryStatus | None = None
    limit: int = 50
    cursor: str | None = None

    @classmethod
    def from_request(cls, req: dict[str, Any]) -> ListDeliveries:
        return from_request(cls, req, s.DELIVERIES)


@dataclass(frozen=True, kw_only=True)
class ListDeadLetters(Command):
    """Deliveries that ran out of attempts (or came while the subscription was disabled)."""
    NAME: ClassVar[str] = "list_dead_letters"
    subscription_id: str
    limit: int = 50
    cursor: str | None = None

    @classmethod
    def from_request(cls, req: dict[str, Any]) -> ListDeadLetters:
        return from_request(cls, req, s.DEAD_LETTERS)


@dataclass(frozen=True, kw_only=True)
class ReplayDeadLetters(Command):
    """Deliver dead letters again (those named, or all of them), with a fresh round of attempts; a
    subscription disabled after a failure streak is enabled again."""
    NAME: ClassVar[str] = "replay_dead_letters"
    subscription_id: str
    delivery_ids: list[str] = field(default_factory=list)

    @classmethod
    def from_request(cls, req: dict[str, Any]) -> ReplayDeadLetters:
        return from_request(cls, req, s.REPLAY)


# -- what notify's timer and reactions tell the domain (no RPC) --------------------------------------

@dataclass(frozen=True, kw_only=True)
class RecordAttempt(Command):
    """One attempt to deliver a webhook or to send a notice, as the sender saw it.

    `retryable` is False for a refusal that another try would not change (an SMS gateway's 4xx)."""
    NAME: ClassVar[str] = "record_attempt"
    ok: bool
    status_code: int | None = None
    duration_ms: int = 0
    error: str | None = None
    retryable: bool = True
    provider_message_id: str | None = None


@dataclass(frozen=True, kw_only=True)
class Disable(Command):
    NAME: ClassVar[str] = "disable"
    reason: str


@dataclass(frozen=True, kw_only=True)
class Notify(Command):
    """Tell a unit's designated contact about an event (built from the event by `domain.notice_request`)."""
    NAME: ClassVar[str] = "notify"
    kind: Literal["reminder", "supervision", "reinvestigation", "extension_granted", "extension_rejected"]
    ticket_id: str
    number: str
    unit_id: str
    cause_id: str
    cause_type: str
    values: dict[str, str]   # the template's placeholders taken from the event
