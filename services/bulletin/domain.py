"""Bulletin rules (R2, R12, R16, R18): the analytics read model and what is published from it.

Pure. Every event is kept as a fact; statistics and reports are computed from the facts.
"""
from __future__ import annotations

from hotline_common.timeutil import parse_iso


def fact(event: dict, received_at) -> dict:
    """The stored form of an event: the envelope plus what reports filter and group on."""
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
