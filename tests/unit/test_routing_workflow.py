"""The unit's work on a ticket, as pure rules (R4, R5, R6, R9, R14)."""
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from hotline_common.actors import Actor
from hotline_common.errors import Conflict, Forbidden, NotFound, RuleViolation, ValidationFailed
from services.routing import commands as c
from services.routing import domain as d
from services.routing.events import (
    AssignmentAccepted,
    AssignmentRefused,
    AssignmentReopened,
    CounitAccepted,
    CounitAdded,
    CounitContributed,
    CounitDeclined,
    ReturnApproved,
    ReturnRejected,
    ReturnRequested,
    TicketAwaitingDispatch,
    TicketDispatched,
)

CONFIG = Path(__file__).resolve().parents[2] / "config"
NOW = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)
RULES = [d.Rule.from_dict(r) for r in yaml.safe_load((CONFIG / "routing-rules.yaml").read_text())["rules"]]
UNITS = {u["id"]: u for u in yaml.safe_load((CONFIG / "units.yaml").read_text())["units"]}
KEY = "AS20261127000001"

OPERATOR = Actor("op1", "operator")
SYSTEM = Actor("system", "system")
ENV_HANDLER = Actor("city.environment.contact", "unit_handler", "city.environment")
ENV_LEADER = Actor("city.environment.leader", "unit_leader", "city.environment")
ENV_DEPUTY = Actor("city.environment.deputy", "unit_leader", "city.environment")
HOUSING = Actor("city.housing.contact", "unit_handler", "city.housing")
GOOD_REPLY = c.Reply(key=KEY, result="solved", content="经现场核查，该烧烤店已于11月28日起停止夜间营业，噪音问题已解决。",
                     basis="", invalid_reason="", contacted_citizen=True)
INSTRUCTIONS = c.Review(key=KEY, instructions="请执法大队今晚现场核查并答复")


def dispatched(category="noise.neighbourhood", district="lishan"):
    a, _ = d.route_new_ticket(d.TicketFacts("t1", KEY, "complain", category, district), now=NOW, actor=SYSTEM,
                              rules=RULES, units=UNITS)
    return a


def accept(a, actor=ENV_HANDLER):
    return d.accept(a, c.Accept(key=KEY), now=NOW, actor=actor)


def review(a, actor=ENV_LEADER, unit="city.environment", cmd=INSTRUCTIONS):
    return d.review(a, cmd, now=NOW, actor=actor, unit=UNITS[unit])


def reply(a, cmd=GOOD_REPLY, actor=ENV_HANDLER):
    return d.reply(a, cmd, now=NOW, actor=actor)


def request_return(a, reason, actor=ENV_HANDLER):
    return d.request_return(a, c.RequestReturn(key=KEY, reason=reason), now=NOW, actor=actor)


def decide_return(a, approve, note="", redispatch_to=None, actor=OPERATOR):
    return d.decide_return(a, c.DecideReturn(key=KEY, approve=approve, note=note, redispatch_to=redispatch_to),
                           now=NOW, actor=actor, rules=RULES, units=UNITS)


def reviewed():
    a, _ = accept(dispatched())
    a, _ = review(a)
    return a


def test_sign_for_then_leader_review_then_reply():
    a, (e,) = accept(dispatched())
    assert a.status == "accepted" and isinstance(e, AssignmentAccepted)
    assert e.to_data()["actor"] == {"user_id": "city.environment.contact", "role": "unit_handler",
                                    "unit_id": "city.environment"}
    assert a.accepted.user_id == "city.environment.contact" and a.accepted.at == NOW
    a, (e,) = review(a, ENV_DEPUTY)
    assert a.status == "reviewed" and e.reviewer == "吴静" and e.reviewer_title == "分管领导"
    assert a.reviews[0].instructions == "请执法大队今晚现场核查并答复"
    a, (e,) = reply(a)
    assert a.status == "replied" and e.reply_no == "AS20261127000001-01"
    assert a.replies[0].content.startswith("经现场核查") and a.replied_at == NOW
    assert e.seq == 4  # dispatch 1, accept 2, review 3, reply 4


def test_only_a_dispatched_ticket_is_signed_for():
    a, _ = accept(dispatched())
    with pytest.raises(Conflict, match="only a dispatched ticket is signed for"):
        accept(a)


def test_event_seq_orders_every_event_of_the_assignment():
    a = dispatched()
    seqs = [a.event_seq]
    a, _ = accept(a)
    seqs.append(a.event_seq)
    a, _ = review(a)
    seqs.append(a.event_seq)
    assert seqs == [1, 2, 3]


