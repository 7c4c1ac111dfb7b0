"""R3, R6: routing rules choose the lead unit; the five first-responsible entities of notice §3."""
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from hotline_common.actors import SYSTEM_ACTOR
from services.routing.domain import AssignmentStatus, Rule, TicketFacts, choose_rule, route_new_ticket
from services.routing.events import TicketAwaitingDispatch, TicketDispatched

CONFIG = Path(__file__).resolve().parents[2] / "config"
NOW = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def rules():
    return [Rule.from_dict(r) for r in yaml.safe_load((CONFIG / "routing-rules.yaml").read_text())["rules"]]


@pytest.fixture(scope="module")
def units():
    return {u["id"]: u for u in yaml.safe_load((CONFIG / "units.yaml").read_text())["units"]}


@pytest.mark.parametrize("category, unit", [
    ("infrastructure.streetlight", "city.housing"),      # 市政基础设施 -> 市住房城乡建设委
    ("housing.property", "city.housing"),                # 房屋及物业管理
    ("waste.household", "city.housing"),                 # 废弃物管理
    ("urban.illegal_construction", "city.enforcement"),  # 城市综合治理 -> 市综合执法局
    ("noise.neighbourhood", "city.environment"),         # 噪音污染 -> 市环保局
    ("territory", "city.civil_affairs"),                 # 属地划分 -> 市民政局
    ("labor.wages", "city.hrss"),                        # 工资福利 -> 市人力资源社会保障局
    ("labor.social_security", "city.hrss"),              # 社保
])
def test_r6_categories_go_to_their_first_responsible_entity(rules, category, unit):
    rule = choose_rule(rules, category, "lishan")
    assert rule.lead_unit == unit
    assert rule.first_responsible


def test_the_units_directory_names_the_five_bureaus(units):
    names = {units[u]["name"] for u in ("city.housing", "city.enforcement", "city.environment",
                                        "city.civil_affairs", "city.hrss")}
    assert names == {"市住房城乡建设委", "市综合执法局", "市环保局", "市民政局", "市人力资源社会保障局"}


def test_every_unit_has_leaders_and_a_contact(units):
    for unit in units.values():
        assert unit["main_leader"]["user_id"] and unit["deputy_leader"]["user_id"]
        assert unit["contacts"], unit["id"]


def test_every_rule_names_known_units(rules, units):
    for rule in rules:
        assert rule.lead_unit in units, rule.id
        assert all(c in units for c in rule.co_units), rule.id


def test_district_rule_beats_any_district_rule(rules):
    assert choose_rule(rules, "urban.street_vending", "tiedong").lead_unit == "district.tiedong"
    assert choose_rule(rules, "urban.street_vending", "haicheng").lead_unit == "city.enforcement"


def test_deeper_category_beats_its_parent():
    rules = [Rule("parent", "noise", "a"), Rule("child", "noise.construction", "b")]
    assert choose_rule(rules, "noise.construction", "x").id == "child"
    assert choose_rule(rules, "noise.commercial", "x").id == "parent"
    assert choose_rule(rules, "noisy", "x") is None  # a prefix of the code is not a parent


def test_equal_specificity_is_settled_by_rule_id_and_a_returning_unit_is_skipped():
    rules = [Rule("b-rule", "noise", "b"), Rule("a-rule", "noise", "a")]
    assert choose_rule(rules, "noise", "x").id == "a-rule"
    assert choose_rule(rules, "noise", "x", exclude_unit="a").id == "b-rule"


def test_no_rule_parks_the_ticket_for_manual_dispatch(rules, units):
    ticket = TicketFacts("t1", "AS1", "help", "other", "tiedong")
    a, events = route_new_ticket(ticket, now=NOW, actor=SYSTEM_ACTOR, rules=rules, units=units)
    assert a.status == AssignmentStatus.AWAITING_DISPATCH and a.awaiting_reason == "没有匹配的派单规则"
    assert [type(e) for e in events] == [TicketAwaitingDispatch]
    assert events[0].reason == "没有匹配的派单规则" and events[0].state.lead_unit is None


def test_a_rule_naming_a_unit_not_in_the_directory_parks_the_ticket_too(units):
    rules = [Rule("ghost", "noise", "city.nowhere")]
    a, (event,) = route_new_ticket(TicketFacts("t1", "AS1", "help", "noise", "tiedong"), now=NOW,
                                   actor=SYSTEM_ACTOR, rules=rules, units=units)
    assert a.status == AssignmentStatus.AWAITING_DISPATCH
    assert event.reason == "规则 ghost 指定的承办单位不存在"


def test_dispatch_event_names_lead_and_co_units_and_no_personal_data(rules, units):
    ticket = TicketFacts("t1", "AS1", "complain", "housing.property", "tiedong")
    a, events = route_new_ticket(ticket, now=NOW, actor=SYSTEM_ACTOR, rules=rules, units=units)
    (event,) = events
    assert isinstance(event, TicketDispatched)
    assert event.unit_id == "city.housing" and event.first_responsible
    assert [c.unit_id for c in event.co_units] == ["district.tiedong"]
    assert a.dispatch_no == 1 and event.seq == 1
    assert event.unit_leaders == ["city.housing.deputy", "city.housing.leader"]
    assert event.rule_id == "property-with-district" and not event.manual and event.previous_unit is None
    assert event.dispatched_at == event.at == "2026-11-27T02:00:00.000Z"
    assert event.to_data()["actor"] == {"user_id": "system", "role": "system", "unit_id": None}
