"""The routing nameko service: thin entrypoints over `handlers.Routing`."""
from __future__ import annotations

from hotline_common.actors import Actor
from hotline_common.catalog import load_catalog
from hotline_common.errors import NotFound
from hotline_common.events import T
from hotline_common.providers import UseCases
from hotline_common.service_base import ServiceBase, command
from hotline_common.subscriber import subscribe

from .handlers import Routing
from .store import RoutingStore

# ticket commands: (key, body, actor, expected_version) -> assignment view
TICKET_COMMANDS = ("manual_dispatch", "accept", "review", "reply", "request_return", "decide_return",
                   "add_co_unit", "co_unit_accept", "co_unit_decline", "co_unit_contribute")


def build(database, outbox, settings, clock) -> Routing:
    store = RoutingStore(database, outbox)
    store.seed(settings.config_dir)
    return Routing(store, clock, load_catalog(settings.config_dir))


class RoutingService(ServiceBase):
    name = "routing"
    app = UseCases(build)

    @subscribe(T.TICKET_REGISTERED)
    def route(self, event):
        self.app.route_registered(event)

    @subscribe(T.TICKET_REOPENED, T.REINVESTIGATION_ORDERED)
    def reopen(self, event):
        self.app.reopen(event)

    @subscribe(T.TICKET_MARKED_KEY)
    def key_ticket(self, event):
        self.app.key_ticket(event)

    @subscribe(T.VERIFICATION_FILED)
    def verification_filed(self, event):
        self.app.verification_filed(event)

    @command
    def get_assignment(self, key, actor):
        return self.app.get(key, Actor.from_dict(actor))

    @command
    def ticket_command(self, name, key, body, actor, expected_version=None):
        """One entrypoint for the unit workflow's commands (names in TICKET_COMMANDS)."""
        if name not in TICKET_COMMANDS:
            raise NotFound(f"no command {name}")
        return getattr(self.app, name)(key, body or {}, Actor.from_dict(actor), expected_version)

    @command
    def list_units(self, actor):
        return self.app.list_units(Actor.from_dict(actor))

    @command
    def get_unit(self, unit_id, actor):
        return self.app.get_unit(unit_id, Actor.from_dict(actor))

    @command
    def put_unit(self, unit_id, body, actor):
        return self.app.put_unit(unit_id, body, Actor.from_dict(actor))

    @command
    def list_rules(self, actor):
        return self.app.list_rules(Actor.from_dict(actor))

    @command
    def put_rule(self, rule_id, body, actor):
        return self.app.put_rule(rule_id, body, Actor.from_dict(actor))

    @command
    def delete_rule(self, rule_id, actor):
        return self.app.delete_rule(rule_id, Actor.from_dict(actor))
