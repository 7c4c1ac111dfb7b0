"""Bulletin rules (R2, R12, R16, R18): the analytics read model and what is published from it.

Pure. `fold` turns any event into the change it makes to the ticket's analytics record.
"""
from __future__ import annotations

from hotline_common.events import T
from hotline_common.timeutil import parse_iso


def fold(event: dict) -> dict:
    """The fields one event sets on its ticket's analytics record ({} when it changes nothing)."""
    data, kind = event["data"], event["type"]
    at = parse_iso(event["time"])
    if kind == T.TICKET_REGISTERED:
        return {"number": data["number"], "type": data["type"], "category": data["category"],
                "district": data["district"], "channel": data["channel"], "registered_at": at,
                "key_ticket": data.get("key_ticket", False)}
    if kind == T.TICKET_DISPATCHED:
        return {"unit_id": data["unit_id"], "dispatched_at": at, "dispatch_no": data.get("dispatch_no", 1),
                "first_responsible": data.get("first_responsible", False)}
    if kind == T.DEADLINE_SET:
        return {"due_at": parse_iso(data["due_at"]), "provisional": data.get("provisional", False)}
    return {}
