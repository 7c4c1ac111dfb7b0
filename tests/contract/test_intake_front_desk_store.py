"""intake's store methods for the front desk (issue 12), on the fake and on MongoDB (`-m integration`):
the new ticket fields survive the store, duplicate candidates are found by caller, place and MinHash
bands, and merged tickets follow their main ticket's view changes once each."""
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest

from hotline_common.actors import Actor
from hotline_common.catalog import load_catalog
from hotline_common.testing import FixedClock, RecordingOutbox, at
from services.intake import domain
from services.intake.commands import CitizenDetails, Register
from services.intake.duplicates import fingerprint_of
from services.intake.view import ViewChange

CONFIG = Path(__file__).resolve().parents[2] / "config"
CATALOG = load_catalog(CONFIG)
NOW = at("2026-11-27T02:00:00Z")
OPERATOR = Actor("op1", "operator")
LAMP = Register(channel="phone", type="help", category="infrastructure.streetlight", district="tiedong",
                address="胜利南路与站前街交口", citizen=CitizenDetails(name="张女士", phone="13800001234"),
                content="胜利南路与站前街交口路灯不亮")
WORDS = ["胜利", "南路", "站", "前", "街", "交口", "路灯", "不亮"]


@pytest.fixture
def outbox():
    return RecordingOutbox("intake", FixedClock(NOW))


@pytest.fixture(params=["fake", pytest.param("mongo", marks=pytest.mark.integration)])
def store(request, outbox):
    if request.param == "fake":
        from services.intake.fakes import FakeIntakeStore
        return FakeIntakeStore(outbox)
    from hotline_common.mongo import client
    from services.intake.store import IntakeStore
    uri, prefix = request.getfixturevalue("mongo_uri"), request.getfixturevalue("db_prefix")
    store = IntakeStore(client(uri)[prefix + "intake"], outbox, SimpleNamespace(ticket_number_block=5))
    store.ensure_indexes()
    return store


def new(n, now=NOW, words=WORDS, **details):
    ticket, events = domain.register(None, replace(LAMP, **details), now=now, actor=OPERATOR, catalog=CATALOG,
                                     allocate=lambda: (f"t{n:03d}", f"AS20261127{n:06d}"))
    return replace(ticket, fingerprint=fingerprint_of(words)), events


def test_the_front_desks_fields_survive_the_store(store):
    ticket, events = new(1)
    ticket = replace(ticket, disposition="direct_answer", disposition_reason="政策咨询", referred_to=None,
                     answer=domain.DirectAnswer(entry_id="kb1", revision=2, title="路灯不亮报修", unit_id="city.housing"),
                     merged_into=domain.TicketRef(id="t009", number="AS20261127000009"), merge_no=2,
                     follow_up_of=domain.TicketRef(id="t008", number="AS20261127000008"),
                     responsible_unit=domain.UnitRef(id="district.tiedong", name="铁东区人民政府"))
    store.add(ticket, events)
    assert store.get("t001") == replace(ticket, version=1)


def test_duplicate_candidates_by_caller_place_and_shared_bands_recent_open_and_unmerged(store):
    store.add(*new(1))                                                           # same place, same words
    store.add(*new(2, district="tiexi", category="housing.property", citizen=CitizenDetails(phone="13900000002"),
                   words=["胜利", "南路", "路灯", "不亮", "交口"]))              # another place, similar words
    store.add(*new(3, district="lishan", category="housing", words=["物业", "收费"]))   # the same caller only
    store.add(*new(4, district="lishan", category="housing", citizen=CitizenDetails(phone="13900000004"),
                   words=["物业", "收费"]))                                       # nothing in common
    store.add(*new(5, now=NOW - timedelta(days=10)))                             # too old
    closed, events = new(6)
    store.add(replace(closed, closed=True), events)                             # closed
    merged, events = new(7)
    store.add(replace(merged, merged_into=domain.TicketRef(id="t001", number="AS20261127000001")), events)

    def pool(category=None, district=None, phone=None, words=None, limit=10):
        found = store.duplicate_pool(category, district, phone, fingerprint_of(words) if words else None,
                                     NOW - timedelta(days=7), limit)
        return sorted(t.id for t in found)
    assert pool("infrastructure.streetlight", "tiedong") == ["t001"]
    assert pool(phone="13800001234") == ["t001", "t003"]
    assert "t002" in pool(words=WORDS) and "t004" not in pool(words=WORDS)
    assert pool() == [] and len(pool(phone="13800001234", limit=1)) == 1
    found = store.duplicate_pool(None, None, "13800001234", None, NOW - timedelta(days=7), 10)
    assert {t.citizen.phone for t in found} == {"13800001234"} and all(t.content for t in found)


def test_a_common_wording_never_pushes_the_same_callers_earlier_call_out_of_the_pool(store):
    """The caller's and the place's candidates come whole; the bands share the rest of the pool (issue 13:
    a band each used to read the whole pool, and a wording every call shares filled it with strangers)."""
    store.add(*new(1, now=NOW - timedelta(days=3), district="lishan", category="housing",
                   citizen=CitizenDetails(phone="13700000001")))                 # the caller, days ago
    for n in range(2, 32):                                                       # 30 strangers since, same words
        store.add(*new(n, now=NOW - timedelta(hours=n), citizen=CitizenDetails(phone=f"139000000{n:02d}")))
    found = store.duplicate_pool("housing", "lishan", "13700000001", fingerprint_of(WORDS),
                                 NOW - timedelta(days=7), 10)
    assert {"t001", "t002"} <= {t.id for t in found} and len(found) <= 10   # the caller's, the newest stranger
    newest = [t.created_at for t in found]
    assert newest == sorted(newest, reverse=True)


