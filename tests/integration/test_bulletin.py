"""Every event kept as a fact: the replayable feed (D5) and classification statistics (R2)."""
import pytest

from hotline_common.errors import Forbidden, ValidationFailed
from hotline_common.events import T
from tests.conftest import wait_for

from .conftest import OPERATOR, noise_complaint

SUBSCRIBER = {"user_id": "ext.1", "role": "subscriber"}


def test_feed_replays_every_event_in_order_with_a_cursor(stack, rpc):
    stack("intake", "routing", "sla", "bulletin")
    numbers = [rpc.intake.register(noise_complaint(district=d), OPERATOR)["number"] for d in ("tiedong", "tiexi")]

    def everything():
        page = rpc.bulletin.feed({"types": T.TICKET_REGISTERED + "," + T.DEADLINE_SET, "limit": 1}, SUBSCRIBER)
        items, cursor = list(page["items"]), page["next_cursor"]
        while True:
            query = {"types": T.TICKET_REGISTERED + "," + T.DEADLINE_SET, "limit": 1}
            if cursor:
                query["after"] = cursor
            page = rpc.bulletin.feed(query, SUBSCRIBER)
            if not page["items"]:
                return items if len(items) == 4 else None
            items += page["items"]
            cursor = page["next_cursor"]
    items = wait_for(everything, 15, interval=0.5, message="four events in the feed")
    assert sorted(e["subject"] for e in items) == sorted(numbers * 2)
    assert len({e["id"] for e in items}) == 4
    with pytest.raises(ValidationFailed):
        rpc.bulletin.feed({"types": "cn.gov.12345.nothing.here"}, SUBSCRIBER)
    with pytest.raises(Forbidden):
        rpc.bulletin.feed({}, {"user_id": "u", "role": "unit_handler", "unit_id": "city.housing"})


def test_statistics_by_district_type_and_unit(stack, rpc):
    stack("intake", "routing", "sla", "bulletin")
    for district, kind in (("tiedong", "complain"), ("tiedong", "consult"), ("lishan", "complain")):
        rpc.intake.register(noise_complaint(district=district, type=kind), OPERATOR)

    def counted(group_by):
        result = rpc.bulletin.statistics({"group_by": group_by}, OPERATOR)
        return result if result["total"] == 3 else None
    by_district = wait_for(lambda: counted("district"), 10, interval=0.3)
    assert [(r["key"], r["label"], r["count"]) for r in by_district["rows"]] == [("tiedong", "铁东区", 2),
                                                                                 ("lishan", "立山区", 1)]
    assert {r["label"]: r["count"] for r in wait_for(lambda: counted("type"), 5)["rows"]} == {"投诉": 2, "咨询": 1}
    assert wait_for(lambda: counted("unit"), 10)["rows"] == [{"key": "city.environment", "label": "市环保局",
                                                              "count": 3}]
    assert len(wait_for(lambda: counted("day"), 5)["rows"]) == 1