def test_a_handler_may_not_review():
    a, _ = accept(dispatched())
    cmd = c.Review(key=KEY, instructions="请尽快处理此事并答复")
    with pytest.raises(Forbidden, match="阅批"):
        review(a, ENV_HANDLER, cmd=cmd)
    impostor = Actor("someone.else", "unit_leader", "city.environment")  # a leader role, not this unit's leader
    with pytest.raises(Forbidden):
        review(a, impostor, cmd=cmd)


def test_review_needs_instructions_and_a_signed_ticket():
    with pytest.raises(Conflict, match="签收"):
        review(dispatched(), cmd=c.Review(key=KEY, instructions="请尽快处理此事并答复"))
    a, _ = accept(dispatched())
    with pytest.raises(ValidationFailed) as err:
        review(a, cmd=c.Review(key=KEY, instructions="  同意 "))
    assert "instructions" in err.value.errors


def test_reply_is_refused_before_the_leader_review():
    a, _ = accept(dispatched())
    with pytest.raises(Conflict, match="阅批"):
        reply(a)


def test_a_ticket_is_replied_to_once():
    a, _ = reply(reviewed())
    with pytest.raises(Conflict, match="already"):
        reply(a)


@pytest.mark.parametrize("changes, field", [
    ({"content": "已处理"}, "content"),
    ({"content": "已 办 结 。"}, "content"),
    ({"result": "explained", "basis": ""}, "basis"),
    ({"result": "invalid", "invalid_reason": "无"}, "invalid_reason"),
    ({"result": "maybe"}, "result"),
])
def test_empty_token_or_unfounded_replies_are_refused(changes, field):
    from dataclasses import replace
    with pytest.raises(ValidationFailed) as err:
        reply(reviewed(), replace(GOOD_REPLY, **changes))
    assert field in err.value.errors


def test_explained_reply_with_its_basis_and_invalid_request_with_its_reason():
    from dataclasses import replace
    a, (e,) = reply(reviewed(), replace(GOOD_REPLY, result="explained",
                                        content="该路段改造需列入明年市政计划，目前无法立即施工，已向市民解释。",
                                        basis="《鞍山市城市道路管理条例》第十二条"))
    assert e.result == "explained" and a.replies[0].basis.startswith("《")
    a, (e,) = reply(reviewed(), replace(GOOD_REPLY, result="invalid",
                                        content="经核实，来电人反映的地址不存在相关经营场所，属无效诉求。",
                                        invalid_reason="反映地址查无此店，多次联系来电人无应答"))
    assert e.result == "invalid" and a.replies[0].basis is None


def test_other_units_do_not_see_or_act_on_the_ticket():
    with pytest.raises(NotFound):
        accept(dispatched(), HOUSING)
    assert not d.can_see(dispatched(), HOUSING) and d.can_see(dispatched(), ENV_HANDLER)
    with pytest.raises(Forbidden):
        accept(dispatched(), OPERATOR)


def test_return_approved_goes_to_another_unit_and_is_counted_against_the_returning_one():
    a = dispatched("urban.street_vending", "tiedong")            # district.tiedong leads by district rule
    handler = Actor("u", "unit_handler", "district.tiedong")
    a, (e,) = request_return(a, "占道经营执法属于综合执法局职责，不属本区", handler)
    assert a.status == "return_requested" and isinstance(e, ReturnRequested)
    a, events = decide_return(a, True, "同意退单")
    assert [type(e) for e in events] == [ReturnApproved, TicketDispatched]
    assert a.lead_unit == "city.enforcement" and a.dispatch_no == 2  # the best rule not led by it
    assert events[1].previous_unit == "district.tiedong"
    assert [e.seq for e in events] == [3, 4]
    assert a.returns[0].unit_id == "district.tiedong" and a.returns[0].decision == "approved"
    assert events[0].units == [] and events[1].units == ["city.enforcement"]


def test_return_approved_with_no_other_rule_waits_for_an_operator_and_never_goes_back():
    a, _ = request_return(dispatched(), "这是一起居民楼内部纠纷，请转属地街道")
    with pytest.raises(RuleViolation):
        decide_return(a, True, "", "city.environment")
    a2, events = decide_return(a, True)
    assert a2.status == "awaiting_dispatch" and isinstance(events[-1], TicketAwaitingDispatch)
    a3, events = d.manual_dispatch(a2, c.Dispatch(key=KEY, unit_id="district.lishan", note="转属地政府"),
                                   now=NOW, actor=OPERATOR, units=UNITS)
    assert a3.lead_unit == "district.lishan" and events[0].manual
    assert a3.dispatches[-1].note == "转属地政府" and a3.awaiting_reason is None


