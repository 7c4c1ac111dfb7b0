"""Helpers shared by the front desk's unit tests (issue 12; no tests here): intake over the fakes with
its knowledge base seeded from config/knowledge-base.yaml, and requests."""
from __future__ import annotations

from typing import Any

from hotline_common.actors import Actor
from hotline_common.config_files import read_yaml
from hotline_common.dispatch import request
from services.intake.duplicates import DuplicatePolicy
from services.intake.frontdesk import FrontDeskPolicy
from services.intake.handlers import HANDLERS, Intake
from services.intake.knowledge.fakes import FakeKnowledgeStore
from services.intake.knowledge.handlers import KnowledgeBase
from services.intake.segment import Segmenter
from tests.unit.test_intake_support import CATALOG, CONFIG, NOW, OPERATOR, make_app, noise_complaint

__all__ = ["CONFIG", "NOW", "OPERATOR"]

SEGMENTER = Segmenter.from_config(CONFIG)
UNITS = {u["id"] for u in read_yaml(CONFIG, "units.yaml")["units"]}
HRSS = Actor("city.hrss.contact", "unit_handler", "city.hrss")
HRSS_LEADER = Actor("city.hrss.leader", "unit_leader", "city.hrss")


def front_app(direct_answer_callback: bool = True, **duplicates: Any) -> Intake:
    """intake with the knowledge base (seeded), the synonyms, and the front desk's policies."""
    app = make_app()
    store = FakeKnowledgeStore(app.store.tickets.outbox)
    store.seed(CONFIG, NOW)
    app.knowledge = KnowledgeBase(store=store, segmenter=SEGMENTER, categories=CATALOG.categories, units=UNITS)
    app.segmenter = SEGMENTER
    app.front_desk = FrontDeskPolicy(direct_answer_callback=direct_answer_callback)
    app.duplicates = DuplicatePolicy(**{**read_yaml(CONFIG, "duplicates.yaml"), **duplicates})
    return app


def run(app: Intake, name: str, actor: Actor = OPERATOR, **req: Any) -> dict:
    return HANDLERS.execute(app, name, request(**req), actor)


def register(app: Intake, actor: Actor = OPERATOR, idempotency_key: str | None = None, **overrides: Any) -> dict:
    return run(app, "register", actor, body=noise_complaint(**overrides), idempotency_key=idempotency_key)


def published_types(app: Intake) -> list[str]:
    return [e["type"] for e in app.store.tickets.outbox.published]


def published(app: Intake, cls: type) -> list[dict]:
    return [e for e in app.store.tickets.outbox.published if e["type"] == cls.full_type()]
