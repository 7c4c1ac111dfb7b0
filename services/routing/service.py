"""The routing nameko service: thin entrypoints over `handlers.Routing`."""
from __future__ import annotations

from hotline_common.events import T
from hotline_common.providers import UseCases
from hotline_common.service_base import ServiceBase
from hotline_common.subscriber import subscribe

from .handlers import Routing
from .store import RoutingStore


def build(database, outbox, settings, clock) -> Routing:
    store = RoutingStore(database, outbox)
    store.seed(settings.config_dir)
    return Routing(store, clock)


class RoutingService(ServiceBase):
    name = "routing"
    app = UseCases(build)

    @subscribe(T.TICKET_REGISTERED)
    def route(self, event):
        self.app.route_registered(event)
