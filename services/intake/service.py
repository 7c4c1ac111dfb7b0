"""The intake nameko service: its RPCs and its event subscriber come from the handler table."""
from __future__ import annotations

from nameko.timer import Timer

from hotline_common.catalog import load_catalog
from hotline_common.config_files import read_yaml
from hotline_common.dispatch import entrypoints
from hotline_common.providers import UseCases
from hotline_common.service_base import ServiceBase
from hotline_common.settings import Settings

from .domain import CallbackPolicy
from .duplicates import DuplicatePolicy
from .frontdesk import FrontDeskPolicy
from .handlers import HANDLERS, Intake
from .knowledge.handlers import KnowledgeBase
from .knowledge.store import KnowledgeStore
from .privacy.domain import RetentionPolicy
from .privacy.handlers import Privacy, retention_timer
from .privacy.store import AuditLog, ContactData
from .segment import Segmenter
from .store import IntakeStore


def build(database, outbox, settings, clock) -> Intake:
    callback = read_yaml(settings.config_dir, "callback.yaml")  # config/callback.yaml (R11)
    policy = CallbackPolicy(**{k: int(v) for k, v in callback.items() if k == "max_unreached_attempts"})
    front_desk = FrontDeskPolicy(direct_answer_callback=bool(callback.get("direct_answer_callback", True)))
    duplicates = DuplicatePolicy(**read_yaml(settings.config_dir, "duplicates.yaml"))  # config/duplicates.yaml
    catalog = load_catalog(settings.config_dir)
    segmenter = Segmenter.from_config(settings.config_dir)  # config/knowledge-synonyms.yaml
    knowledge = KnowledgeStore(database, outbox)
    knowledge.ensure_indexes()
    knowledge.seed(settings.config_dir, clock.now())  # config/knowledge-base.yaml, into an empty knowledge base
    units = {u["id"] for u in read_yaml(settings.config_dir, "units.yaml")["units"]}
    kb = KnowledgeBase(store=knowledge, segmenter=segmenter, categories=catalog.categories, units=units)
    kb.current_index()  # segment the published entries now, not in the first operator's search
    store = IntakeStore(database, outbox, settings)
    privacy = Privacy(audit=AuditLog(database), contacts=ContactData(database, store.tickets),
                      policy=retention_policy(settings.config_dir))  # config/retention.yaml (PIPL)
    privacy.audit.ensure_indexes()
    privacy.contacts.ensure_indexes()
    return Intake(store=store, clock=clock, catalog=catalog, privacy=privacy,
                  number_prefix=settings.ticket_number_prefix, callback_policy=policy,
                  knowledge=kb,
                  segmenter=segmenter, front_desk=front_desk, duplicates=duplicates)


def retention_policy(config_dir) -> RetentionPolicy:
    return RetentionPolicy.from_config(read_yaml(config_dir, "retention.yaml"))


class RetentionTimer(Timer):
    """nameko's timer every `check_interval_seconds` of config/retention.yaml."""

    def __init__(self, **kwargs):
        super().__init__(interval=3600.0, **kwargs)

    def setup(self):
        self.interval = float(retention_policy(Settings.from_env().config_dir).check_interval_seconds)


@entrypoints(HANDLERS)
class IntakeService(ServiceBase):
    name = "intake"
    app = UseCases(build)

    @RetentionTimer.decorator
    def apply_retention_policy(self):  # PIPL: contact data of long-closed tickets erased (privacy/)
        retention_timer(self.app)
