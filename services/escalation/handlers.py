"""Escalation use cases: (command, ports) -> result."""
from __future__ import annotations

from . import domain


class Escalation:
    def __init__(self, store, clock):
        self.store = store
        self.clock = clock

    def watch(self, event: dict) -> bool:
        """Follow a ticket's deadline (a new dispatch restarts the watch)."""
        watch = domain.watch_from_deadline(event["data"])
        if watch["dispatch_no"] == 1:
            return bool(self.store.add(watch, cause=event["id"]))
        existing = self.store.get(watch["_id"])
        if existing is None:
            return bool(self.store.add(watch, cause=event["id"]))
        if existing["dispatch_no"] > watch["dispatch_no"]:
            return False
        return bool(self.store.restart(watch, version=existing["version"], cause=event["id"]))
