"""The sla nameko service: thin entrypoints over `handlers.Sla`."""
from __future__ import annotations

from hotline_common.config_files import read_yaml
from hotline_common.events import T
from hotline_common.providers import UseCases
from hotline_common.service_base import ServiceBase
from hotline_common.subscriber import subscribe

from .calendar_source import build_calendar
from .handlers import Sla
from .store import SlaStore


def build(database, outbox, settings, clock) -> Sla:
    config = read_yaml(settings.config_dir, "sla.yaml")
    return Sla(SlaStore(database, outbox), clock, build_calendar(settings.config_dir), config["time_limits"])


class SlaService(ServiceBase):
    name = "sla"
    app = UseCases(build)

    @subscribe(T.TICKET_DISPATCHED)
    def start_clock(self, event):
        self.app.start(event)
