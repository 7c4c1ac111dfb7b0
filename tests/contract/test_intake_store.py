"""One suite for intake's store: the in-memory fake (fast) and the MongoDB adapter (`-m integration`,
on the embedded server) must behave alike, so the fast tests over the fake say something true."""
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest

from hotline_common.actors import Actor
from hotline_common.catalog import load_catalog
from hotline_common.errors import NotFound, StaleVersion, ValidationFailed
from hotline_common.testing import FixedClock, RecordingOutbox, at
from services.intake import domain
from services.intake.commands import CitizenDetails, MarkKey, RecordCallback, Register, TicketFilters
from services.intake.store import IdempotencyRace
from services.intake.view import ViewChange

CONFIG = Path(__file__).resolve().parents[2] / "config"
CATALOG = load_catalog(CONFIG)
NOW = at("2026-11-27T02:00:00Z")
OPERATOR = Actor("op1", "operator")
COMPLAINT = Register(channel="phone", type="complain", category="noise.neighbourhood", district="tiedong",
                     address="铁东区胜利南路88号", citizen=CitizenDetails(name="张女士", phone="13800001234"),
                     content="楼下烧烤店每天夜里12点后仍然噪音扰民")


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


def new(n=1, now=NOW, key=None, **details):
    cmd = replace(COMPLAINT, idempotency_key=key, **details)
    return domain.register(None, cmd, now=now, actor=OPERATOR, catalog=CATALOG,
                           allocate=lambda: (f"t{n:03d}", f"AS20261127{n:06d}"))


def test_a_ticket_is_stored_and_read_back_by_id_or_number(store, outbox):
    ticket, events = new(key="k1")
    assert store.add(ticket, events)
    assert store.get("t001") == replace(ticket, version=1)
    assert store.get("AS20261127000001") == replace(ticket, version=1)
    assert store.get("AS20261127999999") is None
    assert store.by_idempotency_key("k1") == replace(ticket, version=1) and store.by_idempotency_key("k2") is None
    assert outbox.types() == ["cn.gov.12345.ticket.registered"]


def test_instants_are_kept_to_the_millisecond(store):
    ticket, events = new(now=NOW + timedelta(microseconds=123456))
    store.add(ticket, events)
    assert store.get("t001").created_at == NOW + timedelta(milliseconds=123)


def test_one_idempotency_key_stores_one_ticket_and_tickets_without_a_key_never_clash(store, outbox):
    store.add(*new(1, key="k1"))
    with pytest.raises(IdempotencyRace):
        store.add(*new(2, key="k1"))
    store.add(*new(3))
    store.add(*new(4))
    assert store.get("t002") is None and store.get("t004") is not None
    assert len(outbox.published) == 3


def test_numbers_never_repeat_and_count_per_day(store):
    numbers = [store.next_number("AS20261127") for _ in range(12)]
    assert numbers == list(range(1, 13))
    assert store.next_number("AS20261128") == 1


def test_a_change_intake_decides_is_saved_if_nobody_moved_the_ticket(store, outbox):
    ticket, events = new()
    store.add(ticket, events)
    stored = store.get("t001")
    marked, events = domain.mark_key(stored, MarkKey(key="t001", reason="多次反映未解决"), now=NOW, actor=OPERATOR)
    assert store.save(stored, marked, events)
    assert store.get("t001") == replace(marked, version=2)
    with pytest.raises(StaleVersion):  # decided on version 1, the ticket is at 2
        store.save(stored, marked, events)
    assert outbox.types() == ["cn.gov.12345.ticket.registered", "cn.gov.12345.ticket.marked_key"]


def test_a_callback_pushes_its_entry_and_timeline_and_sets_what_it_decided(store):
    ticket, events = new()
    ticket = replace(ticket, status="replied", units=("city.environment",), dispatch_no=1,
                     lead_unit=domain.UnitRef(id="city.environment", name="市环保局"))
    store.add(ticket, events)
    stored = store.get("t001")
    closed, events = domain.record_callback(stored, RecordCallback(key="t001", reached=True, satisfaction="satisfied"),
                                            now=NOW, actor=OPERATOR, policy=domain.CallbackPolicy())
    store.save(stored, closed, events)
    assert store.get("t001") == replace(closed, version=2)
    assert store.search(TicketFilters(status="closed"), 10, None)[0] == [replace(closed, version=2)]


