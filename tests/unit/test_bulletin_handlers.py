"""bulletin's use cases through its handler table, over the in-memory store, outbox and clock: the
aggregates (idempotent, never double-counted), statistics (R2), hot spots (R12), the bulletin (R16), the
assessment (R18), the feed (D5) and rebuilding the aggregates from the facts."""
import base64
import io
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from hotline_common.actors import Actor
from hotline_common.dispatch import Outcome
from hotline_common.errors import Conflict, Forbidden, NotFound, NotYet, ValidationFailed
from hotline_common.messages import load_all
from services.bulletin import fakes as f
from services.bulletin import handlers
from services.bulletin.events import BulletinPublished
from services.bulletin.handlers import HANDLERS
from services.sla.events import DeadlineExtended, DeadlineMet, DeadlineMissed, DeadlineOverdue
from tests.support import validate_event

CONFIG = Path(__file__).resolve().parents[2] / "config"
BJ = timezone(timedelta(hours=8))
OPERATOR = Actor("operator.1", "operator")
ADMIN = Actor("admin.1", "admin")
SUPERVISOR = Actor("supervisor.1", "supervisor")
UNIT = Actor("city.housing.handler", "unit_handler", "city.housing")
SUBSCRIBER = Actor("ext.1", "subscriber")
PROMPT, LATE, SLOPPY = "city.environment", "city.housing", "city.enforcement"


def at(y, m, d, hh=0, mm=0):
    return datetime(y, m, d, hh, mm, tzinfo=BJ).astimezone(UTC)


@pytest.fixture
def kit():
    return f.BulletinKit(at(2026, 9, 1, 8), CONFIG)


def ticket(kit, n, when, unit, *, category="noise.commercial", district="tiedong", type="complain",
           channel="phone", accept_after=timedelta(hours=2)):
    """A ticket registered, dispatched to `unit` and signed for."""
    tid, number = f"t{n}", f"AS2026{n:010d}"
    assert kit.react(f.registered(tid, number, when, type=type, category=category, district=district,
                                  channel=channel)) == Outcome.APPLIED
    kit.react(f.dispatched(tid, number, unit, when + timedelta(minutes=1), unit_name=unit, type=type,
                           category=category, district=district))
    if accept_after is not None:
        kit.react(f.accepted(tid, number, unit, when + timedelta(minutes=1) + accept_after))
    return tid, number


def september(kit):
    """A month with units of known behaviour: PROMPT replies on time and satisfies, LATE lets deadlines
    pass and replies late, SLOPPY replies on time but leaves citizens unsatisfied and unsolved."""
    n = 0
    for day in range(1, 11):
        when = at(2026, 9, day, 9)
        for unit in (PROMPT, LATE, SLOPPY):
            n += 1
            tid, number = ticket(kit, n, when, unit, category="noise.commercial" if unit == PROMPT else "waste.household",
                                 accept_after=timedelta(hours=2) if unit != LATE else timedelta(hours=30))
            due = f"2026-09-{day + 14:02d}"
            if unit == LATE:
                kit.react(f.deadline(DeadlineOverdue, tid, number, unit, due), at=at(2026, 9, day + 15, 0, 1))
                kit.react(f.deadline(DeadlineMissed, tid, number, unit, due, at=at(2026, 9, day + 16, 10)))
                kit.react(f.reminder(tid, number, unit, at(2026, 9, day + 15, 9)))
            else:
                kit.react(f.replied(tid, number, unit, when + timedelta(days=3)))
                kit.react(f.deadline(DeadlineMet, tid, number, unit, due, at=when + timedelta(days=3)))
                bad = unit == SLOPPY and day % 2 == 0
                kit.react(f.callback(tid, number, unit, when + timedelta(days=4),
                                     satisfaction="unsatisfied" if bad else "satisfied", solved=not bad,
                                     contacted=not bad))
    return n


# -- the table ---------------------------------------------------------------------------------------------

