"""Bulletin rules (R2, R12, R16, R18): the analytics read model and what is published from it.

Pure. Every event is kept as a fact; statistics and the public event feed are read from the facts.
"""
from __future__ import annotations

from hotline_common.timeutil import parse_iso

# R2 分类统计: what tickets are counted by, and from which event
GROUPINGS = {
    "type": ("cn.gov.12345.ticket.registered", "type"),
    "category": ("cn.gov.12345.ticket.registered", "category"),
    "district": ("cn.gov.12345.ticket.registered", "district"),
    "channel": ("cn.gov.12345.ticket.registered", "channel"),
    "unit": ("cn.gov.12345.ticket.dispatched", "unit_id"),
    "day": ("cn.gov.12345.ticket.registered", None),
}


def fact(event: dict, received_at) -> dict:
    """The stored form of an event: the envelope plus what reports filter and group on.
    `received_at` is wall-clock time, so the feed's order never follows a test clock backwards."""
    data = event["data"]
    return {
        "_id": event["id"],
        "type": event["type"],
        "source": event["source"],
        "subject": event.get("subject"),
        "ticket_id": data.get("ticket_id"),
        "time": parse_iso(event["time"]),
        "received_at": received_at,
        "event": event,
    }
