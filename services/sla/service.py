"""The sla nameko service: thin entrypoints over `handlers.Sla`."""
from __future__ import annotations

from nameko.timer import Timer

from hotline_common.actors import Actor
from hotline_common.config_files import read_yaml
from hotline_common.events import T
from hotline_common.providers import UseCases, load_clock_state, save_clock_state
from hotline_common.service_base import ServiceBase, command
from hotline_common.settings import Settings
from hotline_common.subscriber import subscribe

from .domain import Policy
from .handlers import Sla
from .store import SlaStore


class SettingsTimer(Timer):
    """nameko's timer with its interval from TIMER_INTERVAL_SECONDS."""

    def __init__(self, **kwargs):
        super().__init__(interval=1.0, **kwargs)

    def setup(self):
        self.interval = Settings.from_env().timer_interval_seconds


def build(database, outbox, settings, clock) -> Sla:
    config = read_yaml(settings.config_dir, "sla.yaml")
    policy = Policy(time_limits=config["time_limits"],
                    due_soon_working_days=int(config.get("due_soon_working_days", 1)),
                    extension_notice_working_days=int(config.get("extension_notice_working_days", 2)),
                    max_extension_working_days=int(config.get("max_extension_working_days", 20)))
    clock_store = None
    if settings.clock_mode == "controllable" and not settings.production:
        clock_store = (lambda: load_clock_state(settings), lambda state: save_clock_state(settings, state))
    return Sla(SlaStore(database, outbox), clock, settings, policy, clock_store)


class SlaService(ServiceBase):
    name = "sla"
    app = UseCases(build)

    @subscribe(T.TICKET_DISPATCHED)
    def start_clock(self, event):
        self.app.start(event)

    @subscribe(T.ASSIGNMENT_REOPENED)
    def reopen_clock(self, event):
        self.app.reopen(event)

    @subscribe(T.TICKET_REPLIED)
    def stop_clock(self, event):
        self.app.stop(event)

    @SettingsTimer.decorator
    def fire_timers(self):
        self.app.tick()

    @command
    def deadline(self, key, actor):
        return self.app.deadline(key, Actor.from_dict(actor))

    @command
    def request_extension(self, key, body, actor):
        return self.app.request_extension(key, body or {}, Actor.from_dict(actor))

    @command
    def decide_extension(self, key, body, actor):
        return self.app.decide_extension(key, body or {}, Actor.from_dict(actor))

    @command
    def list_extensions(self, query, actor):
        return self.app.list_extensions(query, Actor.from_dict(actor))

    @command
    def calendar_year(self, year, actor):
        Actor.from_dict(actor)
        return self.app.calendar_year(int(year))

    @command
    def put_calendar_year(self, year, body, actor):
        return self.app.put_calendar_year(int(year), body or {}, Actor.from_dict(actor))

    @command
    def reload_calendar(self, actor):
        return self.app.reload_calendar(Actor.from_dict(actor))

    @command
    def get_clock(self):
        return self.app.get_clock()

    @command
    def set_clock(self, body, actor):
        return self.app.set_clock(body or {}, Actor.from_dict(actor))

    @command
    def advance_clock(self, body, actor):
        return self.app.advance_clock(body or {}, Actor.from_dict(actor))
