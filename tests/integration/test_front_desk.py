"""The front desk across intake, routing and sla on the real broker and store (issue 12; R1, R3, R5,
R19): a direct answer and an emergency transfer never reach routing; a repeated call is suggested,
merged and both citizens are called back when the main ticket is answered; a district passes a ticket
down to its street office and sees its reply; a re-dispatch before sign-for keeps the first deadline."""
from datetime import datetime, timedelta, timezone

import eventlet
import pytest

from hotline_common.dispatch import request
from hotline_common.errors import NotFound, RuleViolation
from hotline_common.events import PREFIX
from tests.conftest import wait_for
from tests.support import validate_event

from .conftest import OPERATOR, noise_complaint

BJ = timezone(timedelta(hours=8))
DISPATCHED, WITHDRAWN = PREFIX + "ticket.dispatched", PREFIX + "assignment.withdrawn"
LAMP = dict(type="help", category="infrastructure.streetlight", district="tiedong", address="胜利南路与站前街交口",
            content="胜利南路与站前街交口的路灯坏了好几天，晚上一片漆黑，行人过马路很危险")
AGAIN = dict(LAMP, address="胜利南路站前街路口", content="站前街和胜利南路路口路灯不亮，晚上过马路太危险了",
             citizen={"name": "李先生", "phone": "13900005678"})
HOUSING = {"user_id": "city.housing.contact", "role": "unit_handler", "unit_id": "city.housing"}
HOUSING_LEADER = {"user_id": "city.housing.leader", "role": "unit_leader", "unit_id": "city.housing"}
REPLY = {"result": "solved", "content": "路灯管理所已于当日更换损坏的灯具并检修线路，现已恢复正常照明。", "contacted_citizen": True}


def view(rpc, key, actor=OPERATOR):
    return rpc.intake.get_ticket(request(params={"key": key}), actor)


def seen_by(rpc, key, actor):
    """The ticket as a unit sees it, or an empty view while its view does not name the unit yet."""
    try:
        return view(rpc, key, actor)
    except NotFound:
        return {"deadline": None, "status": None}


def register(rpc, **body):
    return rpc.intake.register(request(body=noise_complaint(**body)), OPERATOR)


def work(rpc, key, handler, leader, reply=REPLY):
    """The unit signs for the ticket, its leader reviews it, it replies."""
    rpc.routing.accept(request(params={"key": key}), handler)
    rpc.routing.review(request(params={"key": key}, body={"instructions": "请立即安排人员现场处置并答复市民"}), leader)
    rpc.routing.reply(request(params={"key": key}, body=reply), handler)


def test_a_direct_answer_and_an_emergency_transfer_never_reach_routing(stack, rpc, tap, set_clock):
    set_clock(datetime(2026, 11, 27, 10, 0, tzinfo=BJ))
    stack("intake", "routing", "sla")
    hits = rpc.intake.search_knowledge(request(query={"q": "路灯坏了找谁修"}), OPERATOR)["items"]
    assert hits[0]["id"] == "example.housing.streetlight-repair"
    answered = register(rpc, type="consult", category="infrastructure.streetlight", content="咨询路灯坏了找谁报修",
                        disposition="direct_answer", knowledge_entry_id=hits[0]["id"])
    transferred = register(rpc, type="help", category="other", content="家中老人突然昏倒，呼吸困难",
                           disposition="transferred", referred_to="120", reason="来电人家中老人突发疾病，已转120")
    control = register(rpc, **LAMP)                                       # a dispatched one, as the yardstick
    wait_for(lambda: tap.of_type(DISPATCHED, control["number"]), 15, message="the control ticket's dispatch")
    eventlet.sleep(1.0)
    for t in (answered, transferred):
        assert [e["type"] for e in tap.events if e["subject"] == t["number"]] == [PREFIX + "ticket.registered"]
        with pytest.raises(NotFound):
            rpc.routing.get_assignment(request(params={"key": t["number"]}), OPERATOR)
    registered = tap.of_type(PREFIX + "ticket.registered", answered["number"])[0]
    validate_event(registered)
    assert registered["data"]["disposition"] == "direct_answer"
    assert view(rpc, answered["number"])["reply"]["reply_no"] == answered["number"] + "-01"
    assert view(rpc, transferred["number"])["status_label"] == "已办结（已转紧急热线）"
    assert rpc.intake.get_knowledge(request(params={"entry_id": hits[0]["id"]}), OPERATOR)["uses"] == 1
    with pytest.raises(RuleViolation):   # an expired entry is not cited, nothing is registered
        register(rpc, type="consult", category="labor.social_security", content="咨询养老金调整发放时间",
                 disposition="direct_answer", knowledge_entry_id="example.hrss.old-pension-adjustment")


