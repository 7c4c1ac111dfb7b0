"""Routing use cases: (command, ports) -> result. Events go out through the store's outbox."""
from __future__ import annotations

from hotline_common.actors import SYSTEM_ACTOR

from . import domain


class Routing:
    def __init__(self, store, clock):
        self.store = store
        self.clock = clock

    # -- R3, R6: a registered ticket goes to the unit its rules name
    def route_registered(self, event: dict) -> bool:
        ticket = domain.TicketFacts.from_event(event["data"])
        rules, units = self.store.directory()
        routed = domain.route_new_ticket(ticket, rules, units, self.clock.now(), SYSTEM_ACTOR)
        return bool(self.store.add_assignment(routed.assignment, routed.events, cause=event["id"]))
