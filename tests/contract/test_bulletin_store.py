"""One suite for bulletin's store: the in-memory fake (fast) and the MongoDB adapter (`-m integration`,
on the embedded server) must behave alike, so the fast tests over the fake say something true."""
from datetime import UTC, datetime, timedelta, timezone

import pytest

from hotline_common.testing import FixedClock, RecordingOutbox
from services.bulletin.assessment import ManualInput
from services.bulletin.domain import Count, Dims, TicketRecord
from services.bulletin.events import BulletinPublished
from services.bulletin.store import LIST_KEEP

BJ = timezone(timedelta(hours=8))
DIMS = Dims("complain", "noise.commercial", "tiedong", "phone", None)
STREET = Dims("consult", "waste", "tiexi", "web", "xinhua")


def at(y, m, d, hh=0):
    return datetime(y, m, d, hh, tzinfo=BJ).astimezone(UTC)


@pytest.fixture
def outbox():
    return RecordingOutbox("bulletin", FixedClock(at(2026, 9, 1, 9)))


@pytest.fixture(params=["fake", pytest.param("mongo", marks=pytest.mark.integration)])
def store(request, outbox):
    if request.param == "fake":
        from services.bulletin.fakes import FakeBulletinStore
        return FakeBulletinStore(outbox)
    from hotline_common.mongo import client
    from services.bulletin.store import BulletinStore
    uri, prefix = request.getfixturevalue("mongo_uri"), request.getfixturevalue("db_prefix")
    store = BulletinStore(client(uri)[prefix + "bulletin"], outbox)
    store.ensure_indexes()
    return store


def test_counts_apply_once_per_event_and_bucket(store):
    registration = Count("2026-09-01", "", DIMS, {"registered": 1}, registration=True)
    assert store.apply("e1", [registration]) == 2            # the cube and the place bucket
    assert store.apply("e1", [registration]) == 0            # a repeat changes nothing
    assert store.apply("e2", [Count("2026-09-01", "", STREET, {"registered": 1}, registration=True)]) == 2
    outcome = Count("2026-09-01", "city.environment", DIMS, {"dispatched": 1, "overdue": 1}, {"overdue": "N1"})
    assert store.apply("e3", [outcome]) == 2                 # the cube and the unit bucket
    assert store.apply("e3", [outcome]) == 0
    dump = store.dump()
    assert dump["units"]["2026-09-01|city.environment"] == {
        "day": "2026-09-01", "unit": "city.environment", "counters": {"dispatched": 1, "overdue": 1},
        "lists": {"overdue": ["N1"]}}
    assert dump["places"]["2026-09-01|tiexi"]["street"] == {"xinhua": {"waste": 1}}
    assert dump["places"]["2026-09-01|tiedong"]["category"] == {"noise.commercial": 1}
    assert len(dump["cube"]) == 3


def test_many_events_in_one_bucket_add_up_and_lists_keep_the_first_numbers(store):
    for i in range(LIST_KEEP + 5):
        store.apply(f"e{i}", [Count("2026-09-02", "city.housing", DIMS, {"overdue": 1}, {"overdue": f"N{i:03d}"})])
    (day,) = store.units("2026-09-02", "2026-09-03")
    assert day["counters"] == {"overdue": LIST_KEEP + 5}
    assert day["lists"]["overdue"] == [f"N{i:03d}" for i in range(LIST_KEEP)]
    (bare,) = store.units("2026-09-02", "2026-09-03", "city.housing", lists=False)
    assert bare["lists"] == {} and bare["counters"] == day["counters"]
    assert store.units("2026-09-02", "2026-09-03", "city.environment") == []


def test_cube_groups_and_filters_over_a_day_range(store):
    store.apply("a", [Count("2026-09-01", "u1", DIMS, {"dispatched": 2})])
    store.apply("b", [Count("2026-09-02", "u1", STREET, {"dispatched": 1, "rated": 1})])
    store.apply("c", [Count("2026-09-03", "u2", DIMS, {"dispatched": 5})])
    rows = store.cube("2026-09-01", "2026-09-03", ["unit"], {}, ["dispatched", "rated"])
    assert rows == [{"key": {"unit": "u1"}, "counters": {"dispatched": 3, "rated": 1}}]
    rows = store.cube("2026-09-01", "2026-09-04", ["type", "day"], {"category": ["noise.commercial"]}, ["dispatched"])
    assert sorted((r["key"]["day"], r["counters"]["dispatched"]) for r in rows) == [("2026-09-01", 2),
                                                                                  ("2026-09-03", 5)]
    assert store.cube("2026-09-01", "2026-09-04", ["street"], {"street": ["xinhua"]}, ["rated"]) == [
        {"key": {"street": "xinhua"}, "counters": {"rated": 1}}]


