"""The routing nameko service: its RPCs and its event subscriber are generated from `HANDLERS`."""
from __future__ import annotations

from hotline_common.catalog import load_catalog
from hotline_common.dispatch import entrypoints
from hotline_common.providers import UseCases
from hotline_common.service_base import ServiceBase

from .handlers import HANDLERS, Routing
from .store import RoutingStore


def build(database, outbox, settings, clock) -> Routing:
    store = RoutingStore(database, outbox)
    store.seed(settings.config_dir)
    return Routing(store=store, clock=clock, catalog=load_catalog(settings.config_dir))


@entrypoints(HANDLERS)
class RoutingService(ServiceBase):
    name = "routing"
    app = UseCases(build)
