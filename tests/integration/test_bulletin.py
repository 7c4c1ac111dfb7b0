"""Every event kept as a fact and counted: the replayable feed (D5), classification statistics (R2), and
the bulletin made by the schedule once the (controllable) clock says its period has ended (R16)."""
import base64
from datetime import datetime, timedelta, timezone

import pytest

from hotline_common.dispatch import request
from hotline_common.errors import Forbidden, ValidationFailed
from hotline_common.events import T
from tests.conftest import wait_for

from .conftest import OPERATOR, noise_complaint

SUBSCRIBER = {"user_id": "ext.1", "role": "subscriber"}
BEIJING = timezone(timedelta(hours=8))


def register(rpc, **overrides):
    return rpc.intake.register(request(body=noise_complaint(**overrides)), OPERATOR)


def test_feed_replays_every_event_in_order_with_a_cursor(stack, rpc):
    stack("intake", "routing", "sla", "bulletin")
    numbers = [register(rpc, district=d)["number"] for d in ("tiedong", "tiexi")]

    def everything():
        page = rpc.bulletin.feed(request(query={"types": T.TICKET_REGISTERED + "," + T.DEADLINE_SET, "limit": 1}),
                                 SUBSCRIBER)
        items, cursor = list(page["items"]), page["next_cursor"]
        while True:
            query = {"types": T.TICKET_REGISTERED + "," + T.DEADLINE_SET, "limit": 1}
            if cursor:
                query["after"] = cursor
            page = rpc.bulletin.feed(request(query=query), SUBSCRIBER)
            if not page["items"]:
                return items if len(items) == 4 else None
            items += page["items"]
            cursor = page["next_cursor"]
    items = wait_for(everything, 15, interval=0.5, message="four events in the feed")
    assert sorted(e["subject"] for e in items) == sorted(numbers * 2)
    assert len({e["id"] for e in items}) == 4
    with pytest.raises(ValidationFailed):
        rpc.bulletin.feed(request(query={"types": "cn.gov.12345.nothing.here"}), SUBSCRIBER)
    with pytest.raises(Forbidden):
        rpc.bulletin.feed(request(query={}), {"user_id": "u", "role": "unit_handler", "unit_id": "city.housing"})


def test_statistics_by_district_type_and_unit(stack, rpc):
    stack("intake", "routing", "sla", "bulletin")
    for district, kind in (("tiedong", "complain"), ("tiedong", "consult"), ("lishan", "complain")):
        register(rpc, district=district, type=kind)

    def counted(group_by):
        result = rpc.bulletin.statistics(request(query={"group_by": group_by}), OPERATOR)
        return result if result["total"] == 3 else None
    by_district = wait_for(lambda: counted("district"), 10, interval=0.3)
    assert [(r["key"], r["label"], r["count"]) for r in by_district["rows"]] == [("tiedong", "铁东区", 2),
                                                                                 ("lishan", "立山区", 1)]
    assert {r["label"]: r["count"] for r in wait_for(lambda: counted("type"), 5)["rows"]} == {"投诉": 2, "咨询": 1}
    assert wait_for(lambda: counted("unit"), 10)["rows"] == [{"key": "city.environment", "label": "市环保局",
                                                              "count": 3}]
    assert len(wait_for(lambda: counted("day"), 5)["rows"]) == 1


def test_the_schedule_publishes_the_weeks_bulletin_once_the_clock_passes_its_end(stack, rpc, set_clock, tap):
    set_clock(datetime(2026, 9, 9, 10, 0, tzinfo=BEIJING))            # a Wednesday in 2026-W37
    stack("intake", "routing", "sla", "bulletin")
    for district in ("tiedong", "tiedong", "lishan"):
        register(rpc, district=district)
    wait_for(lambda: rpc.bulletin.statistics(request(query={"group_by": "unit", "period": "week"}),
                                             OPERATOR)["total"] == 3, 10, interval=0.3, message="three dispatches")
    set_clock(datetime(2026, 9, 14, 1, 30, tzinfo=BEIJING))           # Monday after, past the grace hour
    published = wait_for(lambda: tap.of_type("cn.gov.12345.bulletin.published"), 20, interval=0.3,
                         message="bulletin.published")
    assert published[0]["data"]["bulletin_id"] == "weekly-2026-W37" and published[0]["data"]["registered"] == 3
    listed = rpc.bulletin.list_bulletins(request(query={"kind": "weekly"}), OPERATOR)["items"]
    assert [(b["id"], b["issue"]) for b in listed] == [("weekly-2026-W37", "2026年第1期")]
    pdf = rpc.bulletin.get_bulletin(request(params={"bulletin_id": "weekly-2026-W37"}, query={"format": "pdf"}),
                                    OPERATOR)
    assert pdf["content_type"] == "application/pdf" and base64.b64decode(pdf["body"]).startswith(b"%PDF-")
    content = rpc.bulletin.get_bulletin(request(params={"bulletin_id": "weekly-2026-W37"}), OPERATOR)["content"]
    assert [(r["key"], r["value"]) for r in content["by_district"]] == [("tiedong", 2), ("lishan", 1)]
