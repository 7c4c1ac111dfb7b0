"""Listings read one time window at a time (issue 13), for intake's tickets and escalation's cases:
the same pages as the reference (the fake, a filter over everything), over an archive spread across
a year, and on the real store a page reads about a page of documents whatever lies behind it."""
import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest

from hotline_common.actors import Actor
from hotline_common.catalog import load_catalog
from hotline_common.messages import ActorRef
from hotline_common.testing import FixedClock, RecordingOutbox
from services.escalation.domain import Case
from services.intake import domain
from services.intake.commands import CitizenDetails, Register, TicketFilters
from services.intake.view import ViewChange

CATALOG = load_catalog(Path(__file__).resolve().parents[2] / "config")
NOW = datetime.now(UTC).replace(microsecond=0)
OPERATOR = Actor("op1", "operator")
CMD = Register(channel="phone", type="help", category="noise.neighbourhood", district="tiedong", address="胜利南路88号",
               citizen=CitizenDetails(name="张女士", phone="13800001234"), content="楼下烧烤店夜里噪音扰民")
STATUSES = ["registered", "awaiting_dispatch", "dispatched", "accepted", "replied"]
CATEGORIES = ["noise.neighbourhood", "noise.construction", "housing.repair", "traffic.parking"]
DISTRICTS = ["tiedong", "tiexi", "lishan"]
UNITS = ["city.environment", "city.housing", "district.tiedong"]


class Counting:
    """A collection whose finds count the documents the server returned."""

    def __init__(self, collection):
        self.collection, self.read, self.queries = collection, 0, 0

    def find(self, *args, **kwargs):
        docs = list(self.collection.find(*args, **kwargs))
        self.read += len(docs)
        self.queries += 1
        return docs

    def __getattr__(self, name):
        return getattr(self.collection, name)


# -- intake ------------------------------------------------------------------------------------------------

@pytest.fixture(params=["fake", pytest.param("mongo", marks=pytest.mark.integration)])
def tickets(request):
    outbox = RecordingOutbox("intake", FixedClock(NOW))
    if request.param == "fake":
        from services.intake.fakes import FakeIntakeStore
        return FakeIntakeStore(outbox)
    from hotline_common.mongo import client
    from services.intake.store import IntakeStore
    uri, prefix = request.getfixturevalue("mongo_uri"), request.getfixturevalue("db_prefix")
    store = IntakeStore(client(uri)[prefix + "intake"], outbox, SimpleNamespace(ticket_number_block=5))
    store.ensure_indexes()
    return store


def make(n, at, *, status="registered", district="tiedong", category="noise.neighbourhood", units=(), type_="help",
         overdue=False, closed=False):
    ticket, events = domain.register(None, replace(CMD, type=type_), now=at, actor=OPERATOR, catalog=CATALOG,
                                     allocate=lambda: (f"t{n:05d}", f"AS20261127{n:06d}"))
    return replace(ticket, status=status, district=district, category=category, units=tuple(units),
                   overdue=overdue, closed=closed), events


def a_year(store, n=90, seed=3):
    """Tickets over a year with empty months between bursts, some at the same instant."""
    rng = random.Random(seed)
    made = []
    for i in range(n):
        if i % 10 == 9:
            at = made[-1].created_at  # a tie
        else:
            day = rng.choice([0, 0, 0, 1, 2, 5, 30, 31, 90, 200, 364])
            at = NOW - timedelta(days=day, seconds=rng.randrange(0, 86400))
        ticket, events = make(i, at, status=rng.choice(STATUSES), district=rng.choice(DISTRICTS),
                              category=rng.choice(CATEGORIES), units=rng.choice([(), (UNITS[0],), (UNITS[1],),
                                                                                 (UNITS[1], UNITS[2])]),
                              type_=rng.choice(["help", "consult", "complain"]), overdue=rng.random() < 0.2,
                              closed=rng.random() < 0.3)
        store.add(ticket, events)
        made.append(ticket)
    return made


def reference(made, f: TicketFilters):
    def ok(t):
        status = "closed" if t.closed else t.status
        return ((f.status is None or status == f.status) and (f.district is None or t.district == f.district)
                and (f.type is None or t.type == f.type) and (f.unit is None or f.unit in t.units)
                and (f.overdue is None or t.overdue == f.overdue)
                and (f.category is None or t.category == f.category or t.category.startswith(f.category + "."))
                and (f.created_from is None or t.created_at >= f.created_from)
                and (f.created_to is None or t.created_at < f.created_to))
    return [t.id for t in sorted((t for t in made if ok(t)), key=lambda t: (t.created_at, t.id), reverse=True)]


def every_page(store, f, limit):
    ids, cursor = [], None
    for _ in range(200):
        page, cursor = store.search(f, limit, cursor)
        ids += [t.id for t in page]
        assert len(page) <= limit
        if cursor is None:
            return ids
    raise AssertionError("the pages never ended")


