"""Bulletin use cases."""
from __future__ import annotations

from . import domain


class Bulletin:
    def __init__(self, store, clock):
        self.store = store
        self.clock = clock

    def observe(self, event: dict) -> bool:
        ticket_id = event["data"].get("ticket_id")
        if not ticket_id:
            return False
        return self.store.record(ticket_id, domain.fold(event), event["id"])
