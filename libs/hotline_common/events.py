"""Event catalogue and the CloudEvents 1.0 envelope (DESIGN §3).

Domain rules return `DomainEvent`s (type, subject, data). The service layer wraps each in a
structured-mode CloudEvent, stores it in the aggregate's outbox and the relay publishes it to the
service's exchange with the event type as routing key. Citizens' names and phone numbers never go
into events.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from .errors import PoisonMessage
from .timeutil import iso, parse_iso

PREFIX = "cn.gov.12345."
CONTENT_TYPE = "application/cloudevents+json"
HOTLINE_EXCHANGE = "hotline.events"  # every event, for external subscribers (D5)


def event_type(short: str) -> str:
    return PREFIX + short


class T:
    """Event types, by the service that emits them."""
    # intake
    TICKET_REGISTERED = event_type("ticket.registered")
    TICKET_MARKED_KEY = event_type("ticket.marked_key")
    CALLBACK_RECORDED = event_type("callback.recorded")
    TICKET_REOPENED = event_type("ticket.reopened")
    TICKET_CHALLENGED = event_type("ticket.challenged")
    TICKET_CLOSED = event_type("ticket.closed")
    # routing
    TICKET_DISPATCHED = event_type("ticket.dispatched")
    TICKET_AWAITING_DISPATCH = event_type("ticket.awaiting_dispatch")
    ASSIGNMENT_ACCEPTED = event_type("assignment.accepted")
    ASSIGNMENT_REVIEWED = event_type("assignment.reviewed")
    TICKET_REPLIED = event_type("ticket.replied")
    RETURN_REQUESTED = event_type("return.requested")
    RETURN_APPROVED = event_type("return.approved")
    RETURN_REJECTED = event_type("return.rejected")
    COUNIT_ADDED = event_type("counit.added")
    COUNIT_ACCEPTED = event_type("counit.accepted")
    COUNIT_DECLINED = event_type("counit.declined")
    COUNIT_CONTRIBUTED = event_type("counit.contributed")
    FIRST_RESPONSIBLE_REFUSED = event_type("assignment.refused")
    ASSIGNMENT_REOPENED = event_type("assignment.reopened")
    # sla
    DEADLINE_SET = event_type("deadline.set")
    DEADLINE_DUE_SOON = event_type("deadline.due_soon")
    DEADLINE_OVERDUE = event_type("deadline.overdue")
    DEADLINE_STILL_OVERDUE = event_type("deadline.still_overdue")
    DEADLINE_MET = event_type("deadline.met")
    DEADLINE_MISSED = event_type("deadline.missed")
    DEADLINE_EXTENDED = event_type("deadline.extended")
    DEADLINE_CHANGED = event_type("deadline.changed")
    EXTENSION_REQUESTED = event_type("extension.requested")
    EXTENSION_REJECTED = event_type("extension.rejected")
    # escalation
    REMINDER_SENT = event_type("reminder.sent")
    SUPERVISION_OPENED = event_type("supervision.opened")
    REINVESTIGATION_ORDERED = event_type("reinvestigation.ordered")
    SUPERVISION_CLOSED = event_type("supervision.closed")
    VERIFICATION_REQUIRED = event_type("verification.required")
    VERIFICATION_FILED = event_type("verification.filed")
    ACCOUNTABILITY_RECORDED = event_type("accountability.recorded")
    # bulletin
    BULLETIN_PUBLISHED = event_type("bulletin.published")


def all_types() -> list[str]:
    """Every event type there is: the registered event classes (services/*/events.py)."""
    from .messages import load_all
    return sorted(load_all())


class _AllTypes:
    """`ALL_TYPES` reads the registry when first used (the event classes import this module)."""

    def __iter__(self):
        return iter(all_types())

    def __contains__(self, item) -> bool:
        return item in all_types()

    def __len__(self) -> int:
        return len(all_types())


ALL_TYPES = _AllTypes()


@dataclass(frozen=True)
class DomainEvent:
    """What a domain rule decides happened. `subject` is the ticket number (or another aggregate key)."""
    type: str
    subject: str
    data: dict = field(default_factory=dict)


def envelope(event, *, source_service: str, time: datetime,
             correlation_id: str | None = None, event_id: str | None = None) -> dict:
    """The CloudEvent for a typed event (messages.Event) or a DomainEvent."""
    event_id = event_id or str(uuid.uuid4())
    typed = hasattr(event, "to_data")
    return {
        "specversion": "1.0",
        "id": event_id,
        "source": f"/hotline/{source_service}",
        "type": event.full_type() if typed else event.type,
        "subject": event.subject,
        "time": iso(time),
        "datacontenttype": "application/json",
        "correlationid": correlation_id or event_id,
        "data": event.to_data() if typed else event.data,
    }


REQUIRED = ("specversion", "id", "source", "type", "time", "data")
# the CloudEvents distributed-tracing extension: W3C Trace Context of the event's creation (tracing.py)
TRACE_ATTRIBUTES = ("traceparent", "tracestate")


def parse_envelope(body) -> dict:
    """Check a received body is a CloudEvent we can handle; anything else is poison."""
    if not isinstance(body, dict):
        raise PoisonMessage(f"event body is {type(body).__name__}, not a JSON object")
    missing = [k for k in REQUIRED if k not in body]
    if missing:
        raise PoisonMessage(f"event lacks CloudEvents attributes: {', '.join(missing)}")
    if body["specversion"] != "1.0":
        raise PoisonMessage(f"unsupported specversion {body['specversion']!r}")
    if not isinstance(body["data"], dict):
        raise PoisonMessage("event data is not a JSON object")
    try:
        parse_iso(body["time"])
    except (TypeError, ValueError) as exc:
        raise PoisonMessage(f"bad event time: {exc}") from None
    for key in TRACE_ATTRIBUTES:  # a broken trace context is ignored (a new trace), never poison
        if key in body and not isinstance(body[key], str):
            del body[key]
    return body


def short_type(full_type: str) -> str:
    return full_type[len(PREFIX):] if full_type.startswith(PREFIX) else full_type