def test_the_table_names_every_rpc_and_observes_every_event_class():
    assert sorted(HANDLERS.commands) == sorted([
        "feed", "statistics", "hotspots", "publish_bulletin", "list_bulletins", "get_bulletin", "assessment",
        "put_assessment_input", "assessment_inputs"])
    assert set(HANDLERS.events) == set(load_all().values())
    assert set(HANDLERS.events.values()) == {handlers.observe}
    assert BulletinPublished in HANDLERS.events


# -- the aggregates: per event, once -------------------------------------------------------------------------

def test_an_event_is_counted_once_however_often_it_is_delivered(kit):
    event = f.registered("t1", "AS1", at(2026, 9, 1, 10))
    assert kit.react(event, event_id="e1") == Outcome.APPLIED
    before = kit.store.dump()
    assert kit.react(event, event_id="e1") == Outcome.DUPLICATE
    assert kit.store.dump() == before
    (cube,) = before["cube"].values()
    assert cube["counters"] == {"registered": 1} and cube["category"] == "noise.commercial" and cube["unit"] == ""
    (place,) = before["places"].values()
    assert (place["day"], place["registered"], place["category"]) == ("2026-09-01", 1, {"noise.commercial": 1})


def test_a_crash_after_the_counts_and_before_the_fact_counts_nothing_twice(kit, monkeypatch):
    kit.react(f.registered("t1", "AS1", at(2026, 9, 1, 10)))
    record = kit.store.record
    monkeypatch.setattr(kit.store, "record", lambda fact: (_ for _ in ()).throw(ConnectionError("store gone")))
    event = f.dispatched("t1", "AS1", PROMPT, at(2026, 9, 1, 11))
    with pytest.raises(ConnectionError):
        kit.react(event, event_id="e2")
    monkeypatch.setattr(kit.store, "record", record)
    assert kit.react(event, event_id="e2") == Outcome.APPLIED     # the redelivery
    assert kit.react(event, event_id="e2") == Outcome.DUPLICATE
    (unit_day,) = kit.store.dump()["units"].values()
    assert unit_day["counters"] == {"dispatched": 1}


def test_an_event_ahead_of_the_registration_or_dispatch_it_follows_is_retried(kit):
    with pytest.raises(NotYet):
        kit.react(f.dispatched("t1", "AS1", PROMPT, at(2026, 9, 1, 11)))
    kit.react(f.registered("t1", "AS1", at(2026, 9, 1, 10)))
    with pytest.raises(NotYet):
        kit.react(f.accepted("t1", "AS1", PROMPT, at(2026, 9, 1, 12)))
    assert kit.store.facts == {} or all(v["type"].endswith("registered") for v in kit.store.facts.values())
    kit.react(f.dispatched("t1", "AS1", PROMPT, at(2026, 9, 1, 11)))
    assert kit.react(f.accepted("t1", "AS1", PROMPT, at(2026, 9, 1, 12))) == Outcome.APPLIED


def test_events_that_count_nothing_are_still_kept_for_the_feed(kit):
    kit.react(f.registered("t1", "AS1", at(2026, 9, 1, 10)))
    published = BulletinPublished(bulletin_id="weekly-2026-W36", kind="weekly", period="2026-W36",
                                  first_day="2026-08-31", last_day="2026-09-06", year=2026, number=1,
                                  issue="2026年第1期", revision=1, registered=1, named_units=[],
                                  published_at="2026-09-07T01:00:00.000Z")
    assert kit.react(published, event_id="p1") == Outcome.APPLIED and len(kit.store.facts) == 2
    assert kit.react(published, event_id="p1") == Outcome.DUPLICATE
    assert kit.store.facts["p1"]["event"]["type"] == "cn.gov.12345.bulletin.published"


def test_a_late_clock_is_counted_once_on_its_due_date_whichever_event_says_so_first(kit):
    ticket(kit, 1, at(2026, 9, 1, 9), LATE)
    tid, number = "t1", "AS20260000000001"
    kit.react(f.deadline(DeadlineMissed, tid, number, LATE, "2026-09-15", at=at(2026, 9, 16, 0, 0)))
    kit.react(f.deadline(DeadlineOverdue, tid, number, LATE, "2026-09-15"), at=at(2026, 9, 16, 0, 1))
    units = {u["day"]: u["counters"] for u in kit.store.units("2026-09-01", "2026-10-01")}
    assert units["2026-09-15"] == {"due_late": 1}
    assert units["2026-09-16"] == {"missed": 1, "overdue": 1}
    # a new round of the same ticket is a new clock
    kit.react(f.deadline(DeadlineOverdue, tid, number, LATE, "2026-09-25", round=2), at=at(2026, 9, 26, 0, 1))
    units = {u["day"]: u["counters"] for u in kit.store.units("2026-09-01", "2026-10-01")}
    assert units["2026-09-25"] == {"due_late": 1}


