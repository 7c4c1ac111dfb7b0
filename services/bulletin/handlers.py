"""Bulletin use cases."""
from __future__ import annotations

from . import domain


class Bulletin:
    def __init__(self, store, clock):
        self.store = store
        self.clock = clock

    def observe(self, event: dict) -> bool:
        return self.store.record(domain.fact(event, self.clock.now()))
