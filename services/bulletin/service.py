"""The bulletin nameko service: thin entrypoints over `handlers.Bulletin`."""
from __future__ import annotations

from hotline_common.actors import Actor
from hotline_common.catalog import load_catalog
from hotline_common.config_files import read_yaml
from hotline_common.events import ALL_TYPES
from hotline_common.providers import UseCases
from hotline_common.service_base import ServiceBase, command
from hotline_common.subscriber import subscribe

from .handlers import Bulletin
from .store import BulletinStore


def build(database, outbox, settings, clock) -> Bulletin:
    units = {u["id"]: u["name"] for u in read_yaml(settings.config_dir, "units.yaml")["units"]}
    return Bulletin(BulletinStore(database, outbox), clock, load_catalog(settings.config_dir), units)


class BulletinService(ServiceBase):
    name = "bulletin"
    app = UseCases(build)

    @subscribe(*ALL_TYPES)
    def observe(self, event):
        self.app.observe(event)

    @command
    def feed(self, query, actor):
        return self.app.feed(query, Actor.from_dict(actor))

    @command
    def statistics(self, query, actor):
        return self.app.statistics(query, Actor.from_dict(actor))