def test_response_is_signed_for_within_24_hours_counted_on_the_dispatch_day(kit):
    ticket(kit, 1, at(2026, 9, 1, 9), PROMPT, accept_after=timedelta(hours=23, minutes=59))
    ticket(kit, 2, at(2026, 9, 1, 9), PROMPT, accept_after=timedelta(hours=24, minutes=1))
    (day,) = kit.store.units("2026-09-01", "2026-09-02")
    assert day["counters"] == {"dispatched": 2, "responded": 1}
    (next_day,) = kit.store.units("2026-09-02", "2026-09-03")
    assert next_day["counters"] == {"accepted": 2}


def test_callbacks_returns_extensions_and_accountability_are_counted(kit):
    tid, number = ticket(kit, 1, at(2026, 9, 1, 9), PROMPT)
    kit.react(f.callback(tid, number, PROMPT, at(2026, 9, 5, 9), satisfaction="basically_satisfied", solved=None,
                         contacted=False))
    kit.react(f.callback(tid, number, PROMPT, at(2026, 9, 5, 9), by="unit"))
    kit.react(f.callback(tid, number, PROMPT, at(2026, 9, 5, 9), reached=False))
    kit.react(f.return_approved(tid, number, PROMPT, at(2026, 9, 5, 10), new_unit=LATE))
    kit.react(f.deadline(DeadlineExtended, tid, number, PROMPT, "2026-09-20"), at=at(2026, 9, 5, 11))
    kit.react(f.accountability(PROMPT, at(2026, 9, 5, 12)))
    (day,) = kit.store.units("2026-09-05", "2026-09-06")
    assert day["counters"] == {"rated": 1, "basically_satisfied": 1, "unit_callbacks": 1, "unreached": 1,
                               "returned": 1, "extended": 1, "accountability": 1}


# -- R2: statistics -----------------------------------------------------------------------------------------------

def test_statistics_by_one_dimension_keep_their_shape(kit):
    for n, (district, kind) in enumerate((("tiedong", "complain"), ("tiedong", "consult"), ("lishan", "complain"))):
        ticket(kit, n, at(2026, 9, 1, 9), PROMPT, district=district, type=kind)
    kit.clock.set(at(2026, 9, 2, 9))
    by_district = kit.execute("statistics", OPERATOR, query={"group_by": "district"})
    assert [(r["key"], r["label"], r["count"]) for r in by_district["rows"]] == [("tiedong", "铁东区", 2),
                                                                                 ("lishan", "立山区", 1)]
    assert by_district["total"] == 3 and by_district["period"]["key"] == "2026-08-04..2026-09-02"
    assert by_district["from"] == "2026-08-03T16:00:00.000Z" and by_district["to"] == "2026-09-02T16:00:00.000Z"
    by_type = kit.execute("statistics", OPERATOR, query={"group_by": "type"})
    assert {r["label"]: r["count"] for r in by_type["rows"]} == {"投诉": 2, "咨询": 1}
    by_unit = kit.execute("statistics", SUPERVISOR, query={"group_by": "unit"})
    assert by_unit["rows"] == [{"key": PROMPT, "label": "市环保局", "count": 3}]
    assert len(kit.execute("statistics", OPERATOR, query={"group_by": "day"})["rows"]) == 1


