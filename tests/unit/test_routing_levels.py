"""Routing's part of the front desk (issue 12; R3, R5) through its handler table over the fakes: only
tickets registered for dispatch are routed; 改派 before sign-for; a district passes a ticket down to its
street office (下派) and stays answerable; merged tickets are withdrawn and unmerged ones routed again."""
from pathlib import Path

import pytest

from hotline_common import event_schemas
from hotline_common.actors import Actor
from hotline_common.catalog import load_catalog
from hotline_common.config_files import read_yaml
from hotline_common.dispatch import Outcome, request
from hotline_common.errors import Conflict, Forbidden, NotFound, NotYet, RuleViolation, ValidationFailed
from hotline_common.events import envelope
from hotline_common.messages import ActorRef
from hotline_common.testing import FixedClock, RecordingOutbox, at
from services.intake.events import TicketMerged, TicketRegistered, TicketUnmerged
from services.routing.events import AssignmentWithdrawn, TicketAwaitingDispatch, TicketDispatched, TicketReplied
from services.routing.fakes import MemoryRoutingStore
from services.routing.handlers import HANDLERS, Routing

CONFIG = Path(__file__).resolve().parents[2] / "config"
CATALOG = load_catalog(CONFIG)
UNITS = read_yaml(CONFIG, "units.yaml")["units"]
RULES = read_yaml(CONFIG, "routing-rules.yaml")["rules"]
NOW = "2026-11-27T02:00:00.000Z"
OPERATOR = Actor("op1", "operator")
ADMIN = Actor("admin1", "admin")
ENV = Actor("city.environment.contact", "unit_handler", "city.environment")
ENFORCEMENT = Actor("city.enforcement.contact", "unit_handler", "city.enforcement")
TIEDONG = Actor("district.tiedong.contact", "unit_handler", "district.tiedong")
SHENGLI = Actor("street.tiedong.shengli.contact", "unit_handler", "street.tiedong.shengli")
SHENGLI_LEADER = Actor("street.tiedong.shengli.leader", "unit_leader", "street.tiedong.shengli")
FANRONG = "street.tiexi.fanrong"
OP_REF = ActorRef(user_id="op1", role="operator")
REPLY = {"result": "solved", "content": "街道已联系城管中队清理占道摊点，并安排网格员每日巡查，问题已解决。",
         "contacted_citizen": True}


@pytest.fixture
def outbox():
    outbox = RecordingOutbox("routing", FixedClock(at(NOW)))
    yield outbox
    for published in outbox.published:
        event_schemas.check(published)


@pytest.fixture
def app(outbox):
    return Routing(store=MemoryRoutingStore(outbox, units=UNITS, rules=RULES), clock=outbox.clock, catalog=CATALOG)


def run(app, name, actor, key=None, body=None, if_match=None, **params):
    if key is not None:
        params["key"] = key
    return HANDLERS.execute(app, name, request(params=params, body=body, if_match=if_match), actor)


def react(app, event, event_id):
    env = envelope(event, source_service="intake", time=at(NOW), event_id=event_id)
    event_schemas.check(env)
    return HANDLERS.react(app, env)


def registered(number="AS20261127000001", category="noise.neighbourhood", district="lishan", disposition="dispatch"):
    return TicketRegistered(ticket_id=f"t-{number}", number=number, channel="phone", type="complain",
                            category=category, district=district, key_ticket=False, registered_at=NOW,
                            disposition=disposition)


def ticket(app, number="AS20261127000001", **facts):
    assert react(app, registered(number, **facts), f"reg-{number}") == Outcome.APPLIED
    return number


def merged(number, merge_no=1, at_registration=False, main="AS20261127000099"):
    return TicketMerged(ticket_id=f"t-{number}", number=number, main_ticket_id=f"t-{main}", main_number=main,
                        unit_id=None, merge_no=merge_no, at_registration=at_registration, reason="重复诉求", at=NOW,
                        actor=OP_REF)


