"""The bulletin nameko service: its RPC methods and its one event entrypoint (every event type) come
from `handlers.HANDLERS`; the timer that makes the scheduled bulletins is its own entrypoint."""
from __future__ import annotations

import logging

from nameko.timer import Timer

from hotline_common.catalog import load_catalog
from hotline_common.config_files import read_yaml
from hotline_common.dispatch import entrypoints
from hotline_common.providers import UseCases
from hotline_common.service_base import ServiceBase
from hotline_common.settings import Settings

from . import handlers
from .assessment import load_scheme
from .handlers import HANDLERS, Bulletin, BulletinConfig
from .store import BulletinStore

log = logging.getLogger(__name__)


class ScheduleTimer(Timer):
    """nameko's timer, every TIMER_INTERVAL_SECONDS: the check is one cached lookup per kind."""

    def __init__(self, **kwargs):
        super().__init__(interval=1.0, **kwargs)

    def setup(self):
        self.interval = Settings.from_env().timer_interval_seconds


def build(database, outbox, settings: Settings, clock) -> Bulletin:
    units = {u["id"]: u["name"] for u in read_yaml(settings.config_dir, "units.yaml")["units"]}
    config = BulletinConfig.from_yaml(read_yaml(settings.config_dir, "bulletin.yaml"))
    scheme = load_scheme(read_yaml(settings.config_dir, "assessment.yaml"))
    return Bulletin(store=BulletinStore(database, outbox), clock=clock, catalog=load_catalog(settings.config_dir),
                    scheme=scheme, config=config, units=units)


@entrypoints(HANDLERS)
class BulletinService(ServiceBase):
    name = "bulletin"
    app = UseCases(build)

    @ScheduleTimer.decorator
    def publish_due(self):
        """R16: the weekly and monthly bulletins, made once their period has ended (the clock decides)."""
        try:
            handlers.publish_due(self.app)
        except Exception:  # the next tick tries again; a timer must not die of one bad period
            log.exception("scheduled bulletins failed")
