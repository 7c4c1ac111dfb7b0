"""The intake nameko service: thin entrypoints over `handlers.Intake`."""
from __future__ import annotations

from hotline_common.actors import Actor
from hotline_common.catalog import load_catalog
from hotline_common.config_files import read_yaml
from hotline_common.providers import UseCases
from hotline_common.service_base import ServiceBase, command
from hotline_common.subscriber import subscribe

from .domain import VIEW_EVENT_TYPES, CallbackPolicy
from .handlers import Intake
from .store import IntakeStore


def build(database, outbox, settings, clock) -> Intake:
    callback = read_yaml(settings.config_dir, "callback.yaml")
    return Intake(IntakeStore(database, outbox, settings), clock, load_catalog(settings.config_dir),
                  settings.ticket_number_prefix,
                  CallbackPolicy(max_unreached_attempts=int(callback.get("max_unreached_attempts", 3))))


class IntakeService(ServiceBase):
    name = "intake"
    app = UseCases(build)

    @command
    def register(self, payload, actor, idempotency_key=None):
        return self.app.register(payload, Actor.from_dict(actor), idempotency_key)

    @command
    def get_ticket(self, key, actor):
        return self.app.get(key, Actor.from_dict(actor))

    @command
    def list_tickets(self, query, actor):
        return self.app.search(query or {}, Actor.from_dict(actor))

    @command
    def callback(self, key, body, actor):
        return self.app.callback(key, body or {}, Actor.from_dict(actor))

    @command
    def mark_key(self, key, body, actor):
        return self.app.mark_key(key, body or {}, Actor.from_dict(actor))

    @subscribe(*VIEW_EVENT_TYPES)
    def update_view(self, event):
        self.app.apply(event)