def unmerged(number, merge_no=1, category="noise.neighbourhood", district="lishan"):
    return TicketUnmerged(ticket_id=f"t-{number}", number=number, main_ticket_id="t-AS20261127000099",
                          main_number="AS20261127000099", merge_no=merge_no, reason="并非同一件事", at=NOW,
                          actor=OP_REF, type="complain", category=category, district=district, key_ticket=False)


def of(outbox, cls):
    return [e["data"] for e in outbox.published if e["type"] == cls.full_type()]


# -- only "dispatch" is routed -------------------------------------------------------------------------

@pytest.mark.parametrize("disposition", ["direct_answer", "merged", "transferred", "referred", "out_of_scope",
                                         "malicious"])
def test_a_ticket_intake_closed_or_merged_never_reaches_a_unit(app, outbox, disposition):
    assert react(app, registered(disposition=disposition), "reg-1") == Outcome.NO_CHANGE
    assert outbox.published == [] and app.store.get_assignment("AS20261127000001") is None


# -- 改派: before sign-for, with a reason; the first unit no longer sees it ------------------------------

def test_the_hotline_office_redispatches_a_ticket_nobody_signed_for(app, outbox):
    number = ticket(app)
    with pytest.raises(ValidationFailed):
        run(app, "redispatch", OPERATOR, number, {"unit_id": "city.enforcement", "reason": "错"})
    with pytest.raises(RuleViolation):
        run(app, "redispatch", OPERATOR, number, {"unit_id": "city.environment", "reason": "重新派给同一单位"})
    with pytest.raises(Forbidden):
        run(app, "redispatch", ENV, number, {"unit_id": "city.enforcement", "reason": "属于城管职责范围"})
    with pytest.raises(ValidationFailed):
        run(app, "redispatch", OPERATOR, number, {"unit_id": "city.nowhere", "reason": "属于城管职责范围"})
    view = run(app, "redispatch", OPERATOR, number, {"unit_id": "city.enforcement", "reason": "噪声来自占道经营摊点，属城管职责"},
               if_match=1)
    assert view["lead_unit"] == "city.enforcement" and view["dispatch_no"] == 2 and view["version"] == 2
    (first, again) = of(outbox, TicketDispatched)
    assert again["kind"] == "redispatch" and again["keeps_deadline"] is True and again["previous_unit"] == "city.environment"
    assert again["reason"] == "噪声来自占道经营摊点，属城管职责" and again["units"] == ["city.enforcement"]
    assert first["kind"] == "rule" and first["keeps_deadline"] is False
    with pytest.raises(NotFound):   # the first unit no longer sees it
        run(app, "get_assignment", ENV, number)
    run(app, "accept", ENFORCEMENT, number)
    with pytest.raises(Conflict, match="签收"):
        run(app, "redispatch", OPERATOR, number, {"unit_id": "city.environment", "reason": "还是环保的职责"})


# -- 下派: a district passes a ticket to its street office and stays answerable ----------------------------

def test_a_district_passes_a_ticket_down_to_its_street_office_which_replies_and_the_district_sees_it(app, outbox):
    number = ticket(app, category="urban.street_vending", district="tiedong")   # rule: district.tiedong + 城管
    run(app, "accept", TIEDONG, number)
    view = run(app, "pass_down", TIEDONG, number, {"unit_id": "street.tiedong.shengli",
                                                   "reason": "请胜利街道核实处理胜利南路占道经营"})
    assert view["lead_unit"] == "street.tiedong.shengli" and view["responsible_unit"] == "district.tiedong"
    assert view["status"] == "dispatched" and view["state"]["responsible_unit"]["id"] == "district.tiedong"
    passed = of(outbox, TicketDispatched)[-1]
    assert passed["kind"] == "pass_down" and passed["keeps_deadline"] and passed["previous_unit"] == "district.tiedong"
    assert passed["units"] == ["street.tiedong.shengli", "district.tiedong", "city.enforcement"]
    assert [c["unit_id"] for c in passed["co_units"]] == ["city.enforcement"]          # the co-unit stays
    # the street office works it with the same rules
    with pytest.raises(NotFound):
        run(app, "accept", TIEDONG, number)                                            # not the district's to sign
    run(app, "accept", SHENGLI, number)
    run(app, "review", SHENGLI_LEADER, number, {"instructions": "请城管科今日内到现场处置"})
    run(app, "reply", SHENGLI, number, REPLY)
    seen = run(app, "get_assignment", TIEDONG, number)                                  # the district sees the reply
    assert seen["status"] == "replied" and seen["replies"][0]["unit_id"] == "street.tiedong.shengli"
    assert of(outbox, TicketReplied)[0]["units"] == ["street.tiedong.shengli", "district.tiedong", "city.enforcement"]