def test_return_approved_to_a_named_unit():
    a, _ = request_return(dispatched(), "这是一起居民楼内部纠纷，请转属地街道")
    a, events = decide_return(a, True, "转立山区", "district.lishan")
    assert [type(e) for e in events] == [ReturnApproved, TicketDispatched]
    assert a.lead_unit == "district.lishan" and events[1].manual and events[1].previous_unit == "city.environment"


def test_manual_dispatch_is_for_the_operator_and_only_of_a_waiting_ticket():
    with pytest.raises(Conflict, match="not waiting for dispatch"):
        d.manual_dispatch(dispatched(), c.Dispatch(key=KEY, unit_id="district.lishan"), now=NOW, actor=OPERATOR,
                          units=UNITS)
    with pytest.raises(Forbidden):
        d.manual_dispatch(dispatched(), c.Dispatch(key=KEY, unit_id="district.lishan"), now=NOW,
                          actor=ENV_HANDLER, units=UNITS)
    a, _ = decide_return(request_return(dispatched(), "这是一起居民楼内部纠纷，请转属地街道")[0], True)
    for cmd, field in ((c.Dispatch(key=KEY, unit_id="city.nowhere"), "unit_id"),
                       (c.Dispatch(key=KEY, unit_id="district.lishan", co_units=["city.nowhere"]), "co_units")):
        with pytest.raises(ValidationFailed) as err:
            d.manual_dispatch(a, cmd, now=NOW, actor=OPERATOR, units=UNITS)
        assert field in err.value.errors
    a, (e,) = d.manual_dispatch(a, c.Dispatch(key=KEY, unit_id="district.lishan", co_units=[
        "city.market", "city.market", "district.lishan"], first_responsible=True), now=NOW, actor=OPERATOR,
        units=UNITS)
    assert [co.unit_id for co in a.co_units] == ["city.market"] and e.first_responsible and a.first_responsible


def test_return_rejected_keeps_the_unit_and_a_first_responsible_refusal_is_escalated():
    a, _ = accept(dispatched())                                   # 市环保局, first-responsible for noise
    a, _ = request_return(a, "夜间噪音应由公安部门处理")
    a, events = decide_return(a, False, "噪音污染由市环保局作为第一责任主体牵头办理")
    assert a.status == "accepted" and a.lead_unit == "city.environment"
    assert [type(e) for e in events] == [ReturnRejected, AssignmentRefused]
    assert events[1].refusing_unit == "city.environment"
    assert a.returns[0].decision == "rejected" and a.returns[0].note.startswith("噪音污染")


def test_return_needs_a_reason_and_comes_before_the_reply():
    with pytest.raises(ValidationFailed):
        request_return(dispatched(), "不是")
    a, _ = reply(reviewed())
    with pytest.raises(Conflict):
        request_return(a, "不属于本单位职责范围")
    with pytest.raises(Forbidden):
        decide_return(a, True, actor=ENV_LEADER)
    with pytest.raises(Conflict, match="no return is waiting"):
        decide_return(a, True)


def test_co_units_accept_decline_contribute_and_the_reply_gathers_them():
    a = dispatched("housing.property", "tiedong")  # 市住房城乡建设委 leads, 铁东区 co-unit by rule
    housing = Actor("city.housing.contact", "unit_handler", "city.housing")
    assert [co.unit_id for co in a.co_units] == ["district.tiedong"]
    a, (e,) = d.add_co_unit(a, c.AddCoUnit(key=KEY, unit_id="city.market", task="核查物业公司收费是否合规"),
                            now=NOW, actor=housing, units=UNITS)
    assert isinstance(e, CounitAdded) and e.units == ["city.housing", "district.tiedong", "city.market"]
    tiedong = Actor("district.tiedong.contact", "unit_handler", "district.tiedong")
    market = Actor("city.market.contact", "unit_handler", "city.market")
    a, (e,) = d.co_unit_accept(a, c.CoUnitAccept(key=KEY, unit_id="district.tiedong"), now=NOW, actor=tiedong)
    assert isinstance(e, CounitAccepted) and e.reason is None
    a, (e,) = d.co_unit_decline(a, c.CoUnitDecline(key=KEY, unit_id="city.market", reason="物业收费标准不属市场监管职责"),
                                now=NOW, actor=market)
    assert isinstance(e, CounitDeclined) and e.first_responsible and "city.market" not in e.units
    with pytest.raises(Conflict):
        d.co_unit_accept(a, c.CoUnitAccept(key=KEY, unit_id="city.market"), now=NOW, actor=market)
    a, (e,) = d.co_unit_contribute(a, c.CoUnitContribute(key=KEY, unit_id="district.tiedong",
                                                         content="街道已约谈物业公司，承诺一周内修复单元门禁并公示收费。"),
                                   now=NOW, actor=tiedong)
    assert isinstance(e, CounitContributed)
    a, _ = accept(a, housing)
    a, _ = review(a, Actor("city.housing.leader", "unit_leader", "city.housing"), "city.housing",
                  c.Review(key=KEY, instructions="会同街道督促物业整改，按期答复"))
    a, (e,) = reply(a, actor=housing)
    assert e.contributions == ["district.tiedong"]
    assert a.replies[0].contributions[0].content.startswith("街道已约谈")


