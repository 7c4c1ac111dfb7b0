"""The unit's work on a ticket, as pure rules (R4, R5, R6, R9, R14)."""
from datetime import datetime, timezone
from pathlib import Path

import pytest
import yaml

from hotline_common.actors import Actor
from hotline_common.errors import Conflict, Forbidden, NotFound, RuleViolation, ValidationFailed
from hotline_common.events import T
from services.routing import domain as d

CONFIG = Path(__file__).resolve().parents[2] / "config"
NOW = datetime(2026, 11, 27, 2, 0, tzinfo=timezone.utc)
RULES = [d.Rule.from_dict(r) for r in yaml.safe_load((CONFIG / "routing-rules.yaml").read_text())["rules"]]
UNITS = {u["id"]: u for u in yaml.safe_load((CONFIG / "units.yaml").read_text())["units"]}

OPERATOR = Actor("op1", "operator")
ENV_HANDLER = Actor("city.environment.contact", "unit_handler", "city.environment")
ENV_LEADER = Actor("city.environment.leader", "unit_leader", "city.environment")
ENV_DEPUTY = Actor("city.environment.deputy", "unit_leader", "city.environment")
HOUSING = Actor("city.housing.contact", "unit_handler", "city.housing")
GOOD_REPLY = {"result": "solved", "content": "经现场核查，该烧烤店已于11月28日起停止夜间营业，噪音问题已解决。",
              "basis": "", "invalid_reason": "", "contacted_citizen": True}


def dispatched(category="noise.neighbourhood", district="lishan"):
    routed = d.route_new_ticket(d.TicketFacts("t1", "AS20261127000001", "complain", category, district),
                                RULES, UNITS, NOW, Actor("system", "system"))
    return routed.assignment


def reviewed():
    a, _ = d.accept(dispatched(), ENV_HANDLER, NOW)
    a, _ = d.review(a, "请执法大队今晚现场核查并答复", ENV_LEADER, UNITS["city.environment"], NOW)
    return a


def test_sign_for_then_leader_review_then_reply():
    a, (e,) = d.accept(dispatched(), ENV_HANDLER, NOW)
    assert a["status"] == "accepted" and e.type == T.ASSIGNMENT_ACCEPTED
    assert e.data["actor"] == {"user_id": "city.environment.contact", "role": "unit_handler",
                               "unit_id": "city.environment"}
    a, (e,) = d.review(a, "请执法大队今晚现场核查并答复", ENV_DEPUTY, UNITS["city.environment"], NOW)
    assert a["status"] == "reviewed" and e.data["reviewer"] == "吴静" and e.data["reviewer_title"] == "分管领导"
    a, (e,) = d.reply(a, GOOD_REPLY, ENV_HANDLER, NOW)
    assert a["status"] == "replied" and e.data["reply_no"] == "AS20261127000001-01"
    assert a["replies"][0]["content"].startswith("经现场核查")
    assert e.data["seq"] == 4  # dispatch 1, accept 2, review 3, reply 4


def test_event_seq_orders_every_event_of_the_assignment():
    a = dispatched()
    seqs = [a["event_seq"]]
    a, _ = d.accept(a, ENV_HANDLER, NOW)
    seqs.append(a["event_seq"])
    a, _ = d.review(a, "请执法大队今晚现场核查并答复", ENV_LEADER, UNITS["city.environment"], NOW)
    seqs.append(a["event_seq"])
    assert seqs == [1, 2, 3]


def test_a_handler_may_not_review():
    a, _ = d.accept(dispatched(), ENV_HANDLER, NOW)
    with pytest.raises(Forbidden, match="阅批"):
        d.review(a, "请尽快处理此事并答复", ENV_HANDLER, UNITS["city.environment"], NOW)
    impostor = Actor("someone.else", "unit_leader", "city.environment")  # a leader role, not this unit's leader
    with pytest.raises(Forbidden):
        d.review(a, "请尽快处理此事并答复", impostor, UNITS["city.environment"], NOW)