def test_passing_down_goes_only_to_the_districts_own_street_offices_while_it_handles_the_ticket(app):
    number = ticket(app, category="urban.street_vending", district="tiedong")
    for unit_id in (FANRONG, "city.housing"):
        with pytest.raises(RuleViolation):
            run(app, "pass_down", TIEDONG, number, {"unit_id": unit_id, "reason": "请街道核实处理"})
    with pytest.raises(ValidationFailed):
        run(app, "pass_down", TIEDONG, number, {"unit_id": "street.nowhere", "reason": "请街道核实处理"})
    with pytest.raises(ValidationFailed):
        run(app, "pass_down", TIEDONG, number, {"unit_id": "street.tiedong.shengli", "reason": ""})
    with pytest.raises(Forbidden):
        run(app, "pass_down", OPERATOR, number, {"unit_id": "street.tiedong.shengli", "reason": "请街道核实处理"})
    with pytest.raises(NotFound):   # only the lead passes down
        run(app, "pass_down", ENFORCEMENT, number, {"unit_id": "street.tiedong.shengli", "reason": "请街道核实处理"})
    run(app, "pass_down", TIEDONG, number, {"unit_id": "street.tiedong.shengli", "reason": "请街道核实处理"})
    run(app, "accept", SHENGLI, number)
    run(app, "review", SHENGLI_LEADER, number, {"instructions": "请城管科今日内到现场处置"})
    run(app, "reply", SHENGLI, number, REPLY)
    with pytest.raises(Conflict):
        run(app, "pass_down", SHENGLI, number, {"unit_id": "street.tiedong.zhanqian", "reason": "请站前街道处理"})


def test_a_return_approved_after_a_pass_down_releases_the_district_too(app, outbox):
    number = ticket(app, category="urban.street_vending", district="tiedong")
    run(app, "pass_down", TIEDONG, number, {"unit_id": "street.tiedong.shengli", "reason": "请街道核实处理"})
    run(app, "request_return", SHENGLI, number, {"reason": "该路段属站前街道管辖"})
    view = run(app, "decide_return", OPERATOR, number, {"approve": True, "redispatch_to": "street.tiedong.zhanqian"})
    assert view["lead_unit"] == "street.tiedong.zhanqian" and view["responsible_unit"] is None
    assert of(outbox, TicketDispatched)[-1]["kind"] == "return"


# -- the directory: street offices under their district --------------------------------------------------

def test_street_offices_name_their_district_and_a_parent_must_be_a_district(app):
    assert run(app, "get_unit", OPERATOR, unit_id="street.tiedong.shengli")["parent"] == "district.tiedong"
    body = {"name": "铁东区新兴街道办事处", "kind": "street", "parent": "district.tiedong",
            "main_leader": {"user_id": "x.leader", "name": "甲"}, "deputy_leader": {"user_id": "x.deputy", "name": "乙"},
            "contacts": [{"user_id": "x.contact", "name": "丙"}]}
    assert run(app, "put_unit", ADMIN, body=body, unit_id="street.tiedong.xinxing")["parent"] == "district.tiedong"
    for parent in ("district.nowhere", "city.housing", "street.tiedong.xinxing"):
        with pytest.raises(ValidationFailed) as err:
            run(app, "put_unit", ADMIN, body={**body, "parent": parent}, unit_id="street.tiedong.xinxing")
        assert "parent" in err.value.errors
    assert "parent" not in run(app, "put_unit", ADMIN, body={**body, "parent": None, "kind": "other"},
                               unit_id="street.tiedong.xinxing")


