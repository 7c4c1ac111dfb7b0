"""The notify nameko service: webhooks to external systems and notices to units' contacts (issue 15).

Its RPC methods and its event entrypoint come from `handlers.HANDLERS` (its own inbox queue,
`hotline.notify.inbox`, bound to every event type); the timer that sends what is due is the one
entrypoint of its own. Scale it on its own queue: the five services only publish.
"""
from __future__ import annotations

import logging

from nameko.timer import Timer

from hotline_common.dispatch import entrypoints
from hotline_common.providers import UseCases
from hotline_common.service_base import ServiceBase
from hotline_common.settings import Settings

from . import handlers
from .handlers import HANDLERS, Notify
from .senders import GreenRunner, WebhookSender, resolve, sms_provider
from .settings import NotifySettings, load_units
from .store import NotifyStore

log = logging.getLogger(__name__)

DRAIN_SECONDS = 12.0   # on stop, deliveries in flight get this long to finish (a claim expires anyway)


class SettingsTimer(Timer):
    """nameko's timer with its interval from TIMER_INTERVAL_SECONDS."""

    def __init__(self, **kwargs):
        super().__init__(interval=1.0, **kwargs)

    def setup(self):
        self.interval = Settings.from_env().timer_interval_seconds


def build(database, outbox, settings: Settings, clock) -> Notify:
    config = NotifySettings.load(settings.config_dir)
    sms = sms_provider(config)
    log.info("notify: SMS provider %s; webhooks allowed to non-public hosts: %s", config.sms_provider,
             config.allow.describe())
    return Notify(store=NotifyStore(database, outbox), clock=clock, settings=config,
                  units=load_units(settings.config_dir),
                  webhooks=WebhookSender(config.allow, timeout=config.webhook_timeout_seconds,
                                         pool_size=config.max_concurrent),
                  sms=sms, resolve=resolve, runner=GreenRunner(config.max_concurrent))


class NotifyUseCases(UseCases):
    """On stop, let the attempts in flight finish (nothing more is started: what this replica claimed
    and did not send goes back to the store when its claim expires) before the outbox relay stops."""

    def stop(self):
        with self.app.lock:
            self.app.queues.clear()
        self.app.runner.wait(DRAIN_SECONDS)
        super().stop()


@entrypoints(HANDLERS)
class NotifyService(ServiceBase):
    name = "notify"
    app = NotifyUseCases(build)

    @SettingsTimer.decorator
    def fire(self):
        handlers.fire(self.app)