def test_review_needs_instructions_and_a_signed_ticket():
    with pytest.raises(Conflict, match="签收"):
        d.review(dispatched(), "请尽快处理此事并答复", ENV_LEADER, UNITS["city.environment"], NOW)
    a, _ = d.accept(dispatched(), ENV_HANDLER, NOW)
    with pytest.raises(ValidationFailed) as err:
        d.review(a, "  同意 ", ENV_LEADER, UNITS["city.environment"], NOW)
    assert "instructions" in err.value.errors


def test_reply_is_refused_before_the_leader_review():
    a, _ = d.accept(dispatched(), ENV_HANDLER, NOW)
    with pytest.raises(Conflict, match="阅批"):
        d.reply(a, GOOD_REPLY, ENV_HANDLER, NOW)


@pytest.mark.parametrize("body, field", [
    ({**GOOD_REPLY, "content": "已处理"}, "content"),
    ({**GOOD_REPLY, "content": "已 办 结 。"}, "content"),
    ({**GOOD_REPLY, "result": "explained", "basis": ""}, "basis"),
    ({**GOOD_REPLY, "result": "invalid", "invalid_reason": "无"}, "invalid_reason"),
    ({**GOOD_REPLY, "result": "maybe"}, "result"),
])
def test_empty_token_or_unfounded_replies_are_refused(body, field):
    with pytest.raises(ValidationFailed) as err:
        d.reply(reviewed(), body, ENV_HANDLER, NOW)
    assert field in err.value.errors


def test_explained_reply_with_its_basis_and_invalid_request_with_its_reason():
    a, (e,) = d.reply(reviewed(), {**GOOD_REPLY, "result": "explained",
                                   "content": "该路段改造需列入明年市政计划，目前无法立即施工，已向市民解释。",
                                   "basis": "《鞍山市城市道路管理条例》第十二条"}, ENV_HANDLER, NOW)
    assert e.data["result"] == "explained" and a["replies"][0]["basis"].startswith("《")
    a, (e,) = d.reply(reviewed(), {**GOOD_REPLY, "result": "invalid",
                                   "content": "经核实，来电人反映的地址不存在相关经营场所，属无效诉求。",
                                   "invalid_reason": "反映地址查无此店，多次联系来电人无应答"}, ENV_HANDLER, NOW)
    assert e.data["result"] == "invalid"


def test_other_units_do_not_see_or_act_on_the_ticket():
    with pytest.raises(NotFound):
        d.accept(dispatched(), HOUSING, NOW)
    assert not d.can_see(dispatched(), HOUSING) and d.can_see(dispatched(), ENV_HANDLER)
    with pytest.raises(Forbidden):
        d.accept(dispatched(), OPERATOR, NOW)


def test_return_approved_goes_to_another_unit_and_is_counted_against_the_returning_one():
    a = dispatched("urban.street_vending", "tiedong")            # district.tiedong leads by district rule
    handler = Actor("u", "unit_handler", "district.tiedong")
    a, (e,) = d.request_return(a, "占道经营执法属于综合执法局职责，不属本区", handler, NOW)
    assert a["status"] == "return_requested" and e.type == T.RETURN_REQUESTED
    a, events = d.decide_return(a, True, "同意退单", None, RULES, UNITS, NOW, OPERATOR)
    assert [e.type for e in events] == [T.RETURN_APPROVED, T.TICKET_DISPATCHED]
    assert a["lead_unit"] == "city.enforcement" and a["dispatch_no"] == 2  # the best rule not led by it
    assert events[1].data["previous_unit"] == "district.tiedong"
    assert [e.data["seq"] for e in events] == [3, 4]
    assert a["returns"][0]["unit_id"] == "district.tiedong" and a["returns"][0]["decision"] == "approved"
    assert events[0].data["units"] == [] and events[1].data["units"] == ["city.enforcement"]


def test_return_approved_with_no_other_rule_waits_for_an_operator_and_never_goes_back():
    a, _ = d.request_return(dispatched(), "这是一起居民楼内部纠纷，请转属地街道", ENV_HANDLER, NOW)
    with pytest.raises(RuleViolation):
        d.decide_return(a, True, "", "city.environment", RULES, UNITS, NOW, OPERATOR)
    a2, events = d.decide_return(a, True, "", None, RULES, UNITS, NOW, OPERATOR)
    assert a2["status"] == "awaiting_dispatch" and events[-1].type == T.TICKET_AWAITING_DISPATCH
    a3, events = d.manual_dispatch(a2, "district.lishan", [], False, "转属地政府", UNITS, NOW, OPERATOR)
    assert a3["lead_unit"] == "district.lishan" and events[0].data["manual"]