# -- merges (并单): withdrawn, and routed again when unmerged ------------------------------------------------

def test_a_ticket_merged_after_its_dispatch_is_withdrawn_from_its_unit(app, outbox):
    number = ticket(app)
    assert react(app, merged(number), "m1") == Outcome.APPLIED
    (withdrawn,) = of(outbox, AssignmentWithdrawn)
    assert withdrawn["previous_unit"] == "city.environment" and withdrawn["units"] == []
    assert withdrawn["state"]["status"] == "withdrawn" and withdrawn["main_number"] == "AS20261127000099"
    with pytest.raises(NotFound):
        run(app, "get_assignment", ENV, number)
    assert react(app, merged(number), "m1-again") == Outcome.APPLIED and len(of(outbox, AssignmentWithdrawn)) == 1
    with pytest.raises(Conflict):   # a withdrawn ticket is not in the manual queue
        run(app, "manual_dispatch", OPERATOR, number, {"unit_id": "city.environment"})
    # unmerged: routed again by its rules, as a new dispatch
    assert react(app, unmerged(number), "u1") == Outcome.APPLIED
    again = of(outbox, TicketDispatched)[-1]
    assert again["kind"] == "unmerged" and again["dispatch_no"] == 2 and again["keeps_deadline"] is False
    assert react(app, unmerged(number), "u1-again") == Outcome.APPLIED and len(of(outbox, TicketDispatched)) == 2


def test_merges_and_unmerges_out_of_order_wait_for_what_they_follow(app, outbox):
    with pytest.raises(NotYet):   # the merge of a ticket registered for dispatch, before its registration
        react(app, merged("AS20261127000002"), "m2")
    assert react(app, merged("AS20261127000003", at_registration=True), "m3") == Outcome.NO_CHANGE
    number = ticket(app, "AS20261127000004")
    with pytest.raises(NotYet):   # the unmerge before the merge it undoes
        react(app, unmerged(number), "u4")


def test_a_ticket_merged_as_it_was_registered_gets_its_first_dispatch_when_unmerged(app, outbox):
    number = "AS20261127000005"
    assert react(app, registered(number, disposition="merged"), "r5") == Outcome.NO_CHANGE
    assert react(app, unmerged(number, category="other"), "u5") == Outcome.APPLIED
    (waiting,) = of(outbox, TicketAwaitingDispatch)              # "other" has no rule
    assert waiting["state"]["status"] == "awaiting_dispatch"
    assert react(app, unmerged(number, category="other"), "u5") == Outcome.DUPLICATE
    number = "AS20261127000006"
    react(app, registered(number, disposition="merged"), "r6")
    react(app, unmerged(number), "u6")
    assert of(outbox, TicketDispatched)[-1]["dispatch_no"] == 1 and of(outbox, TicketDispatched)[-1]["kind"] == "unmerged"


def test_a_replied_ticket_is_not_withdrawn(app, outbox):
    number = ticket(app)
    run(app, "accept", ENV, number)
    run(app, "review", Actor("city.environment.leader", "unit_leader", "city.environment"), number,
        {"instructions": "请执法大队今晚夜查"})
    run(app, "reply", ENV, number, {**REPLY, "content": "经现场核查，涉事商户已整改并承诺夜间停止营业，噪音问题已解决。"})
    assert react(app, merged(number), "m7") == Outcome.NO_CHANGE and of(outbox, AssignmentWithdrawn) == []
