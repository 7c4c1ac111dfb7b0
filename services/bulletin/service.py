"""The bulletin nameko service: thin entrypoints over `handlers.Bulletin`."""
from __future__ import annotations

from hotline_common.events import ALL_TYPES
from hotline_common.providers import UseCases
from hotline_common.service_base import ServiceBase
from hotline_common.subscriber import subscribe

from .handlers import Bulletin
from .store import BulletinStore


def build(database, outbox, settings, clock) -> Bulletin:
    return Bulletin(BulletinStore(database, outbox), clock)


class BulletinService(ServiceBase):
    name = "bulletin"
    app = UseCases(build)

    @subscribe(*ALL_TYPES)
    def observe(self, event):
        self.app.observe(event)