def test_statistics_cross_two_dimensions_with_outcomes_and_roll_categories_up(kit):
    september(kit)
    out = kit.execute("statistics", OPERATOR, query={"group_by": "category,unit", "period": "2026-09",
                                                     "measures": "dispatched,due_met,due_late"})
    rows = {tuple(r["key"]): r for r in out["rows"]}
    assert rows[("waste", LATE)]["counts"] == {"dispatched": 10, "due_met": 0, "due_late": 10}
    assert rows[("waste", LATE)]["rollup"] is True and rows[("waste.household", LATE)]["parent"] == "waste"
    assert rows[("noise.commercial", PROMPT)]["label"] == ["商业经营噪音", "市环保局"]
    assert out["totals"] == {"dispatched": 30, "due_met": 20, "due_late": 10} and out["total"] == 30
    flat = kit.execute("statistics", OPERATOR, query={"group_by": "category", "period": "2026-09", "rollup": "false"})
    assert {r["key"] for r in flat["rows"]} == {"noise.commercial", "waste.household"}
    filtered = kit.execute("statistics", OPERATOR, query={"group_by": "type,district", "period": "month",
                                                          "at": "2026-09-15", "category": "noise"})
    assert filtered["rows"] == [{"key": ["complain", "tiedong"], "label": ["投诉", "铁东区"], "count": 10}]
    by_day = kit.execute("statistics", OPERATOR, query={"group_by": "day,unit", "period": "2026-09", "unit": LATE,
                                                        "measures": "overdue"})
    assert [r["key"][0] for r in by_day["rows"]] == [f"2026-09-{d:02d}" for d in range(16, 26)]


def test_statistics_export_csv_and_xlsx(kit):
    september(kit)
    csv = kit.execute("statistics", OPERATOR, query={"group_by": "type,unit", "period": "2026-09", "format": "csv",
                                                     "measures": "dispatched,rated"})
    assert csv["content_type"] == "text/csv; charset=utf-8" and csv["filename"] == "statistics-type-unit-2026-09.csv"
    lines = base64.b64decode(csv["body"]).decode("utf-8-sig").splitlines()
    assert lines[0] == "type,unit,type_label,unit_label,dispatched,rated"
    assert f"complain,{SLOPPY},投诉,市综合执法局,10,10" in lines
    xlsx = kit.execute("statistics", OPERATOR, query={"group_by": "district", "period": "2026-09", "format": "xlsx"})
    from openpyxl import load_workbook
    sheet = load_workbook(io.BytesIO(base64.b64decode(xlsx["body"]))).active
    assert [c.value for c in sheet[1]] == ["district", "district_label", "registered"]
    assert [c.value for c in sheet[2]] == ["tiedong", "铁东区", 30]


@pytest.mark.parametrize("query", [{"group_by": "type,unit,day"}, {"group_by": "type,type"}, {"group_by": "colour"},
                                   {"group_by": "type", "measures": "nonsense"}, {"group_by": "type", "period": "decade"},
                                   {"group_by": "type", "period": "week", "from": "2026-09-01"},
                                   {"group_by": "type", "from": "2026-09-10", "to": "2026-09-01"},
                                   {"group_by": "type", "from": "2020-01-01", "to": "2026-01-01"},
                                   {"group_by": "type", "category": "a b"}, {"group_by": "type", "sort": "x"}])
def test_a_bad_statistics_query_is_refused(kit, query):
    with pytest.raises(ValidationFailed):
        kit.execute("statistics", OPERATOR, query=query)


def test_statistics_are_for_the_city_roles(kit):
    with pytest.raises(Forbidden):
        kit.execute("statistics", UNIT, query={"group_by": "type"})


# -- D5: the feed --------------------------------------------------------------------------------------------------

def test_the_feed_pages_through_events_in_arrival_order_with_a_cursor(kit):
    for n in range(3):
        kit.react(f.registered(f"t{n}", f"AS{n}", at(2026, 9, 1, 9)), event_id=f"e{n}")
    kit.app.wall = lambda: datetime(2100, 1, 1, tzinfo=UTC)
    page = kit.execute("feed", SUBSCRIBER, query={"limit": 2})
    assert [e["id"] for e in page["items"]] == ["e0", "e1"] and page["items"][0]["subject"] == "AS0"
    rest = kit.execute("feed", SUBSCRIBER, query={"after": page["next_cursor"]})
    assert [e["id"] for e in rest["items"]] == ["e2"]
    empty = kit.execute("feed", SUBSCRIBER, query={"after": rest["next_cursor"]})
    assert empty == {"items": [], "next_cursor": rest["next_cursor"]}
    typed = kit.execute("feed", OPERATOR, query={"types": "cn.gov.12345.ticket.dispatched"})
    assert typed["items"] == [] and typed["next_cursor"] is None
    with pytest.raises(ValidationFailed):
        kit.execute("feed", SUBSCRIBER, query={"types": "cn.gov.12345.nothing.here"})
    with pytest.raises(ValidationFailed):
        kit.execute("feed", SUBSCRIBER, query={"after": "not-a-cursor"})
    with pytest.raises(Forbidden):
        kit.execute("feed", UNIT, query={})