def test_merged_tickets_follow_the_main_tickets_view_once_each_and_ignore_their_own(store):
    store.add(*new(1))
    for n in (2, 3):
        ticket, events = new(n)
        store.add(replace(ticket, merged_into=domain.TicketRef(id="t001", number="AS20261127000001")), events)
    assert sorted(store.merged_ids("t001")) == ["t002", "t003"] and store.merged_ids("t002") == []
    assert [t.id for t in store.merged_tickets("t001")] == ["t002", "t003"]
    replied = ViewChange("答复", {}, {"status": "replied", "units": ("city.housing",)}, "routing", 3)
    line = domain.timeline_entry(NOW, "ticket.replied", "答复（主工单AS20261127000001）", None, {}, "e3")
    assert store.apply_to_merged("t001", replied, line, cause="e3") == 2
    assert store.apply_to_merged("t001", replied, line, cause="e3") == 0          # once per event
    older = ViewChange("签收", {}, {"status": "accepted"}, "routing", 2)
    assert store.apply_to_merged("t001", older, replace(line, label="签收"), cause="e2") == 2
    ticket = store.get("t002")
    assert ticket.status == "replied" and ticket.units == ("city.housing",)        # the older change: its line only
    assert [e.label for e in ticket.timeline][-2:] == ["答复（主工单AS20261127000001）", "签收"]
    # a merged ticket's own routing change only adds its line; an unmerged ticket's applies
    own = ViewChange("撤回交办", {}, {"status": "withdrawn", "units": ()}, "routing", 1)
    store.apply_view("t002", own, replace(line, label="撤回交办"), cause="own-1")
    assert store.get("t002").status == "replied" and store.get("t002").timeline[-1].label == "撤回交办"
    store.apply_view("t001", own, replace(line, label="撤回交办"), cause="own-1")
    assert store.get("t001").status == "withdrawn"


def test_a_closed_or_merged_newest_ticket_gives_its_place_in_the_pool_to_the_next_open_one(store):
    """Each band contributes its share of the pool (one of ten here): the newest tickets sharing the
    words are closed or merged, so the open one behind them is what the band brings."""
    store.add(*new(1, now=NOW - timedelta(hours=3), citizen=CitizenDetails(phone="13900000001")))
    for n in (2, 3, 4):
        ticket, events = new(n, now=NOW - timedelta(hours=n - 2), citizen=CitizenDetails(phone=f"1390000000{n}"))
        store.add(replace(ticket, closed=True) if n % 2 else
                  replace(ticket, merged_into=domain.TicketRef(id="t001", number="AS20261127000001")), events)
    found = store.duplicate_pool(None, None, None, fingerprint_of(WORDS), NOW - timedelta(days=7), 10)
    assert [t.id for t in found] == ["t001"]


def test_a_key_remembers_its_newest_tickets_only(store):
    from services.intake.store import DUPLICATE_KEEP
    for n in range(DUPLICATE_KEEP + 3):
        store.add(*new(n, now=NOW - timedelta(minutes=DUPLICATE_KEEP + 3 - n), words=[f"词{n}"]))
    found = store.duplicate_pool(None, None, "13800001234", None, NOW - timedelta(days=7), DUPLICATE_KEEP + 3)
    assert len(found) == DUPLICATE_KEEP and found[0].id == f"t{DUPLICATE_KEEP + 2:03d}"


@pytest.mark.integration
def test_tickets_stored_before_the_duplicate_keys_existed_are_found_after_an_upgrade(mongo_uri, db_prefix, outbox):
    """A store of the old shape (the bands on the tickets, indexed; no keys) gets its recent tickets onto
    the keys once when intake starts, and the tickets lose the old indexes (every update paid for them)."""
    from datetime import UTC, datetime

    from hotline_common.mongo import client
    from services.intake.store import IntakeStore, to_doc
    db = client(mongo_uri)[db_prefix + "intake_upgrade"]
    store = IntakeStore(db, outbox, SimpleNamespace(ticket_number_block=5))
    now = datetime.now(UTC)
    for n, age in ((1, timedelta(hours=1)), (2, timedelta(days=40))):    # recent, and older than the backfill
        ticket, _ = new(n, now=now - age)
        db.tickets.insert_one({**to_doc(replace(ticket, fingerprint=fingerprint_of(WORDS))), "version": 1})
    db.tickets.create_index([("fingerprint_bands", 1), ("created_at", -1)], name="minhash_bands")
    store.ensure_indexes()
    store.ensure_indexes()                                                # once: the marker
    found = store.duplicate_pool("infrastructure.streetlight", "tiedong", None, fingerprint_of(WORDS),
                                 now - timedelta(days=90), 10)
    assert [t.id for t in found] == ["t001"]
    assert "minhash_bands" not in db.tickets.index_information()
    assert sum(any(e.endswith(":t001") for e in d["recent"]) for d in db.duplicate_keys.find()) == 14  # caller,
    # place, 12 bands