def change(label, seq=None, **changes):
    return ViewChange(label, {}, changes, "routing" if seq else None, seq)


def entry(label, event_id):
    return domain.timeline_entry(NOW, "x.y", label, None, {}, event_id)


def test_a_view_change_applies_once_and_an_older_one_only_adds_its_timeline_line(store):
    store.add(*new())
    units = ("city.environment",)
    assert store.apply_view("t001", change("交办", 1, status="dispatched", units=units), entry("交办", "e1"), "e1")
    assert not store.apply_view("t001", change("交办", 1, status="dispatched"), entry("交办", "e1"), "e1")
    assert store.apply_view("t001", change("阅批", 3, status="reviewed"), entry("阅批", "e3"), "e3")
    assert store.apply_view("t001", change("签收", 2, status="accepted"), entry("签收", "e2"), "e2")
    assert store.apply_view("t001", change("催办"), entry("催办", "e4"), "e4")   # no order to guard
    ticket = store.get("t001")
    assert ticket.status == "reviewed" and ticket.units == units and ticket.version == 5
    assert [e.label for e in ticket.timeline] == ["工单登记", "交办", "阅批", "签收", "催办"]
    assert ticket.timeline[1] == entry("交办", "e1")
    deadline = domain.DeadlineSummary(due_at="2026-12-25T15:59:59.999Z", due_date="2026-12-25", working_days=20,
                                      extended_days=0, started_at="2026-11-27T02:00:01.000Z", provisional=True,
                                      provisional_years=(2027,), unit_id="city.environment", state="running")
    extension = domain.ExtensionSummary(status="rejected")
    store.apply_view("t001", change("时限", deadline=deadline, extension=extension, overdue=True),
                     entry("时限", "e5"), "e5")
    ticket = store.get("t001")
    assert ticket.deadline == deadline and ticket.extension == extension and ticket.overdue
    with pytest.raises(NotFound):
        store.apply_view("t404", change("交办", 1, status="dispatched"), entry("交办", "e9"), "e9")


def test_search_filters_newest_first_with_a_cursor(store):
    for n, (district, category, minute) in enumerate([("tiedong", "noise.neighbourhood", 0), ("tiexi", "noise", 1),
                                                      ("tiedong", "noise.construction", 2),
                                                      ("tiedong", "housing.repair", 2), ("lishan", "noises", 3)], 1):
        ticket, events = new(n, now=NOW + timedelta(minutes=minute), district=district)
        store.add(replace(ticket, category=category), events)  # "noises": a code the catalog may never have
    store.apply_view("t002", change("交办", 1, status="dispatched", units=("city.environment",), overdue=True),
                     entry("交办", "e1"), "e1")

    def numbers(filters=TicketFilters(), limit=10, cursor=None):
        tickets, next_cursor = store.search(filters, limit, cursor)
        return [t.id for t in tickets], next_cursor

    assert numbers()[0] == ["t005", "t004", "t003", "t002", "t001"]   # same instant: the greater id first
    page1, cursor = numbers(TicketFilters(district="tiedong"), 2)
    page2, end = numbers(TicketFilters(district="tiedong"), 2, cursor)
    assert page1 + page2 == ["t004", "t003", "t001"] and end is None
    assert numbers(TicketFilters(category="noise"))[0] == ["t003", "t002", "t001"]
    assert numbers(TicketFilters(unit="city.environment"))[0] == ["t002"]
    assert numbers(TicketFilters(overdue=True))[0] == ["t002"]
    assert numbers(TicketFilters(status="dispatched"))[0] == ["t002"]
    assert numbers(TicketFilters(status="registered", type="complain"))[0] == ["t005", "t004", "t003", "t001"]
    assert numbers(TicketFilters(created_from=NOW + timedelta(minutes=1),
                                 created_to=NOW + timedelta(minutes=3)))[0] == ["t004", "t003", "t002"]
    with pytest.raises(ValidationFailed):
        store.search(TicketFilters(), 10, "garbage!")