# -- R12: hot spots ----------------------------------------------------------------------------------------------

def weeks_of_traffic(kit, weeks, surge_week=None, surge=0):
    """Steady traffic: each week 4 noise complaints in 铁东区 and 3 waste ones in 铁西区; optionally a surge
    of noise in 铁东区 in one week."""
    n = 0
    for w in range(weeks):
        monday = at(2026, 8, 3, 9) + timedelta(weeks=w)
        extra = surge if w == surge_week else 0
        for i in range(4 + extra):
            n += 1
            ticket(kit, n, monday + timedelta(hours=i), PROMPT, category="noise.commercial", district="tiedong",
                   accept_after=None)
        for i in range(3):
            n += 1
            ticket(kit, n, monday + timedelta(days=1, hours=i), LATE, category="waste.household", district="tiexi",
                   accept_after=None)


def test_a_surge_is_a_hot_spot_and_steady_traffic_is_not(kit):
    weeks_of_traffic(kit, 5, surge_week=4, surge=11)
    out = kit.execute("hotspots", OPERATOR, query={"period": "2026-W36"})
    assert out["baseline_periods"] == ["2026-W35", "2026-W34", "2026-W33", "2026-W32"]
    (rise,) = out["rises"]
    assert (rise["category"], rise["district_label"], rise["count"], rise["baseline"]) == (
        "noise.commercial", "铁东区", 15, 4.0)
    assert rise["p_value"] < 0.01 and out["clusters"] == []
    csv = kit.execute("hotspots", UNIT, query={"period": "2026-W36", "format": "csv"})
    assert "noise.commercial,商业经营噪音,tiedong,铁东区" in base64.b64decode(csv["body"]).decode("utf-8-sig")


def test_steady_traffic_has_no_hot_spot(kit):
    weeks_of_traffic(kit, 5)
    assert kit.execute("hotspots", OPERATOR, query={"period": "2026-W36"})["rises"] == []
    # the first week with data has nothing to rise against
    first = kit.execute("hotspots", OPERATOR, query={"period": "2026-W32"})
    assert first["rises"] == [] and first["rule"]["history_periods"] == 0


# -- R16: the bulletin ------------------------------------------------------------------------------------------------

def test_the_monthly_bulletin_names_the_units_it_must(kit):
    september(kit)
    kit.clock.set(at(2026, 10, 1, 2))
    made = kit.execute("publish_bulletin", OPERATOR, body={"kind": "monthly"})
    assert made["id"] == "monthly-2026-09" and made["issue"] == "2026年第1期" and made["created"] is True
    assert made["registered"] == 30 and made["named_units"] == [SLOPPY, LATE]
    c = kit.execute("get_bulletin", OPERATOR, params={"bulletin_id": "monthly-2026-09"})["content"]
    assert [(r["unit_id"], r["count"]) for r in c["lists"]["overdue"]] == [(LATE, 10)]
    assert [(r["unit_id"], r["count"]) for r in c["lists"]["missed"]] == [(LATE, 10)]
    assert [(r["unit_id"], r["count"]) for r in c["lists"]["unsatisfied"]] == [(SLOPPY, 5)]
    assert [(r["unit_id"], r["count"]) for r in c["lists"]["unresolved"]] == [(SLOPPY, 5)]
    assert c["lists"]["overdue"][0]["numbers"][0] == "AS20260000000002"
    assert c["totals"]["registered"] == {"label": "受理", "value": 30, "previous": 0, "change": 30, "change_pct": None}
    assert c["metrics"]["on_time_rate"] == {"numerator": 20, "denominator": 30, "value": 0.6667}
    assert c["metrics"]["satisfaction_rate"] == {"numerator": 15, "denominator": 20, "value": 0.75}
    assert [r["key"] for r in c["by_category"]] == ["waste", "noise"]
    units = {u["unit_id"]: u for u in c["units"]}
    assert units[PROMPT]["metrics"]["response_rate"]["value"] == 1.0 and units[LATE]["metrics"]["response_rate"]["value"] == 0.0
    (published,) = kit.outbox.of(BulletinPublished)
    validate_event(published)
    assert published["data"]["issue"] == "2026年第1期" and published["subject"] == "monthly-2026-09"