def test_return_rejected_keeps_the_unit_and_a_first_responsible_refusal_is_escalated():
    a, _ = d.accept(dispatched(), ENV_HANDLER, NOW)               # 市环保局, first-responsible for noise
    a, _ = d.request_return(a, "夜间噪音应由公安部门处理", ENV_HANDLER, NOW)
    a, events = d.decide_return(a, False, "噪音污染由市环保局作为第一责任主体牵头办理", None, RULES, UNITS, NOW, OPERATOR)
    assert a["status"] == "accepted" and a["lead_unit"] == "city.environment"
    assert [e.type for e in events] == [T.RETURN_REJECTED, T.FIRST_RESPONSIBLE_REFUSED]
    assert events[1].data["refusing_unit"] == "city.environment"


def test_return_needs_a_reason_and_comes_before_the_reply():
    with pytest.raises(ValidationFailed):
        d.request_return(dispatched(), "不是", ENV_HANDLER, NOW)
    a, _ = d.reply(reviewed(), GOOD_REPLY, ENV_HANDLER, NOW)
    with pytest.raises(Conflict):
        d.request_return(a, "不属于本单位职责范围", ENV_HANDLER, NOW)
    with pytest.raises(Forbidden):
        d.decide_return(a, True, "", None, RULES, UNITS, NOW, ENV_LEADER)


def test_co_units_accept_decline_contribute_and_the_reply_gathers_them():
    a = dispatched("housing.property", "tiedong")  # 市住房城乡建设委 leads, 铁东区 co-unit by rule
    housing = Actor("city.housing.contact", "unit_handler", "city.housing")
    assert [c["unit_id"] for c in a["co_units"]] == ["district.tiedong"]
    a, (e,) = d.add_co_unit(a, "city.market", "核查物业公司收费是否合规", UNITS, housing, NOW)
    assert e.type == T.COUNIT_ADDED and e.data["units"] == ["city.housing", "district.tiedong", "city.market"]
    tiedong = Actor("district.tiedong.contact", "unit_handler", "district.tiedong")
    market = Actor("city.market.contact", "unit_handler", "city.market")
    a, (e,) = d.co_unit_answer(a, True, "", tiedong, NOW)
    assert e.type == T.COUNIT_ACCEPTED
    a, (e,) = d.co_unit_answer(a, False, "物业收费标准不属市场监管职责", market, NOW)
    assert e.type == T.COUNIT_DECLINED and e.data["first_responsible"] and "city.market" not in e.data["units"]
    with pytest.raises(Conflict):
        d.co_unit_answer(a, True, "", market, NOW)
    a, (e,) = d.co_unit_contribute(a, "街道已约谈物业公司，承诺一周内修复单元门禁并公示收费。", tiedong, NOW)
    assert e.type == T.COUNIT_CONTRIBUTED
    a, _ = d.accept(a, housing, NOW)
    a, _ = d.review(a, "会同街道督促物业整改，按期答复", Actor("city.housing.leader", "unit_leader", "city.housing"),
                    UNITS["city.housing"], NOW)
    a, (e,) = d.reply(a, GOOD_REPLY, housing, NOW)
    assert e.data["contributions"] == ["district.tiedong"]
    assert a["replies"][0]["contributions"][0]["content"].startswith("街道已约谈")


def test_unit_directory_entries_need_leaders_and_a_contact():
    good = UNITS["city.environment"]
    d.check_unit(good)
    with pytest.raises(ValidationFailed) as err:
        d.check_unit({**good, "contacts": []})
    assert "contacts" in err.value.errors


def test_rules_must_name_known_categories_districts_and_units():
    rule = d.Rule("x", "noise.unknown", "city.nowhere", district="atlantis")
    with pytest.raises(ValidationFailed) as err:
        d.check_rule(rule, {"noise": "噪音"}, {"tiedong": "铁东区"}, UNITS)
    assert set(err.value.errors) == {"category", "district", "lead_unit"}