def test_co_unit_rules_refuse_what_does_not_fit():
    housing = Actor("city.housing.contact", "unit_handler", "city.housing")
    tiedong = Actor("district.tiedong.contact", "unit_handler", "district.tiedong")
    a = dispatched("housing.property", "tiedong")
    with pytest.raises(Forbidden, match="your own unit"):   # answering for another unit
        d.co_unit_accept(a, c.CoUnitAccept(key=KEY, unit_id="city.market"), now=NOW, actor=tiedong)
    with pytest.raises(Forbidden):
        d.co_unit_accept(a, c.CoUnitAccept(key=KEY, unit_id="district.tiedong"), now=NOW,
                         actor=Actor("s", "supervisor", "district.tiedong"))
    with pytest.raises(NotFound):                            # not one of this ticket's co-units
        d.co_unit_accept(a, c.CoUnitAccept(key=KEY, unit_id="city.market"), now=NOW,
                         actor=Actor("m", "unit_handler", "city.market"))
    with pytest.raises(ValidationFailed) as err:
        d.co_unit_decline(a, c.CoUnitDecline(key=KEY, unit_id="district.tiedong", reason="不"), now=NOW, actor=tiedong)
    assert "reason" in err.value.errors
    contribute = c.CoUnitContribute(key=KEY, unit_id="district.tiedong", content="街道已约谈物业公司，承诺一周内修复门禁。")
    with pytest.raises(Conflict, match="accept the co-unit task"):
        d.co_unit_contribute(a, contribute, now=NOW, actor=tiedong)
    a, _ = d.co_unit_accept(a, c.CoUnitAccept(key=KEY, unit_id="district.tiedong"), now=NOW, actor=tiedong)
    with pytest.raises(ValidationFailed):
        d.co_unit_contribute(a, c.CoUnitContribute(key=KEY, unit_id="district.tiedong", content="已处理"), now=NOW,
                             actor=tiedong)
    for cmd, field in ((c.AddCoUnit(key=KEY, unit_id="city.housing", task="核查物业公司收费是否合规"), "unit_id"),
                       (c.AddCoUnit(key=KEY, unit_id="city.nowhere", task="核查物业公司收费是否合规"), "unit_id"),
                       (c.AddCoUnit(key=KEY, unit_id="city.market", task="核查"), "task")):
        with pytest.raises(ValidationFailed) as err:
            d.add_co_unit(a, cmd, now=NOW, actor=housing, units=UNITS)
        assert field in err.value.errors
    # organising an accepted co-unit again keeps its answer; the lead's reply ends the co-units' work
    a, _ = d.add_co_unit(a, c.AddCoUnit(key=KEY, unit_id="district.tiedong", task="约谈物业公司并督促整改"), now=NOW,
                         actor=housing, units=UNITS)
    assert a.co_units[0].status == "accepted" and a.co_units[0].task == "约谈物业公司并督促整改"
    a, _ = accept(a, housing)
    a, _ = review(a, Actor("city.housing.leader", "unit_leader", "city.housing"), "city.housing",
                  c.Review(key=KEY, instructions="会同街道督促物业整改，按期答复"))
    a, (e,) = reply(a, actor=housing)
    assert e.co_units_pending == ["district.tiedong"] and e.contributions == []
    with pytest.raises(Conflict, match="replied already"):
        d.co_unit_contribute(a, contribute, now=NOW, actor=tiedong)
    with pytest.raises(Conflict, match="co-units are organised while"):
        d.add_co_unit(a, c.AddCoUnit(key=KEY, unit_id="city.market", task="核查物业公司收费是否合规"), now=NOW,
                      actor=housing, units=UNITS)


