"""The escalation nameko service: thin entrypoints over `handlers.Escalation`."""
from __future__ import annotations

from hotline_common.events import T
from hotline_common.providers import UseCases
from hotline_common.service_base import ServiceBase
from hotline_common.subscriber import subscribe

from .handlers import Escalation
from .store import EscalationStore


def build(database, outbox, settings, clock) -> Escalation:
    return Escalation(EscalationStore(database, outbox), clock)


class EscalationService(ServiceBase):
    name = "escalation"
    app = UseCases(build)

    @subscribe(T.DEADLINE_SET)
    def watch_deadline(self, event):
        self.app.watch(event)
