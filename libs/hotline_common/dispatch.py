"""One handler table per service (cosmicpython's COMMAND_HANDLERS / EVENT_HANDLERS).

A service's `handlers.py` ends with

    HANDLERS = Handlers(
        service="routing",
        commands={"accept": (commands.Accept, accept), ...},      # RPC name -> (command class, handler)
        events={TicketRegistered: route_registered, ...},          # event class -> reaction
    )

and its nameko class is generated from that table (`@entrypoints(HANDLERS)`): one RPC method per
command, one event entrypoint for every event type the table names. The gateway's routes are checked
against the same tables (tests/unit/test_routes.py), so there is one way to wire a route.

Signatures, the same everywhere:
  command handler:  handler(app, command, actor) -> result (a JSON-able dict)
  event reaction:   reaction(app, received) -> Outcome (or bool: applied / already applied)

A request over RPC is a plain dict: {"params": {path parameters}, "body": {...} | None,
"query": {...} | None, "if_match": int | None, "idempotency_key": str | None}; the command class
builds itself from it (`Command.from_request`), validating with its marshmallow schema.
"""
from __future__ import annotations

import dataclasses
import enum
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from . import metrics
from .actors import Actor
from .errors import HotlineError, NotYet, PoisonMessage, StaleVersion, Unavailable, ValidationFailed
from .messages import Command, Event, event_class
from .timeutil import parse_iso
from .validation import load

log = logging.getLogger(__name__)

E = TypeVar("E", bound=Event)
C = TypeVar("C", bound=Command)


class Outcome(enum.Enum):
    APPLIED = "applied"
    DUPLICATE = "duplicate"      # applied before (a redelivery): nothing to do
    NO_CHANGE = "no_change"      # the reaction cannot apply to the current state; logged, acked


@dataclass(frozen=True)
class Received(Generic[E]):
    """An event as a reaction receives it: the typed event and what its envelope says."""
    event: E
    id: str
    time: datetime
    source: str = ""
    # the CloudEvent as it arrived, for a reaction that keeps it whole (bulletin's facts and feed, D5)
    envelope: dict = dataclasses.field(default_factory=dict, compare=False, repr=False)

    @staticmethod
    def of(envelope: dict) -> Received[Event]:
        event_cls = event_class(envelope["type"])
        if event_cls is None:
            raise PoisonMessage(f"unknown event type {envelope['type']}")
        return Received(event_cls.from_data(envelope["data"]), envelope["id"], parse_iso(envelope["time"]),
                        envelope.get("source", ""), envelope)


def request(params: dict | None = None, body: dict | None = None, query: dict | None = None,
            if_match: int | None = None, idempotency_key: str | None = None) -> dict:
    """The RPC request dict (the gateway and tests build it with this)."""
    return {"params": params or {}, "body": body, "query": query, "if_match": if_match,
            "idempotency_key": idempotency_key}


def from_request(cls: type[C], req: dict, schema=None) -> C:
    """Build a command: path parameters, then the body (or query) loaded by `schema`, then the
    request's If-Match (as `expected_version`) and Idempotency-Key, where the class has those fields."""
    names = {f.name for f in dataclasses.fields(cls)}
    values: dict[str, Any] = {k: v for k, v in (req.get("params") or {}).items() if k in names}
    if schema is not None:
        data = req.get("body") if req.get("body") is not None else (req.get("query") or {})
        values.update(load(schema, data))
    elif req.get("body"):
        raise ValidationFailed("this command takes no body", errors={"_schema": ["send no fields"]})
    if "expected_version" in names:
        values["expected_version"] = req.get("if_match")
    if "idempotency_key" in names:
        values["idempotency_key"] = req.get("idempotency_key")
    unknown = set(values) - names
    if unknown:
        raise ValidationFailed("unknown fields", errors={k: ["unknown field"] for k in sorted(unknown)})
    return cls(**values)


CommandHandler = Callable[[Any, Any, Actor], Any]
EventHandler = Callable[[Any, Received], Any]


@dataclass(frozen=True)
class Handlers:
    service: str
    commands: dict[str, tuple[type, CommandHandler]]
    events: dict[type[Event], EventHandler]

    def event_types(self) -> list[str]:
        return sorted(cls.full_type() for cls in self.events)

    # -- commands (and queries)
    def execute(self, app, name: str, req: dict, actor: Actor):
        command_cls, handler = self.commands[name]
        builder = getattr(command_cls, "from_request", None)
        command = builder(req) if builder else from_request(command_cls, req)
        return handler(app, command, actor)

    # -- events
    def react(self, app, envelope: dict) -> Outcome:
        """Run the reaction to one event. A domain refusal is "no change" (logged, counted, acked);
        anything else that raises is for the subscriber to retry (see subscriber.settle)."""
        received = Received.of(envelope)
        handler = self.events.get(type(received.event))
        if handler is None:
            raise PoisonMessage(f"{self.service} has no reaction to {envelope['type']}")
        try:
            result = handler(app, received)
        except (NotYet, StaleVersion, Unavailable):
            raise  # transient: a lost race or an event ahead of its cause is retried, never "no change"
        except HotlineError as exc:
            metrics.EVENTS_NO_CHANGE.labels(self.service, envelope["type"]).inc()
            log.info("no change from %s %s: %s: %s", envelope["type"], envelope["id"],
                     type(exc).__name__, exc.detail)
            return Outcome.NO_CHANGE
        if isinstance(result, Outcome):
            return result
        if result is None or result is True:
            return Outcome.APPLIED
        return Outcome.DUPLICATE


def entrypoints(table: Handlers):
    """Class decorator: a nameko RPC method per command of `table`, and `on_event` for its events."""
    from .service_base import command  # nameko stays out of this module's import for pure users
    from .subscriber import subscribe

    def decorate(cls):
        for name in table.commands:
            def entry(self, req, actor, _name=name):
                return table.execute(self.app, _name, req or {}, Actor.from_dict(actor))
            entry.__name__ = entry.__qualname__ = name
            setattr(cls, name, command(entry))
        if table.events:
            def on_event(self, envelope):
                return table.react(self.app, envelope).value
            cls.on_event = subscribe(*table.event_types())(on_event)
        cls.handlers = table
        return cls
    return decorate
