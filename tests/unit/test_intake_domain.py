"""R1: numbers, registration, the ticket view and who may see it."""
from datetime import date, datetime, timezone

from hotline_common.actors import Actor
from hotline_common.events import T
from services.intake import domain

NOW = datetime(2026, 11, 27, 2, 0, tzinfo=timezone.utc)
CATALOG = domain.Catalog({"noise.neighbourhood": "社会生活噪音"}, {"tiedong": "铁东区"}, {"phone": "电话"})
OPERATOR = Actor("op1", "operator")
DETAILS = {"channel": "phone", "type": "complain", "category": "noise.neighbourhood", "district": "tiedong",
           "address": "胜利路1号", "citizen": {"name": "张三", "phone": "13812341234"},
           "content": "夜间施工噪音扰民"}


def test_ticket_number_is_prefix_day_and_sequence():
    assert domain.ticket_number("AS", date(2026, 11, 27), 123) == "AS20261127000123"


def test_phone_masking():
    assert domain.mask_phone("13812341234") == "138****1234"
    assert domain.mask_phone("0412-1234567") == "0412-***4567"


def test_registration_event_carries_no_personal_data():
    ticket, (event,) = domain.register(DETAILS, ticket_id="t1", number="AS1", now=NOW, actor=OPERATOR,
                                       catalog=CATALOG)
    assert event.type == T.TICKET_REGISTERED
    flat = repr(event.data)
    for secret in ("13812341234", "张三", "胜利路", "噪音扰民"):
        assert secret not in flat
    assert ticket["status"] == domain.Status.REGISTERED
    assert ticket["timeline"][0]["label"] == "工单登记"


def routing_event(domain_event, eid="e1"):
    from hotline_common.events import envelope
    return envelope(domain_event, source_service="routing", time=NOW, event_id=eid)


def test_projection_of_a_real_dispatch_event_sets_status_unit_and_visibility():
    from pathlib import Path
    import yaml
    from services.routing.domain import Rule, TicketFacts, route_new_ticket
    config = Path(__file__).resolve().parents[2] / "config"
    rules = [Rule.from_dict(r) for r in yaml.safe_load((config / "routing-rules.yaml").read_text())["rules"]]
    units = {u["id"]: u for u in yaml.safe_load((config / "units.yaml").read_text())["units"]}
    routed = route_new_ticket(TicketFacts("t1", "AS1", "complain", "noise.neighbourhood", "tiedong"),
                              rules, units, NOW, OPERATOR)
    change = domain.project(routing_event(routed.events[0]))
    assert change.changes["status"] == domain.Status.DISPATCHED
    assert change.changes["units"] == ["city.environment"]
    assert change.changes["lead_unit"] == {"id": "city.environment", "name": "市环保局"}
    assert change.source == "routing" and change.seq == 1
    assert "第一责任主体" in change.entry["label"]


def test_units_see_only_their_tickets_and_phones_are_masked():
    ticket, _ = domain.register(DETAILS, ticket_id="t1", number="AS1", now=NOW, actor=OPERATOR, catalog=CATALOG)
    ticket["units"] = ["city.environment"]
    own = Actor("u1", "unit_handler", "city.environment")
    other = Actor("u2", "unit_handler", "city.housing")
    assert domain.visible_to(ticket, own) and not domain.visible_to(ticket, other)
    assert domain.visible_to(ticket, Actor("s", "supervisor"))
    assert not domain.visible_to(ticket, Actor("x", "subscriber"))
    assert domain.present(ticket, own)["citizen"]["phone"] == "138****1234"
    assert domain.present(ticket, OPERATOR)["citizen"]["phone"] == "13812341234"
