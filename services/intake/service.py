"""The intake nameko service: its RPCs and its event subscriber come from the handler table."""
from __future__ import annotations

from hotline_common.catalog import load_catalog
from hotline_common.config_files import read_yaml
from hotline_common.dispatch import entrypoints
from hotline_common.providers import UseCases
from hotline_common.service_base import ServiceBase

from .domain import CallbackPolicy
from .duplicates import DuplicatePolicy
from .frontdesk import FrontDeskPolicy
from .handlers import HANDLERS, Intake
from .knowledge.handlers import KnowledgeBase
from .knowledge.store import KnowledgeStore
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
    return Intake(store=IntakeStore(database, outbox, settings), clock=clock, catalog=catalog,
                  number_prefix=settings.ticket_number_prefix, callback_policy=policy,
                  knowledge=kb,
                  segmenter=segmenter, front_desk=front_desk, duplicates=duplicates)


@entrypoints(HANDLERS)
class IntakeService(ServiceBase):
    name = "intake"
    app = UseCases(build)