def test_bulletins_are_numbered_kept_and_made_again_only_when_asked(kit):
    september(kit)
    kit.clock.set(at(2026, 11, 2, 9))
    assert kit.execute("publish_bulletin", OPERATOR, body={"kind": "monthly", "period": "2026-09"})["number"] == 1
    assert kit.execute("publish_bulletin", ADMIN, body={"kind": "monthly", "period": "2026-10"})["issue"] == "2026年第2期"
    again = kit.execute("publish_bulletin", OPERATOR, body={"kind": "monthly", "period": "2026-09"})
    assert again["created"] is False and again["revision"] == 1
    redone = kit.execute("publish_bulletin", OPERATOR, body={"kind": "monthly", "period": "2026-09", "replace": True})
    assert (redone["created"], redone["revision"], redone["number"]) == (True, 2, 1)
    listed = kit.execute("list_bulletins", UNIT, query={"kind": "monthly"})
    assert [(b["id"], b["revision"]) for b in listed["items"]] == [("monthly-2026-10", 1), ("monthly-2026-09", 2)]
    html = kit.execute("get_bulletin", UNIT, params={"bulletin_id": "monthly-2026-09"}, query={"format": "html"})
    text = base64.b64decode(html["body"]).decode("utf-8")
    assert html["content_type"] == "text/html; charset=utf-8" and "市住房城乡建设委" in text and "第2版" in text
    with pytest.raises(NotFound):   # the kit makes no PDF (the PDF test does)
        kit.execute("get_bulletin", OPERATOR, params={"bulletin_id": "monthly-2026-09"}, query={"format": "pdf"})
    with pytest.raises(NotFound):
        kit.execute("get_bulletin", OPERATOR, params={"bulletin_id": "monthly-2026-08"})


def test_a_bulletin_is_for_an_ended_period_of_its_kind(kit):
    kit.clock.set(at(2026, 9, 20, 9))
    with pytest.raises(Conflict):
        kit.execute("publish_bulletin", OPERATOR, body={"kind": "monthly", "period": "2026-09"})
    with pytest.raises(ValidationFailed):
        kit.execute("publish_bulletin", OPERATOR, body={"kind": "weekly", "period": "2026-08"})
    with pytest.raises(ValidationFailed):
        kit.execute("publish_bulletin", OPERATOR, body={"kind": "weekly", "period": "2026-W99"})
    with pytest.raises(Forbidden):
        kit.execute("publish_bulletin", SUPERVISOR, body={"kind": "weekly"})
    assert kit.execute("publish_bulletin", OPERATOR, body={"kind": "weekly"})["period"] == "2026-W37"


def test_the_schedule_makes_each_ended_week_and_month_once_after_the_grace_time(kit):
    september(kit)
    kit.clock.set(at(2026, 10, 1, 0, 30))             # September ended, the grace hour has not passed
    # the weeks since the first registration (Tuesday 1 September, in W36), oldest first
    assert handlers.publish_due(kit.app) == ["weekly-2026-W36", "weekly-2026-W37", "weekly-2026-W38",
                                             "weekly-2026-W39"]
    kit.clock.set(at(2026, 10, 1, 1, 30))
    assert handlers.publish_due(kit.app) == ["monthly-2026-09"]
    assert handlers.publish_due(kit.app) == []        # made already (and cached)
    kit.clock.set(at(2026, 10, 20, 9))                 # a pause: the missed weeks are filled in, oldest first
    assert handlers.publish_due(kit.app) == ["weekly-2026-W40", "weekly-2026-W41", "weekly-2026-W42"]
    issues = {b["id"]: b["issue"] for b in kit.execute("list_bulletins", OPERATOR, query={"kind": "weekly"})["items"]}
    assert [issues[f"weekly-2026-W{w}"] for w in range(36, 43)] == [f"2026年第{n}期" for n in range(1, 8)]


