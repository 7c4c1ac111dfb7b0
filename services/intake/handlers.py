"""Intake use cases: (command, ports) -> result. Events go out through the store's outbox."""
from __future__ import annotations

import hashlib
import json
import uuid

from hotline_common.actors import ADMIN, OPERATOR, Actor
from hotline_common.errors import Forbidden, NotFound, ValidationFailed
from hotline_common.mongo import retrying
from hotline_common.timeutil import local_date
from hotline_common.validation import load

from . import domain
from .schemas import CallbackSchema, KeyTicketSchema, ListTicketsSchema, register_schema
from .store import IdempotencyRace

LIST_SCHEMA = ListTicketsSchema()
CALLBACK_SCHEMA = CallbackSchema()
KEY_SCHEMA = KeyTicketSchema()


class Intake:
    """The service layer: one instance per service container, holding what never changes."""

    def __init__(self, store, clock, catalog: domain.Catalog, number_prefix: str,
                 callback_policy: domain.CallbackPolicy | None = None):
        self.store = store
        self.clock = clock
        self.catalog = catalog
        self.number_prefix = number_prefix
        self.callback_policy = callback_policy or domain.CallbackPolicy()
        self.register_schema = register_schema(catalog)

    # -- R1
    def register(self, payload: dict, actor: Actor, idempotency_key: str | None = None) -> dict:
        actor.require(OPERATOR, ADMIN)
        details = load(self.register_schema, payload)
        request_hash = _hash(details)
        if idempotency_key:
            existing = self.store.by_idempotency_key(idempotency_key)
            if existing is not None:
                return self._replay(existing, request_hash, actor)
        now = self.clock.now()
        day = local_date(now)
        number = domain.ticket_number(self.number_prefix, day, self.store.numbers.next(f"{self.number_prefix}{day:%Y%m%d}"))
        ticket, events = domain.register(details, ticket_id=uuid.uuid4().hex, number=number, now=now,
                                         actor=actor, catalog=self.catalog)
        if idempotency_key:
            ticket["idempotency"] = {"key": idempotency_key, "hash": request_hash}
        try:
            self.store.add(ticket, events)
        except IdempotencyRace:  # two requests with one key raced and the other won: a repeat
            return self._replay(self.store.by_idempotency_key(idempotency_key), request_hash, actor)
        return {**domain.present({**ticket, "version": 1}, actor), "created": True}

    def _replay(self, existing: dict, request_hash: str, actor: Actor) -> dict:
        if existing.get("idempotency", {}).get("hash") != request_hash:
            raise ValidationFailed("Idempotency-Key was already used with a different request",
                                   errors={"Idempotency-Key": ["reused with a different body"]})
        return {**domain.present(existing, actor), "created": False}

    # -- reads
    def get(self, key: str, actor: Actor) -> dict:
        return domain.present(self._visible(key, actor), actor)  # another unit's ticket: not found

    def search(self, query: dict, actor: Actor) -> dict:
        filters = load(LIST_SCHEMA, query)
        if actor.is_unit:
            filters["unit"] = actor.unit_id  # a unit lists only its own tickets
        elif not domain.visible_to({"units": []}, actor):
            raise Forbidden(f"role {actor.role} does not list tickets")
        limit = filters.pop("limit")
        cursor = filters.pop("cursor", None)
        docs, next_cursor = self.store.search(filters, limit, cursor)
        return {"items": [domain.present(d, actor) for d in docs], "next_cursor": next_cursor}

    # -- R11 callback, R10 key tickets
    def callback(self, key: str, body: dict, actor: Actor) -> dict:
        cmd = load(CALLBACK_SCHEMA, body)

        def attempt():
            ticket = self._visible(key, actor)
            now = self.clock.now()
            changes, entry, events = domain.record_callback(ticket, cmd, actor, now, self.callback_policy)
            self.store.change(ticket, changes, events, domain.own_timeline(events, now, actor),
                              push={"callbacks": entry})
            return ticket["_id"]
        return self.get(retrying(attempt), actor)

    def mark_key(self, key: str, body: dict, actor: Actor) -> dict:
        cmd = load(KEY_SCHEMA, body)

        def attempt():
            ticket = self._visible(key, actor)
            now = self.clock.now()
            changes, events = domain.mark_key(ticket, cmd["reason"], actor, now)
            self.store.change(ticket, changes, events, domain.own_timeline(events, now, actor))
            return ticket["_id"]
        return self.get(retrying(attempt), actor)

    def _visible(self, key: str, actor: Actor) -> dict:
        ticket = self.store.get(key)
        if ticket is None or not domain.visible_to(ticket, actor):
            raise NotFound(f"ticket {key} not found")
        return ticket

    # -- the view fed by other services' events
    def apply(self, event: dict) -> bool:
        change = domain.project(event)
        return bool(self.store.apply_view(event["data"]["ticket_id"], change, event["id"]))


def _hash(details: dict) -> str:
    return hashlib.sha256(json.dumps(details, sort_keys=True, default=str).encode()).hexdigest()