def test_a_repeated_call_is_suggested_merged_and_both_citizens_are_called_back(stack, rpc, tap, set_clock):
    set_clock(datetime(2026, 11, 27, 10, 0, tzinfo=BJ))
    stack("intake", "routing", "sla")
    main = register(rpc, **LAMP)
    wait_for(lambda: (v := view(rpc, main["number"]))["deadline"] and v, 15, message="main dispatched")
    again = register(rpc, **AGAIN)
    assert [c["number"] for c in again["duplicates"]] == [main["number"]]
    wait_for(lambda: tap.of_type(DISPATCHED, again["number"]), 15, message="the repeat dispatched before the merge")
    merged = rpc.intake.merge(request(params={"key": again["number"]},
                                      body={"into": main["number"], "reason": "同一路灯故障"}), OPERATOR)
    assert merged["merged_into"]["number"] == main["number"]
    wait_for(lambda: tap.of_type(WITHDRAWN, again["number"]), 15, message="routing withdraws the repeat")
    with pytest.raises(NotFound):   # its unit no longer has it on its own
        rpc.routing.get_assignment(request(params={"key": again["number"]}), HOUSING)
    wait_for(lambda: view(rpc, main["number"])["timeline"][-1]["label"].startswith("并单"), 10,
             message="the merge on the main ticket's timeline")
    work(rpc, main["number"], HOUSING, HOUSING_LEADER)
    follows = wait_for(lambda: (v := view(rpc, again["number"]))["status"] == "replied" and v, 15,
                       message="the merged ticket shows the main ticket's reply")
    assert follows["reply"]["reply_no"] == main["number"] + "-01"
    for key in (main["number"], again["number"]):
        after = rpc.intake.callback(request(params={"key": key}, body={"reached": True, "satisfaction": "satisfied"}),
                                    OPERATOR)
        assert after["closed"] and after["callbacks"][0]["satisfaction"] == "satisfied"
    closed = wait_for(lambda: len(tap.of_type(PREFIX + "ticket.closed")) == 2 and tap.of_type(PREFIX + "ticket.closed"),
                      10)
    assert {e["subject"] for e in closed} == {main["number"], again["number"]}
    with pytest.raises(RuleViolation):
        rpc.intake.merge(request(params={"key": main["number"]}, body={"into": main["number"]}), OPERATOR)


def test_a_district_passes_down_and_sees_the_reply_and_a_redispatch_keeps_the_deadline(stack, rpc, tap, set_clock):
    set_clock(datetime(2026, 11, 27, 10, 0, tzinfo=BJ))
    stack("intake", "routing", "sla")
    district = {"user_id": "district.tiedong.contact", "role": "unit_handler", "unit_id": "district.tiedong"}
    street = {"user_id": "street.tiedong.shengli.contact", "role": "unit_handler", "unit_id": "street.tiedong.shengli"}
    street_leader = {"user_id": "street.tiedong.shengli.leader", "role": "unit_leader",
                     "unit_id": "street.tiedong.shengli"}
    vending = register(rpc, type="complain", category="urban.street_vending", district="tiedong",
                       content="胜利南路人行道上每天早上都有流动摊贩占道卖菜")
    first = wait_for(lambda: (v := seen_by(rpc, vending["number"], district))["deadline"] and v, 15)
    rpc.routing.pass_down(request(params={"key": vending["number"]},
                                  body={"unit_id": "street.tiedong.shengli", "reason": "请胜利街道核实处理"}), district)
    passed = wait_for(lambda: (v := seen_by(rpc, vending["number"], street))["deadline"] and v["deadline"]["unit_id"]
                      == "street.tiedong.shengli" and v, 15, message="the clock moved to the street office")
    assert passed["deadline"]["due_date"] == first["deadline"]["due_date"]          # from the first dispatch
    assert passed["responsible_unit"]["id"] == "district.tiedong"
    work(rpc, vending["number"], street, street_leader, {**REPLY, "content": "街道已会同城管中队清理占道摊点，安排网格员每日巡查。"})
    seen = wait_for(lambda: (v := seen_by(rpc, vending["number"], district))["status"] == "replied" and v, 15,
                    message="the district sees its street office's reply")
    assert seen["reply"]["reply_no"] == vending["number"] + "-01"

    noise = register(rpc)
    wait_for(lambda: view(rpc, noise["number"])["deadline"], 15)
    before = view(rpc, noise["number"])["deadline"]
    rpc.routing.redispatch(request(params={"key": noise["number"]},
                                   body={"unit_id": "city.enforcement", "reason": "噪声来自占道经营的烧烤摊，属城管职责"}),
                           OPERATOR)
    moved = wait_for(lambda: (v := view(rpc, noise["number"]))["deadline"]["unit_id"] == "city.enforcement" and v, 15)
    assert moved["deadline"]["due_date"] == before["due_date"] and moved["lead_unit"]["id"] == "city.enforcement"
    environment = {"user_id": "u", "role": "unit_handler", "unit_id": "city.environment"}
    with pytest.raises(NotFound):
        view(rpc, noise["number"], environment)
