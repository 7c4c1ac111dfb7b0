"""Escalation rules (R10, R13, R14, R15, R17): reminders, supervision cases, verification, accountability.

Pure. A `watch` follows one ticket's deadline so reminders and escalation can be decided without
reading another service's data.
"""
from __future__ import annotations

from hotline_common.timeutil import parse_iso


class WatchState:
    WATCHING = "watching"    # a deadline is running
    OVERDUE = "overdue"      # past the deadline, reminders apply (R13)
    ESCALATED = "escalated"  # a supervision case is open
    DONE = "done"            # replied or closed


def watch_from_deadline(data: dict) -> dict:
    """Start (or restart) watching a ticket when its deadline is set."""
    return {
        "_id": data["ticket_id"],
        "number": data["number"],
        "unit_id": data["unit_id"],
        "dispatch_no": data.get("dispatch_no", 1),
        "due_at": parse_iso(data["due_at"]),
        "state": WatchState.WATCHING,
        "reminders": [],
    }
