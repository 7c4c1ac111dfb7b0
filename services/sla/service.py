"""The sla nameko service: its RPC methods and event entrypoint come from `handlers.HANDLERS`; the
timer is the one entrypoint of its own."""
from __future__ import annotations

from nameko.timer import Timer

from hotline_common.dispatch import entrypoints
from hotline_common.providers import UseCases, load_clock_state, save_clock_state
from hotline_common.service_base import ServiceBase
from hotline_common.settings import Settings

from . import handlers
from .clock_admin import ClockAdmin
from .handlers import HANDLERS, Calendars, Sla
from .store import SlaStore


class SettingsTimer(Timer):
    """nameko's timer with its interval from TIMER_INTERVAL_SECONDS."""

    def __init__(self, **kwargs):
        super().__init__(interval=1.0, **kwargs)

    def setup(self):
        self.interval = Settings.from_env().timer_interval_seconds


def build(database, outbox, settings: Settings, clock) -> Sla:
    policy = handlers.load_policy(settings.config_dir)
    admin = ClockAdmin(settings, clock)
    if settings.clock_mode == "controllable" and not settings.production:
        admin = ClockAdmin(settings, clock, load_state=lambda: load_clock_state(settings),
                           save_state=lambda state: save_clock_state(settings, state))
    store = SlaStore(database, outbox)
    return Sla(store=store, clock=clock, policy=policy, calendars=Calendars(store, settings.config_dir),
               clock_admin=admin)


@entrypoints(HANDLERS)
class SlaService(ServiceBase):
    name = "sla"
    app = UseCases(build)

    @SettingsTimer.decorator
    def fire_timers(self):
        handlers.fire_timers(self.app)   # what is due: one write per timer run; what is due soon: prepared

    @SettingsTimer.decorator
    def fold_timers(self):
        handlers.fold_timers(self.app)   # fired clocks' own documents catch up, beside the firing