FILTERS = [
    TicketFilters(),
    TicketFilters(unit=UNITS[1]),
    TicketFilters(status="dispatched", district="tiexi", category="noise"),
    TicketFilters(status="closed", district="tiedong", category="noise.neighbourhood"),
    TicketFilters(status="awaiting_dispatch"),
    TicketFilters(status="closed"),
    TicketFilters(overdue=True),
    TicketFilters(overdue=False, type="consult"),
    TicketFilters(unit=UNITS[1], status="accepted"),
    TicketFilters(district="lishan"),
    TicketFilters(category="housing", type="complain"),
    TicketFilters(created_from=NOW - timedelta(days=40), created_to=NOW - timedelta(days=1)),
    TicketFilters(status="replied", created_from=NOW - timedelta(days=100)),
]


@pytest.mark.parametrize("f", FILTERS, ids=lambda f: ",".join(f"{k}={v}" for k, v in vars(f).items() if v is not None)
                         or "all")
def test_every_listing_pages_through_exactly_the_reference_newest_first(tickets, f):
    made = a_year(tickets)
    expected = reference(made, f)
    assert every_page(tickets, f, 7) == expected
    assert [t.id for t in tickets.search(f, 20, None)[0]] == expected[:20]


def test_a_status_change_moves_a_ticket_between_status_lists_and_a_closed_one_stays_closed(tickets):
    ticket, events = make(1, NOW - timedelta(hours=1))
    tickets.add(ticket, events)
    line = domain.timeline_entry(NOW, "x.y", "交办", None, {}, "e1")
    tickets.apply_view("t00001", ViewChange("交办", {}, {"status": "dispatched", "units": (UNITS[0],)}, "routing", 1),
                       line, "e1")
    listed = lambda f: [t.id for t in tickets.search(f, 10, None)[0]]
    assert listed(TicketFilters(status="dispatched")) == ["t00001"] and listed(TicketFilters(status="registered")) == []
    assert listed(TicketFilters(unit=UNITS[0], status="dispatched", district="tiedong", category="noise")) == ["t00001"]
    stored = tickets.get("t00001")
    tickets.save(stored, replace(stored, closed=True, close_reason="satisfied"), [])
    assert listed(TicketFilters(status="closed")) == ["t00001"] and listed(TicketFilters(status="dispatched")) == []
    later = domain.timeline_entry(NOW, "x.y", "答复", None, {}, "e2")
    assert tickets.apply_view("t00001", ViewChange("答复", {}, {"status": "replied"}, "routing", 2), later, "e2")
    assert tickets.get("t00001").status == "replied"  # the handling status moves on, the listing shows it closed
    assert listed(TicketFilters(status="closed")) == ["t00001"] and listed(TicketFilters(status="replied")) == []


@pytest.mark.integration
@pytest.mark.parametrize("f", [TicketFilters(), TicketFilters(unit=UNITS[0]), TicketFilters(status="dispatched"),
                               TicketFilters(status="dispatched", district="tiedong", category="noise"),
                               TicketFilters(overdue=True)], ids=["all", "unit", "status", "search", "overdue"])
def test_a_page_reads_about_a_page_however_much_archive_lies_behind_it(mongo_uri, db_prefix, f):
    from hotline_common.mongo import client
    from services.intake.store import IntakeStore
    store = IntakeStore(client(mongo_uri)[db_prefix + "intake"], RecordingOutbox("intake", FixedClock(NOW)),
                        SimpleNamespace(ticket_number_block=5))
    store.ensure_indexes()
    archive = [make(i, NOW - timedelta(days=30 + i % 300, minutes=i), status="dispatched", units=(UNITS[0],),
                    overdue=True)[0] for i in range(1000)]
    recent = [make(10000 + i, NOW - timedelta(minutes=i), status="dispatched", units=(UNITS[0],), overdue=True)[0]
              for i in range(40)]
    docs = []
    from services.intake.store import to_doc
    for t in archive + recent:
        docs.append({**to_doc(replace(t, version=1)), "version": 1, "inbox": [], "event_ids": []})
    store.db.tickets.insert_many(docs)
    counting = Counting(store.db.tickets)
    store.db = SimpleNamespace(tickets=counting, counters=store.db.counters)
    page, cursor = store.search(f, 20, None)
    assert [t.id for t in page] == [t.id for t in recent[:20]] and cursor
    assert counting.read <= 80, f"read {counting.read} documents in {counting.queries} queries for a page of 20"


@pytest.mark.integration
def test_tickets_stored_before_the_listing_keys_get_them_once(mongo_uri, db_prefix):
    from hotline_common.mongo import client
    from services.intake.store import IntakeStore, to_doc
    db = client(mongo_uri)[db_prefix + "intake"]
    old = to_doc(replace(make(1, NOW, status="dispatched", category="noise.construction")[0], version=1))
    del old["list_status"], old["category_path"]
    db.tickets.insert_one({**old, "version": 1, "inbox": [], "event_ids": []})
    store = IntakeStore(db, RecordingOutbox("intake", FixedClock(NOW)), SimpleNamespace(ticket_number_block=5))
    store.ensure_indexes()
    assert [t.id for t in store.search(TicketFilters(status="dispatched", district="tiedong", category="noise"),
                                       5, None)[0]] == ["t00001"]
    assert "status_newest" not in db.tickets.index_information()


