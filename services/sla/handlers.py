"""SLA use cases: (command, ports) -> result. Events go out through the store's outbox."""
from __future__ import annotations

from hotline_common.actors import SYSTEM_ACTOR
from hotline_common.timeutil import parse_iso

from . import domain


class Sla:
    def __init__(self, store, clock, calendar, limits: dict):
        self.store = store
        self.clock = clock
        self.calendar = calendar
        self.limits = limits

    # -- R7: a dispatch starts the unit's clock
    def start(self, event: dict) -> bool:
        data = event["data"]
        deadline = domain.compute_deadline(parse_iso(data["dispatched_at"]),
                                           domain.time_limit(data["type"], self.limits), self.calendar)
        clock, events = domain.start_clock(data, deadline, SYSTEM_ACTOR)
        if data.get("dispatch_no", 1) == 1:  # the first clock: no read needed, a repeat is a duplicate
            return bool(self.store.add(clock, events, cause=event["id"]))
        existing = self.store.get(data["ticket_id"])
        if existing is None:
            return bool(self.store.add(clock, events, cause=event["id"]))
        if existing["dispatch_no"] >= data["dispatch_no"]:
            return False  # this dispatch (or a later one) already has its clock
        return bool(self.store.replace(data["ticket_id"], clock, events, version=existing["version"],
                                       cause=event["id"]))