def test_the_schedule_waits_for_data_and_leaves_a_period_to_the_replica_making_it(kit):
    kit.clock.set(at(2026, 10, 20, 9))
    assert handlers.publish_due(kit.app) == []        # no registration yet: nothing to report on
    september(kit)
    assert kit.store.claim_number("weekly-2026-W42", "weekly", 2026, kit.app.wall(), 600) == 1
    kit.clock.set(at(2026, 10, 27, 9))
    assert "weekly-2026-W42" not in handlers.publish_due(kit.app)   # another replica holds its claim
    # the weeks found empty before September's registrations arrived are made now all the same
    assert {"weekly-2026-W40", "weekly-2026-W41", "weekly-2026-W43"} <= set(
        b["id"] for b in kit.execute("list_bulletins", OPERATOR, query={"kind": "weekly"})["items"])


def test_a_period_before_the_first_registration_is_not_asked_of_the_store_at_every_tick(kit, monkeypatch):
    september(kit)
    kit.clock.set(at(2026, 8, 20, 9))                  # weeks before the first registration (1 September)
    asked = []
    real = kit.store.bulletin
    monkeypatch.setattr(kit.store, "bulletin", lambda bulletin_id: asked.append(bulletin_id) or real(bulletin_id))
    assert handlers.publish_due(kit.app) == []
    first = len(asked)
    assert first > 0
    for _ in range(5):                                 # the timer ticks every second
        assert handlers.publish_due(kit.app) == []
    assert len(asked) == first
    with pytest.raises(Conflict):
        kit.execute("publish_bulletin", OPERATOR, body={"kind": "weekly", "period": "2026-W42"})


# -- R18: the assessment -------------------------------------------------------------------------------------------

def test_the_assessment_ranks_the_prompt_unit_above_the_late_one(kit):
    september(kit)
    kit.clock.set(at(2026, 10, 2, 9))
    out = kit.execute("assessment", OPERATOR, query={"period": "2026-09"})
    ranked = [r["unit_id"] for r in out["ranking"] if r["ranked"]]
    assert ranked == [PROMPT, SLOPPY, LATE]
    assert [r["unit_id"] for r in out["top"]] == [PROMPT, SLOPPY, LATE]
    assert out["bottom"][0]["unit_id"] == LATE
    late = next(r for r in out["ranking"] if r["unit_id"] == LATE)
    on_time = next(p for p in late["parts"] if p["id"] == "on_time")
    assert on_time["basis"] == {"metric": "on_time_rate", "numerator": 0, "denominator": 10, "value": 0.0}
    assert next(d for d in late["deductions"] if d["id"] == "reminders")["count"] == 10
    assert out["scheme"]["max_score"] == 100 and {m["name"] for m in out["metrics"]} >= {"on_time_rate"}
    assert all(r["rank"] is None for r in out["ranking"] if not r["ranked"])