def test_ticket_records_dispatch_times_and_a_late_clock_claimed_once(store):
    record = TicketRecord("t1", "AS1", DIMS, "2026-09-01")
    assert store.add_ticket(record) is True and store.add_ticket(record) is False
    store.add_dispatch("t1", 1, "2026-09-01T02:00:00.000Z")
    store.add_dispatch("t1", 2, "2026-09-03T02:00:00.000Z")
    assert store.ticket("t1") == TicketRecord("t1", "AS1", DIMS, "2026-09-01",
                                              {1: "2026-09-01T02:00:00.000Z", 2: "2026-09-03T02:00:00.000Z"}, {})
    assert store.ticket("t2") is None
    assert store.claim_late("t1", "1.1", "overdue-event") is True
    assert store.claim_late("t1", "1.1", "missed-event") is False
    assert store.claim_late("t1", "1.1", "overdue-event") is True      # the same event again (a redelivery)
    assert store.claim_late("t1", "1.2", "missed-event") is True
    assert store.ticket("t1").late == {"1-1": "overdue-event", "1-2": "missed-event"}


def test_facts_are_kept_once_and_read_in_arrival_order(store):
    base = at(2026, 9, 1, 9)
    for i, name in enumerate(("b", "a", "c")):
        assert store.record({"_id": name, "type": "cn.gov.12345.ticket.registered", "received_at": base + timedelta(seconds=i),
                             "time": base, "event": {"id": name}}) is True
    assert store.record({"_id": "a", "type": "x", "received_at": base, "time": base, "event": {}}) is False
    assert store.has_fact("a") and not store.has_fact("z")
    assert [f["_id"] for f in store.all_facts()] == ["b", "a", "c"]
    page = store.feed(None, base + timedelta(seconds=1), None, 10)
    assert [f["_id"] for f in page] == ["b", "a"]
    after = (page[0]["received_at"], page[0]["_id"])
    assert [f["_id"] for f in store.feed(after, base + timedelta(minutes=1), ["cn.gov.12345.ticket.registered"], 10)] == ["a", "c"]


def test_bulletins_are_stored_numbered_and_revised_with_their_event(store, outbox):
    assert store.first_day() is None
    store.apply("r", [Count("2026-08-31", "", DIMS, {"registered": 1}, registration=True)])
    assert store.first_day() == "2026-08-31"
    now = at(2026, 9, 7, 9)
    assert store.claim_number("weekly-2026-W36", "weekly", 2026, now, 600) == 1
    assert store.claim_number("weekly-2026-W36", "weekly", 2026, now, 600) is None        # being made
    assert store.claim_number("weekly-2026-W36", "weekly", 2026, now + timedelta(hours=1), 600) == 1   # taken over
    assert store.claim_number("weekly-2026-W37", "weekly", 2026, now, 600) == 2
    doc = {"_id": "weekly-2026-W36", "kind": "weekly", "title": "12345工作简报", "year": 2026, "number": 1,
           "issue": "2026年第1期", "period": "2026-W36", "first_day": "2026-08-31", "last_day": "2026-09-06",
           "revision": 1, "generated_at": now, "registered": 1, "named_units": [], "content": {"x": 1}}
    event = BulletinPublished(bulletin_id="weekly-2026-W36", kind="weekly", period="2026-W36", first_day="2026-08-31",
                              last_day="2026-09-06", year=2026, number=1, issue="2026年第1期", revision=1,
                              registered=1, named_units=[], published_at="2026-09-07T01:00:00.000Z")
    store.save_bulletin(doc, {"html": b"<html>1</html>"}, [event])
    assert [e["type"] for e in outbox.published] == ["cn.gov.12345.bulletin.published"]
    saved = store.bulletin("weekly-2026-W36")
    assert saved["content"] == {"x": 1} and saved["version"] == 1
    store.save_bulletin({**doc, "revision": 2, "content": {"x": 2}}, {"html": b"<html>2</html>"}, [],
                        version=saved["version"])
    assert store.bulletin("weekly-2026-W36")["revision"] == 2
    assert store.bulletin_file("weekly-2026-W36", "html") == b"<html>2</html>"
    assert store.bulletin_file("weekly-2026-W36", "pdf") is None
    (listed,) = store.list_bulletins("weekly", 2026, 10)
    assert "content" not in listed and listed["issue"] == "2026年第1期"
    assert store.list_bulletins("monthly", None, 10) == []


def test_manual_inputs_keep_the_latest_per_unit_part_and_period(store):
    store.put_input("2026", ManualInput("u1", "training", 60, "", "admin.1", "2026-12-01T00:00:00.000Z"))
    store.put_input("2026", ManualInput("u1", "training", 80, "复核", "admin.2", "2026-12-02T00:00:00.000Z"))
    store.put_input("2026", ManualInput("u2", "institution", 90, "", "admin.1", "2026-12-02T00:00:00.000Z"))
    store.put_input("2025", ManualInput("u1", "training", 10, "", "admin.1", "2025-12-02T00:00:00.000Z"))
    assert store.inputs("2026") == [ManualInput("u1", "training", 80.0, "复核", "admin.2", "2026-12-02T00:00:00.000Z"),
                                    ManualInput("u2", "institution", 90.0, "", "admin.1", "2026-12-02T00:00:00.000Z")]
    store.remember_unit("u1", "一局")
    assert store.unit_names() == {"u1": "一局"}
