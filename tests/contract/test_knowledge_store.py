"""One suite for the knowledge base's store (R19): the in-memory fake (fast) and the MongoDB adapter
(`-m integration`, on the embedded server) must behave alike."""
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import pytest

from hotline_common.actors import Actor
from hotline_common.catalog import load_catalog
from hotline_common.errors import StaleVersion
from hotline_common.testing import FixedClock, RecordingOutbox, at
from services.intake.knowledge import domain as kd
from services.intake.knowledge.commands import ApproveEntry, CreateEntry, EntryContent, RetireEntry

CONFIG = Path(__file__).resolve().parents[2] / "config"
CATEGORIES = load_catalog(CONFIG).categories
NOW = at("2026-11-27T02:00:00Z")
HRSS = Actor("city.hrss.contact", "unit_handler", "city.hrss")
OPERATOR = Actor("op1", "operator")
CONTENT = EntryContent(title="灵活就业人员参加职工养老保险", answer="可在户籍地或居住地社保经办机构办理参保登记，按月或按年缴费。",
                       category="labor.social_security", source="《社会保险法》第十条", valid_from=date(2026, 1, 1),
                       valid_until=None, review_date=date(2027, 6, 30), keywords=("灵活就业",))


@pytest.fixture
def outbox():
    return RecordingOutbox("intake", FixedClock(NOW))


@pytest.fixture(params=["fake", pytest.param("mongo", marks=pytest.mark.integration)])
def store(request, outbox):
    if request.param == "fake":
        from services.intake.knowledge.fakes import FakeKnowledgeStore
        return FakeKnowledgeStore(outbox)
    from hotline_common.mongo import client
    from services.intake.knowledge.store import KnowledgeStore
    uri, prefix = request.getfixturevalue("mongo_uri"), request.getfixturevalue("db_prefix")
    store = KnowledgeStore(client(uri)[prefix + "intake"], outbox)
    store.ensure_indexes()
    return store


def new(entry_id="kb1", category="labor.social_security"):
    return kd.create(None, CreateEntry(content=replace(CONTENT, category=category)), now=NOW, actor=HRSS,
                     new_id=entry_id, categories=CATEGORIES, units={"city.hrss"})


def test_an_entry_with_its_revisions_survives_the_store_and_changes_over_its_version(store, outbox):
    entry, events = new()
    revision = store.revision()
    store.add(entry, events)
    assert store.revision() > revision
    stored = store.get("kb1")
    assert stored == replace(entry, version=1) and store.get("kb2") is None
    approved, events = kd.approve(stored, ApproveEntry(entry_id="kb1", note="同意"), now=NOW + timedelta(hours=1),
                                  actor=OPERATOR)
    store.save(stored, approved, events)
    again = store.get("kb1")
    assert again == replace(approved, version=2) and again.current.valid_from == date(2026, 1, 1)
    assert again.revisions[1].by == OPERATOR.to_dict() and again.revisions[1].at == NOW + timedelta(hours=1)
    with pytest.raises(StaleVersion):
        store.save(stored, approved, events)
    assert outbox.types() == ["cn.gov.12345.knowledge.submitted", "cn.gov.12345.knowledge.published"]
    assert [e.id for e in store.published()] == ["kb1"]


def test_listing_by_unit_status_waiting_approval_and_category(store):
    store.add(*new("kb1"))
    store.add(*new("kb2", category="labor.wages"))
    published, events = kd.approve(store.get("kb2"), ApproveEntry(entry_id="kb2"), now=NOW, actor=OPERATOR)
    store.save(store.get("kb2"), published, events)
    retired, events = kd.retire(store.get("kb1"), RetireEntry(entry_id="kb1", reason="政策已废止"), now=NOW, actor=HRSS)
    store.save(store.get("kb1"), retired, events)
    store.add(*new("kb3", category="housing"))

    def ids(**filters):
        return sorted(e.id for e in store.find(**filters))
    assert ids() == ["kb1", "kb2", "kb3"] and ids(unit="city.hrss") == ["kb1", "kb2", "kb3"]
    assert ids(unit="city.market") == []
    assert ids(status="published") == ["kb2"] and ids(status="retired") == ["kb1"] and ids(status="draft") == ["kb3"]
    assert ids(status="pending") == ["kb3"]
    assert ids(category="labor") == ["kb1", "kb2"] and ids(category="labor.wages") == ["kb2"]
    assert len(store.find(limit=1)) == 1


def test_the_shipped_examples_are_seeded_once_and_uses_are_counted_once_per_ticket(store):
    added = store.seed(CONFIG, NOW)
    assert added >= 30 and store.seed(CONFIG, NOW) == 0
    card = store.get("example.hrss.social-security-card-loss")
    assert card.example and card.status == "published" and card.revisions[0].action == "seeded"
    assert len(store.published()) == added
    assert store.record_use(card.id, "t1", NOW) and store.record_use(card.id, "t2", NOW)
    assert not store.record_use(card.id, "t1", NOW)
    assert store.use_counts([card.id, "kb-none"]) == {card.id: 2}