# -- escalation: the supervisor's cases --------------------------------------------------------------------

@pytest.fixture(params=["fake", pytest.param("mongo", marks=pytest.mark.integration)])
def cases(request):
    outbox = RecordingOutbox("escalation", FixedClock(NOW))
    if request.param == "fake":
        from services.escalation.fakes import MemoryEscalationStore
        return MemoryEscalationStore(outbox)
    from hotline_common.mongo import client
    from services.escalation.store import EscalationStore
    uri, prefix = request.getfixturevalue("mongo_uri"), request.getfixturevalue("db_prefix")
    store = EscalationStore(client(uri)[prefix + "escalation"], outbox)
    store.ensure_indexes()
    return store


def case(i, at, state="open", unit="city.environment"):
    return Case(case_id=f"c{i:04d}", case_no=f"DB20261127{i:04d}", ticket_id=f"t{i:04d}", number=f"AS{i:014d}",
                unit_id=unit, trigger="overdue_ignored", detail="超期", opened_at=at,
                opened_by=ActorRef(user_id="system", role="system"), state=state)


def test_cases_newest_first_by_state_and_unit_over_a_year(cases):
    rng = random.Random(4)
    made = []
    for i in range(120):
        at = NOW - timedelta(days=rng.choice([0, 1, 3, 40, 41, 200, 360]), seconds=rng.randrange(86400))
        c = case(i, at, state=rng.choice(["open", "closed", "closed", "reinvestigating"]),
                 unit=rng.choice(UNITS))
        cases.add_case(c, [])
        made.append(c)
    for state in (None, "open", "closed"):
        for unit in (None, UNITS[1]):
            want = sorted((c for c in made if (state is None or c.state == state) and (unit is None or c.unit_id == unit)),
                          key=lambda c: (c.opened_at, c.case_id), reverse=True)
            for limit in (5, 100):
                got = cases.list_cases(state, unit, limit)
                assert [c.case_id for c in got] == [c.case_id for c in want[:limit]], (state, unit, limit)


@pytest.mark.integration
def test_open_cases_read_about_a_page_however_many_cases_were_closed(mongo_uri, db_prefix):
    from hotline_common.mongo import client
    from services.escalation.store import EscalationStore, case_to_doc
    store = EscalationStore(client(mongo_uri)[db_prefix + "escalation"], RecordingOutbox("escalation",
                                                                                            FixedClock(NOW)))
    store.ensure_indexes()
    docs = [case(i, NOW - timedelta(days=20 + i % 340, minutes=i), state="closed") for i in range(1000)]
    docs += [case(5000 + i, NOW - timedelta(hours=i)) for i in range(30)]
    store.db.cases.insert_many([{**case_to_doc(c), "version": 1, "inbox": [], "event_ids": []} for c in docs])
    counting = Counting(store.db.cases)
    store.db = SimpleNamespace(cases=counting)
    assert [c.case_id for c in store.list_cases("open", None, 20)] == [f"c{5000 + i:04d}" for i in range(20)]
    assert counting.read <= 60
    assert len(store.list_cases(None, None, 20)) == 20 and counting.read <= 140


@pytest.mark.integration
def test_the_next_page_of_a_status_rare_in_recent_weeks_reads_about_a_page(mongo_uri, db_prefix):
    """Closed tickets are rare in the last weeks and dense behind them: the next search of the list, and
    the first of a sibling list (another district), start from the width that reached the page's last
    entry, not from an average density over all that was walked (a thin window, grown eightfold into the
    dense part, read ten pages at 100,000 tickets and would read a hundred at 1,000,000)."""
    from hotline_common.mongo import client
    from services.intake.store import IntakeStore, to_doc
    store = IntakeStore(client(mongo_uri)[db_prefix + "intake"], RecordingOutbox("intake", FixedClock(NOW)),
                        SimpleNamespace(ticket_number_block=5))
    store.ensure_indexes()
    made = []
    for d, district in enumerate(DISTRICTS[:2]):
        made += [make(20000 * d + i, NOW - timedelta(days=3 + i * 6, minutes=d), closed=True, district=district,
                      category="noise.construction")[0] for i in range(3)]  # the last weeks: a few closed
        made += [make(20000 * d + 100 + i, NOW - timedelta(days=21, minutes=i * 7 + d), closed=True,
                      district=district, category="noise.construction")[0] for i in range(600)]  # behind: closed by the hundred a day
    store.db.tickets.insert_many([{**to_doc(replace(t, version=1)), "version": 1, "inbox": [], "event_ids": []}
                                  for t in made])
    counting = Counting(store.db.tickets)
    store.db = SimpleNamespace(tickets=counting, counters=store.db.counters)
    noise = {"status": "closed", "category": "noise"}
    store.search(TicketFilters(**noise, district=DISTRICTS[0]), 20, None)  # the first walk: cold
    for district in (DISTRICTS[0], DISTRICTS[1]):
        counting.read = counting.queries = 0
        page, cursor = store.search(TicketFilters(**noise, district=district), 20, None)
        assert len(page) == 20 and cursor
        assert counting.read <= 80, f"{district}: read {counting.read} in {counting.queries} queries for 20"