def test_a_declined_co_unit_organised_again_is_asked_again():
    housing = Actor("city.housing.contact", "unit_handler", "city.housing")
    tiedong = Actor("district.tiedong.contact", "unit_handler", "district.tiedong")
    a = dispatched("housing.property", "tiedong")
    a, _ = d.co_unit_decline(a, c.CoUnitDecline(key=KEY, unit_id="district.tiedong", reason="不属于本街道辖区范围"),
                             now=NOW, actor=tiedong)
    a, _ = d.add_co_unit(a, c.AddCoUnit(key=KEY, unit_id="district.tiedong", task="核实辖区范围并协助处理"), now=NOW,
                         actor=housing, units=UNITS)
    assert a.co_units[0].status == "pending" and a.co_units[0].answered is None


def test_reopening_starts_a_new_round_and_unsatisfied_needs_a_verification_first():
    a, _ = reply(reviewed())
    a, (e,) = d.reopen(a, c.Reopen(reason="unsatisfied"), now=NOW, actor=SYSTEM)
    assert isinstance(e, AssignmentReopened) and e.round == 2 and e.state.round == 2 and e.working_days is None
    assert a.status == "accepted" and a.round == 2
    assert a.verification == d.Verification(required=True, filed=False, reason="unsatisfied")
    a, _ = review(a)
    with pytest.raises(Conflict, match="现场核查"):
        reply(a)
    a, events = d.verification_filed(a, c.RecordVerification(), now=NOW, actor=SYSTEM)
    assert events == [] and a.verification.filed
    a, (e,) = reply(a)
    assert e.reply_no == "AS20261127000001-02"
    a, (e,) = d.reopen(a, c.Reopen(reason="reinvestigation", working_days=5), now=NOW, actor=SYSTEM)
    assert e.round == 3 and e.working_days == 5 and a.verification.filed  # no new verification (R15)


def test_reopening_a_ticket_still_dispatched_keeps_it_waiting_for_the_signature():
    a, (e,) = d.reopen(dispatched(), c.Reopen(reason="reinvestigation", working_days=3), now=NOW, actor=SYSTEM)
    assert a.status == "dispatched" and e.state.status == "dispatched"


def test_a_ticket_without_a_unit_is_not_reopened():
    a, _ = request_return(dispatched(), "这是一起居民楼内部纠纷，请转属地街道")
    with pytest.raises(Conflict, match="no unit"):
        d.reopen(a, c.Reopen(reason="unsatisfied"), now=NOW, actor=SYSTEM)
    a, _ = decide_return(a, True)
    with pytest.raises(Conflict, match="no unit"):
        d.reopen(a, c.Reopen(reason="unsatisfied"), now=NOW, actor=SYSTEM)


def test_a_key_ticket_needs_its_verification_before_the_reply():
    a, events = d.require_verification(reviewed(), c.RequireVerification(reason="key_ticket"), now=NOW, actor=SYSTEM)
    assert events == [] and a.verification == d.Verification(required=True, filed=False, reason="key_ticket")
    with pytest.raises(Conflict, match="R10"):
        reply(a)


def test_unit_directory_entries_need_leaders_and_a_contact():
    good = UNITS["city.environment"]
    d.check_unit(good)
    with pytest.raises(ValidationFailed) as err:
        d.check_unit({**good, "contacts": []})
    assert "contacts" in err.value.errors
    with pytest.raises(ValidationFailed) as err:
        d.check_unit({**good, "main_leader": {"user_id": "x"}})
    assert set(err.value.errors) == {"main_leader"}


def test_rules_must_name_known_categories_districts_and_units():
    rule = d.Rule("x", "noise.unknown", "city.nowhere", district="atlantis")
    with pytest.raises(ValidationFailed) as err:
        d.check_rule(rule, categories={"noise": "噪音"}, districts={"tiedong": "铁东区"}, units=UNITS)
    assert set(err.value.errors) == {"category", "district", "lead_unit"}
    rule = d.Rule("y", "noise", "city.environment", co_units=("city.environment", "city.nowhere"))
    with pytest.raises(ValidationFailed) as err:
        d.check_rule(rule, categories={"noise": "噪音"}, districts={}, units=UNITS)
    assert set(err.value.errors) == {"co_units"}