def test_manual_parts_are_entered_by_an_administrator_with_who_and_when(kit):
    september(kit)
    kit.clock.set(at(2026, 10, 2, 9))
    given = kit.execute("put_assessment_input", ADMIN, body={"period": "2026-09", "unit_id": LATE,
                                                            "part": "knowledge_base", "score": 100, "note": "更新及时"})
    assert given == {"period": "2026-09", "unit_id": LATE, "part": "knowledge_base", "score": 100.0,
                     "note": "更新及时", "by": "admin.1", "at": "2026-10-02T01:00:00.000Z"}
    out = kit.execute("assessment", OPERATOR, query={"period": "month", "at": "2026-09-30"})
    late = next(r for r in out["ranking"] if r["unit_id"] == LATE)
    kb = next(p for p in late["parts"] if p["id"] == "knowledge_base")
    assert kb["points"] == 6.0 and kb["basis"]["manual"]["by"] == "admin.1"
    assert "knowledge_base" not in late["pending_manual"]
    listed = kit.execute("assessment_inputs", SUPERVISOR, query={"period": "2026-09"})
    assert [i["part"] for i in listed["items"]] == ["knowledge_base"]
    with pytest.raises(Forbidden):
        kit.execute("put_assessment_input", OPERATOR, body={"period": "2026-09", "unit_id": LATE,
                                                            "part": "training", "score": 1})
    with pytest.raises(ValidationFailed):
        kit.execute("put_assessment_input", ADMIN, body={"period": "2026-09", "unit_id": LATE, "part": "on_time",
                                                         "score": 1})
    with pytest.raises(ValidationFailed):
        kit.execute("put_assessment_input", ADMIN, body={"period": "2026-13", "unit_id": LATE, "part": "training",
                                                         "score": 1})
    with pytest.raises(ValidationFailed):
        kit.execute("put_assessment_input", ADMIN, body={"period": "2026-09", "unit_id": LATE, "part": "training",
                                                         "score": 101})
    with pytest.raises(NotFound):
        kit.execute("put_assessment_input", ADMIN, body={"period": "2026-09", "unit_id": "city.nowhere",
                                                         "part": "training", "score": 1})
    with pytest.raises(ValidationFailed):
        kit.execute("assessment_inputs", OPERATOR, query={"period": "sometime"})


def test_the_assessment_exports_xlsx_with_the_ranking_and_the_breakdown(kit):
    september(kit)
    out = kit.execute("assessment", ADMIN, query={"from": "2026-09-01", "to": "2026-09-30", "format": "xlsx"})
    assert out["filename"] == "assessment-2026-09-01_2026-09-30.xlsx"
    from openpyxl import load_workbook
    book = load_workbook(io.BytesIO(base64.b64decode(out["body"])))
    assert book.sheetnames == ["排名", "明细"]
    ranking = [[c.value for c in row] for row in book["排名"].iter_rows(min_row=2)]
    assert ranking[0][:3] == [1, PROMPT, "市环保局"]
    with pytest.raises(Forbidden):
        kit.execute("assessment", UNIT, query={})


# -- rebuilding ----------------------------------------------------------------------------------------------------

def test_replaying_the_facts_into_an_empty_store_rebuilds_the_same_aggregates(kit):
    september(kit)
    kit.react(f.accountability(LATE, at(2026, 9, 20, 9)))
    fresh = f.BulletinKit(at(2026, 9, 1, 8), CONFIG)
    applied = handlers.replay(fresh.app, (fact["event"] for fact in kit.store.all_facts()))
    assert applied == len(kit.store.facts)
    assert fresh.store.dump() == kit.store.dump()
    assert handlers.replay(fresh.app, (fact["event"] for fact in kit.store.all_facts())) == 0   # all duplicates


@pytest.mark.parametrize("group, filters, measures, source", [
    (["unit"], {}, ["dispatched", "due_late"], "units"),
    (["day", "unit"], {"unit": [LATE]}, ["overdue"], "units"),
    (["district"], {}, ["registered"], "places"),
    (["category", "district"], {"district": ["tiedong"]}, ["registered"], "places"),
    (["day"], {"type": ["complain"]}, ["registered"], "places"),
    (["type", "category"], {}, ["registered"], "cube"),
    (["district"], {}, ["dispatched"], "cube"),
    (["unit"], {"category": ["noise.commercial"]}, ["dispatched"], "cube"),
])
def test_statistics_read_the_smallest_buckets_and_get_what_the_cube_says(kit, group, filters, measures, source):
    september(kit)
    assert handlers.statistics_source(group, filters, measures) == source
    month = handlers.periods.period_of("month", datetime(2026, 9, 1).date())

    def rows(src):
        return sorted((tuple(r["key"].items()), tuple(sorted(r["counters"].items())))
                      for r in handlers.raw_rows(kit.app, src, month, group, filters, measures)
                      if any(r["counters"].values()))
    assert rows(source) == rows("cube") and rows(source)
