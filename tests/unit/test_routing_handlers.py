"""Routing's use cases through its one handler table (`HANDLERS`), over the in-memory store: every
RPC command and query, and every event reaction, as the nameko entrypoints run them."""
from pathlib import Path

import pytest

from hotline_common import event_schemas
from hotline_common.actors import Actor
from hotline_common.catalog import load_catalog
from hotline_common.config_files import read_yaml
from hotline_common.dispatch import Outcome, Received, request
from hotline_common.errors import (
    Conflict,
    Forbidden,
    NotFound,
    NotYet,
    StaleVersion,
    TransientError,
    ValidationFailed,
)
from hotline_common.events import envelope
from hotline_common.messages import ActorRef
from hotline_common.testing import FixedClock, RecordingOutbox, at
from services.escalation.events import ReinvestigationOrdered, VerificationFiled
from services.intake.events import TicketMarkedKey, TicketMerged, TicketRegistered, TicketReopened, TicketUnmerged
from services.routing import handlers
from services.routing.events import (
    AssignmentAccepted,
    AssignmentRefused,
    AssignmentReopened,
    AssignmentReviewed,
    CounitAccepted,
    CounitAdded,
    CounitContributed,
    CounitDeclined,
    ReturnApproved,
    ReturnRejected,
    ReturnRequested,
    TicketAwaitingDispatch,
    TicketDispatched,
    TicketReplied,
)
from services.routing.fakes import MemoryRoutingStore
from services.routing.handlers import HANDLERS, Routing

CONFIG = Path(__file__).resolve().parents[2] / "config"
CATALOG = load_catalog(CONFIG)
UNITS = read_yaml(CONFIG, "units.yaml")["units"]
RULES = read_yaml(CONFIG, "routing-rules.yaml")["rules"]
NOW = "2026-11-27T02:00:00.000Z"

OPERATOR = Actor("op1", "operator")
ADMIN = Actor("admin1", "admin")
SUPERVISOR = Actor("sup1", "supervisor")
ENV = "city.environment"
ENV_HANDLER = Actor("city.environment.contact", "unit_handler", ENV)
ENV_LEADER = Actor("city.environment.leader", "unit_leader", ENV)
HOUSING = Actor("city.housing.contact", "unit_handler", "city.housing")
HOUSING_LEADER = Actor("city.housing.leader", "unit_leader", "city.housing")
TIEDONG = Actor("district.tiedong.contact", "unit_handler", "district.tiedong")
MARKET = Actor("city.market.contact", "unit_handler", "city.market")
SYSTEM_REF = ActorRef(user_id="system", role="system")
REPLY = {"result": "solved", "content": "经现场核查，涉事商户已整改并承诺夜间停止营业，噪音问题已解决。",
         "contacted_citizen": True}


@pytest.fixture
def outbox():
    clock = FixedClock(at(NOW))
    outbox = RecordingOutbox("routing", clock)
    yield outbox
    for published in outbox.published:  # whatever routing publishes fits its published contract
        event_schemas.check(published)


@pytest.fixture
def app(outbox):
    return Routing(store=MemoryRoutingStore(outbox, units=UNITS, rules=RULES), clock=outbox.clock, catalog=CATALOG)


def run(app, name, actor, key=None, body=None, if_match=None, **params):
    if key is not None:
        params["key"] = key
    return HANDLERS.execute(app, name, request(params=params, body=body, if_match=if_match), actor)


def react(app, event, event_id="e1", source="intake"):
    env = envelope(event, source_service=source, time=at(NOW), event_id=event_id)
    event_schemas.check(env)  # what the subscriber checks at the door
    return HANDLERS.react(app, env)


def registered(number="AS20261127000001", category="noise.neighbourhood", district="lishan", ticket_id=None,
               type="complain"):
    return TicketRegistered(ticket_id=ticket_id or f"t-{number}", number=number, channel="phone", type=type,
                            category=category, district=district, key_ticket=False, registered_at=NOW)


def ticket(app, number="AS20261127000001", **facts):
    assert react(app, registered(number, **facts), event_id=f"reg-{number}") == Outcome.APPLIED
    return number


def published(outbox, *classes):
    return [e for e in outbox.published if any(e["type"] == cls.full_type() for cls in classes)]


# -- reactions ----------------------------------------------------------------------------------------

def test_a_registered_ticket_is_dispatched_once_whatever_the_redeliveries(app, outbox):
    number = ticket(app)
    assert react(app, registered(number), event_id=f"reg-{number}") == Outcome.DUPLICATE
    (dispatched,) = outbox.published
    assert dispatched["type"] == TicketDispatched.full_type() and dispatched["subject"] == number
    assert dispatched["data"]["unit_id"] == ENV and dispatched["data"]["first_responsible"] is True
    assert dispatched["data"]["actor"] == {"user_id": "system", "role": "system", "unit_id": None}
    assert len(app.store.assignments.docs) == 1
    view = run(app, "get_assignment", OPERATOR, number)
    assert view["ticket_id"] == f"t-{number}" and view["status"] == "dispatched" and view["version"] == 1
    assert view["state"]["lead_unit"] == {"id": ENV, "name": "市环保局"} and view["state"]["round"] == 1


def test_the_dispatch_event_id_derives_from_its_cause(app, outbox):
    ticket(app)
    first = outbox.published[0]["id"]
    other = RecordingOutbox("routing", outbox.clock)
    again = Routing(store=MemoryRoutingStore(other), clock=outbox.clock, catalog=CATALOG)
    again.store.seed(CONFIG)   # as the service seeds its empty directory
    ticket(again)
    assert other.published[0]["id"] == first   # a replica reacting to the same event publishes the same id


def test_a_ticket_no_rule_matches_waits_for_the_operator(app, outbox):
    number = ticket(app, category="other", type="help")
    assert outbox.types() == [TicketAwaitingDispatch.full_type()]
    assert run(app, "get_assignment", OPERATOR, number)["awaiting_reason"] == "没有匹配的派单规则"


def test_an_unsatisfied_citizen_reopens_the_ticket_with_a_verification_first(app, outbox):
    number = ticket(app)
    reopened = TicketReopened(ticket_id=f"t-{number}", number=number, unit_id=ENV, round=2, at=NOW,
                              actor=ActorRef(user_id="op1", role="operator"), reason="unsatisfied")
    assert react(app, reopened, event_id="reopen-1") == Outcome.APPLIED
    assert react(app, reopened, event_id="reopen-1") == Outcome.DUPLICATE  # the inbox remembers it
    (event,) = published(outbox, AssignmentReopened)
    assert event["data"]["reason"] == "unsatisfied" and event["data"]["round"] == 2
    assert event["data"]["working_days"] is None and event["data"]["type"] == "complain"
    view = run(app, "get_assignment", OPERATOR, number)
    assert view["round"] == 2 and view["verification"] == {"required": True, "filed": False, "reason": "unsatisfied"}


def test_a_reinvestigation_reopens_the_ticket_for_its_working_days(app, outbox):
    number = ticket(app)
    ordered = ReinvestigationOrdered(
        ticket_id=f"t-{number}", number=number, unit_id=ENV, case_id="c1", case_no="DB202611270001",
        trigger="citizen_challenge", trigger_label="市民质疑", state="reinvestigating", actor=SYSTEM_REF, seq=2,
        order=1, instructions="重新调查", working_days=5)
    assert react(app, ordered, event_id="order-1", source="escalation") == Outcome.APPLIED
    (event,) = published(outbox, AssignmentReopened)
    assert event["data"]["reason"] == "reinvestigation" and event["data"]["working_days"] == 5
    assert run(app, "get_assignment", OPERATOR, number)["verification"]["required"] is False


def test_a_reopen_of_a_ticket_without_a_unit_changes_nothing(app, outbox):
    number = ticket(app, category="other", type="help")
    reopened = TicketReopened(ticket_id=f"t-{number}", number=number, unit_id=None, round=2, at=NOW,
                              actor=SYSTEM_REF, reason="unsatisfied")
    assert react(app, reopened, event_id="reopen-1") == Outcome.NO_CHANGE
    assert published(outbox, AssignmentReopened) == []


def test_only_an_unsatisfied_reopening_is_for_routing(app):
    number = ticket(app)
    other = TicketReopened(ticket_id=f"t-{number}", number=number, unit_id=ENV, round=2, at=NOW, actor=SYSTEM_REF,
                           reason="challenge")  # a reason the contract may grow one day
    received = Received(other, "reopen-x", at(NOW))
    assert handlers.reopen_unsatisfied(app, received) == Outcome.NO_CHANGE
    assert run(app, "get_assignment", OPERATOR, number)["round"] == 1


def test_an_event_ahead_of_the_ticket_s_dispatch_is_retried_later(app):
    marked = TicketMarkedKey(ticket_id="t-unknown", number="AS20261127000009", unit_id=None, reason="重点问题件",
                             at=NOW, actor=ActorRef(user_id="op1", role="operator"))
    with pytest.raises(NotYet):
        react(app, marked)


def test_a_key_ticket_needs_a_verification_and_its_filing_lets_the_reply_go(app, outbox):
    number = ticket(app)
    marked = TicketMarkedKey(ticket_id=f"t-{number}", number=number, unit_id=ENV, reason="重点问题件", at=NOW,
                             actor=ActorRef(user_id="op1", role="operator"))
    assert react(app, marked, event_id="key-1") == Outcome.APPLIED
    run(app, "accept", ENV_HANDLER, number)
    run(app, "review", ENV_LEADER, number, {"instructions": "请执法大队今晚夜查并答复"})
    with pytest.raises(Conflict, match="现场核查"):
        run(app, "reply", ENV_HANDLER, number, REPLY)
    filed = VerificationFiled(ticket_id=f"t-{number}", number=number, unit_id=ENV, task_id="v1",
                              reason="key_ticket", inspector="张三", inspected_at=NOW, responsibility="商户",
                              at=NOW, actor=ActorRef(user_id=ENV_HANDLER.user_id, role="unit_handler", unit_id=ENV))
    assert react(app, filed, event_id="filed-1", source="escalation") == Outcome.APPLIED
    assert react(app, filed, event_id="filed-1", source="escalation") == Outcome.DUPLICATE
    view = run(app, "reply", ENV_HANDLER, number, REPLY)
    assert view["status"] == "replied" and view["verification"]["filed"] is True
    assert outbox.types().count(TicketReplied.full_type()) == 1


class Racing:
    """A store whose saves lose the race `losses` times."""

    def __init__(self, store, losses):
        self.store, self.losses, self.saves = store, losses, 0

    def __getattr__(self, name):
        return getattr(self.store, name)

    def save(self, a, events, **kw):
        self.saves += 1
        if self.saves <= self.losses:
            raise StaleVersion("moved on", {"current_version": a.version + 1})
        return self.store.save(a, events, **kw)


def test_a_reaction_that_loses_a_race_decides_again_and_then_leaves_it_to_the_subscriber(app):
    number = ticket(app)
    marked = TicketMarkedKey(ticket_id=f"t-{number}", number=number, unit_id=ENV, reason="重点问题件", at=NOW,
                             actor=SYSTEM_REF)
    racing = Routing(store=Racing(app.store, losses=2), clock=app.clock, catalog=CATALOG)
    assert react(racing, marked, event_id="key-1") == Outcome.APPLIED and racing.store.saves == 3
    always = Routing(store=Racing(app.store, losses=100), clock=app.clock, catalog=CATALOG)
    with pytest.raises(TransientError):   # not "no change": the event must not be lost
        react(always, marked, event_id="key-2")


# -- the unit's work ---------------------------------------------------------------------------------

def test_sign_review_reply_with_if_match(app, outbox):
    number = ticket(app)
    view = run(app, "accept", ENV_HANDLER, number, if_match=1)
    assert view["status"] == "accepted" and view["version"] == 2
    assert view["accepted"]["user_id"] == ENV_HANDLER.user_id
    with pytest.raises(Conflict, match="阅批"):
        run(app, "reply", ENV_HANDLER, number, REPLY)
    with pytest.raises(Forbidden, match="阅批"):
        run(app, "review", ENV_HANDLER, number, {"instructions": "请立即安排夜查并依法处理"})
    view = run(app, "review", ENV_LEADER, number, {"instructions": "请执法大队今晚夜查，依法处理并答复市民"})
    assert view["status"] == "reviewed" and view["reviews"][0]["name"]
    with pytest.raises(ValidationFailed) as err:
        run(app, "reply", ENV_HANDLER, number, {"result": "solved", "content": "已处理"})
    assert "content" in err.value.errors
    with pytest.raises(StaleVersion) as stale:
        run(app, "reply", ENV_HANDLER, number, REPLY, if_match=1)
    assert stale.value.extra == {"current_version": 3}
    view = run(app, "reply", ENV_HANDLER, number, REPLY, if_match=3)
    assert view["replies"][0]["reply_no"] == f"{number}-01" and view["version"] == 4
    assert view == run(app, "get_assignment", ENV_HANDLER, number)   # the answer is the stored state
    assert outbox.types() == [e.full_type() for e in (TicketDispatched, AssignmentAccepted, AssignmentReviewed,
                                                      TicketReplied)]
    assert [e["data"]["seq"] for e in outbox.published] == [1, 2, 3, 4]


def test_a_command_without_if_match_is_decided_again_after_a_race(app):
    number = ticket(app)
    racing = Routing(store=Racing(app.store, losses=1), clock=app.clock, catalog=CATALOG)
    assert run(racing, "accept", ENV_HANDLER, number)["status"] == "accepted" and racing.store.saves == 2


def test_commands_check_their_input_at_the_edge(app):
    number = ticket(app)
    with pytest.raises(ValidationFailed):
        run(app, "accept", ENV_HANDLER, number, {"note": "x"})   # accept takes no body
    with pytest.raises(ValidationFailed) as err:
        run(app, "review", ENV_LEADER, number, {"instructions": "请处理", "extra": 1})
    assert "extra" in err.value.errors
    with pytest.raises(ValidationFailed) as err:
        run(app, "reply", ENV_HANDLER, number, {"content": REPLY["content"]})
    assert "result" in err.value.errors


def test_other_units_neither_see_nor_act_on_the_ticket(app):
    number = ticket(app)
    for name, body in (("get_assignment", None), ("accept", None), ("reply", REPLY),
                       ("request_return", {"reason": "不属于本单位职责范围"})):
        with pytest.raises(NotFound):
            run(app, name, HOUSING, number, body)
    with pytest.raises(NotFound):
        run(app, "get_assignment", OPERATOR, "AS20261127999999")
    assert run(app, "get_assignment", SUPERVISOR, f"t-{number}")["number"] == number   # by id or number


def test_a_return_approved_goes_to_another_unit_and_counts_against_the_returning_one(app, outbox):
    number = ticket(app, category="urban.street_vending", district="tiexi")
    tiexi = Actor("district.tiexi.contact", "unit_handler", "district.tiexi")
    view = run(app, "request_return", tiexi, number, {"reason": "占道经营执法属市综合执法局职责"})
    assert view["status"] == "return_requested" and outbox.types()[-1] == ReturnRequested.full_type()
    assert run(app, "get_unit", OPERATOR, unit_id="district.tiexi")["returns"] == {
        "requested": 1, "approved": 0, "rejected": 0, "waiting": 1}
    with pytest.raises(Forbidden):
        run(app, "decide_return", tiexi, number, {"approve": True})
    view = run(app, "decide_return", OPERATOR, number, {"approve": True, "note": "同意退单"})
    assert view["status"] == "dispatched" and view["lead_unit"] == "city.enforcement" and view["dispatch_no"] == 2
    assert [e["type"] for e in outbox.published[-2:]] == [ReturnApproved.full_type(), TicketDispatched.full_type()]
    assert outbox.published[-1]["data"]["previous_unit"] == "district.tiexi"
    assert run(app, "get_unit", ADMIN, unit_id="district.tiexi")["returns"] == {
        "requested": 1, "approved": 1, "rejected": 0, "waiting": 0}
    with pytest.raises(NotFound):
        run(app, "get_assignment", tiexi, number)


def test_a_return_rejected_stays_and_a_first_responsible_refusal_is_escalated(app, outbox):
    number = ticket(app)
    run(app, "accept", ENV_HANDLER, number)
    run(app, "request_return", ENV_HANDLER, number, {"reason": "装修噪音应由物业和社区管理"})
    view = run(app, "decide_return", OPERATOR, number,
               {"approve": False, "note": "噪音污染由市环保局作为第一责任主体牵头办理"})
    assert view["status"] == "accepted" and view["lead_unit"] == ENV
    assert outbox.types()[-2:] == [ReturnRejected.full_type(), AssignmentRefused.full_type()]
    assert outbox.published[-1]["data"]["refusing_unit"] == ENV


def test_manual_dispatch_of_a_waiting_ticket(app, outbox):
    number = ticket(app, category="other", type="help")
    with pytest.raises(Forbidden):   # before the ticket is even looked up
        run(app, "manual_dispatch", ENV_HANDLER, "AS20261127999999", {"unit_id": "district.lishan"})
    with pytest.raises(ValidationFailed) as err:
        run(app, "manual_dispatch", OPERATOR, number, {"unit_id": "city.nowhere"})
    assert "unit_id" in err.value.errors
    view = run(app, "manual_dispatch", OPERATOR, number, {"unit_id": "district.lishan", "note": "属地处理"}, if_match=1)
    assert view["lead_unit"] == "district.lishan" and view["dispatches"][0]["manual"] is True
    assert view["awaiting_reason"] is None and outbox.published[-1]["data"]["manual"] is True
    with pytest.raises(Conflict):
        run(app, "manual_dispatch", OPERATOR, number, {"unit_id": "district.tiexi"})


def test_co_units_accept_decline_contribute_and_the_reply_gathers_them(app, outbox):
    housing, tiedong, market = "city.housing", "district.tiedong", "city.market"
    number = ticket(app, category="housing.property", district="tiedong")
    view = run(app, "add_co_unit", HOUSING, number, {"unit_id": market, "task": "核查物业停车收费是否合规"})
    assert [c["unit_id"] for c in view["co_units"]] == [tiedong, market]
    assert run(app, "co_unit_accept", TIEDONG, number, unit_id=tiedong)["co_units"][0]["status"] == "accepted"
    with pytest.raises(Forbidden, match="your own unit"):
        run(app, "co_unit_decline", MARKET, number, {"reason": "冒充别的单位拒绝"}, unit_id=tiedong)
    view = run(app, "co_unit_decline", MARKET, number, {"reason": "小区停车收费属住建部门物业监管范围"}, unit_id=market)
    assert view["co_units"][1]["status"] == "declined"
    with pytest.raises(Conflict):
        run(app, "co_unit_accept", MARKET, number, unit_id=market)
    with pytest.raises(Forbidden, match="your own unit"):
        run(app, "co_unit_accept", MARKET, number, unit_id=tiedong)
    view = run(app, "co_unit_contribute", TIEDONG, number,
               {"content": "街道已约谈物业公司，承诺一周内修复门禁并公示停车收费标准。"}, unit_id=tiedong)
    assert view["co_units"][0]["status"] == "contributed"
    with pytest.raises(Forbidden, match="your own unit"):
        run(app, "co_unit_contribute", MARKET, number, {"content": "街道已约谈物业公司，承诺一周内修复门禁。"},
            unit_id=tiedong)
    run(app, "accept", HOUSING, number)
    run(app, "review", HOUSING_LEADER, number, {"instructions": "会同铁东区督促物业整改"})
    view = run(app, "reply", HOUSING, number, REPLY)
    assert [c["unit_id"] for c in view["replies"][0]["contributions"]] == [tiedong]
    assert {c["unit_id"]: c["status"] for c in view["co_units"]} == {tiedong: "contributed", market: "declined"}
    assert [e["type"] for e in outbox.published[1:5]] == [e.full_type() for e in (
        CounitAdded, CounitAccepted, CounitDeclined, CounitContributed)]
    assert outbox.published[3]["data"]["units"] == [housing, tiedong]   # the declining co-unit no longer sees it


def test_a_review_needs_the_lead_unit_in_the_directory(app):
    number = ticket(app)
    run(app, "accept", ENV_HANDLER, number)
    del app.store._units[ENV]
    with pytest.raises(NotFound, match="unit"):
        run(app, "review", ENV_LEADER, number, {"instructions": "请执法大队今晚夜查并答复"})


# -- the directory -----------------------------------------------------------------------------------

def test_every_role_reads_the_units_directory(app):
    items = run(app, "list_units", ENV_HANDLER)["items"]
    assert ENV in [u["id"] for u in items] and all("_id" not in u for u in items)
    unit = run(app, "get_unit", ENV_HANDLER, unit_id=ENV)
    assert unit["name"] == "市环保局" and unit["returns"]["requested"] == 0
    with pytest.raises(NotFound):
        run(app, "get_unit", OPERATOR, unit_id="city.nowhere")


def test_the_admin_keeps_the_units_directory(app):
    unit = run(app, "get_unit", ADMIN, unit_id=ENV)
    body = {k: unit[k] for k in ("name", "kind", "main_leader", "deputy_leader", "contacts", "active")}
    with pytest.raises(Forbidden):
        run(app, "put_unit", OPERATOR, body=body, unit_id=ENV)
    with pytest.raises(ValidationFailed) as err:
        run(app, "put_unit", ADMIN, body={**body, "contacts": []}, unit_id=ENV)
    assert "contacts" in err.value.errors
    with pytest.raises(ValidationFailed) as err:   # a leader without a user id fails the schema
        run(app, "put_unit", ADMIN, body={**body, "main_leader": {"name": "王"}}, unit_id=ENV)
    assert "main_leader" in err.value.errors
    saved = run(app, "put_unit", ADMIN, body={**body, "name": "市生态环境局"}, unit_id=ENV)
    assert saved["id"] == ENV and saved["name"] == "市生态环境局"
    assert run(app, "get_unit", ENV_HANDLER, unit_id=ENV)["name"] == "市生态环境局"
    saved = run(app, "put_unit", ADMIN, body={**body, "active": False}, unit_id=ENV)
    assert saved["active"] is False
    number = ticket(app)   # an inactive unit gets no tickets
    assert run(app, "get_assignment", OPERATOR, number)["status"] == "awaiting_dispatch"


def test_changing_a_rule_changes_where_the_next_ticket_goes(app):
    first = ticket(app, "AS20261127000001", category="transport.taxi")
    assert run(app, "get_assignment", OPERATOR, first)["lead_unit"] == "city.transport"
    rule = {"category": "transport.taxi", "lead_unit": "city.market", "first_responsible": False}
    with pytest.raises(Forbidden):
        run(app, "put_rule", OPERATOR, body=rule, rule_id="taxi")
    with pytest.raises(ValidationFailed) as err:
        run(app, "put_rule", ADMIN, body={**rule, "lead_unit": "city.nowhere", "district": "atlantis"},
            rule_id="taxi")
    assert set(err.value.errors) == {"lead_unit", "district"}
    saved = run(app, "put_rule", ADMIN, body=rule, rule_id="taxi")
    assert saved == {"id": "taxi", "category": "transport.taxi", "lead_unit": "city.market", "district": None,
                     "co_units": [], "first_responsible": False}
    second = ticket(app, "AS20261127000002", category="transport.taxi")
    assert run(app, "get_assignment", OPERATOR, second)["lead_unit"] == "city.market"
    assert run(app, "get_assignment", OPERATOR, first)["lead_unit"] == "city.transport"  # never re-routed
    listed = run(app, "list_rules", SUPERVISOR)["items"]
    assert listed[-1]["id"] == "taxi" and listed[0]["id"] == "r6-infrastructure"
    with pytest.raises(Forbidden):
        run(app, "list_rules", ENV_HANDLER)
    with pytest.raises(Forbidden):
        run(app, "delete_rule", OPERATOR, rule_id="taxi")
    assert run(app, "delete_rule", ADMIN, rule_id="taxi") == {"deleted": "taxi"}
    with pytest.raises(NotFound):
        run(app, "delete_rule", ADMIN, rule_id="taxi")
    third = ticket(app, "AS20261127000003", category="transport.taxi")
    assert run(app, "get_assignment", OPERATOR, third)["lead_unit"] == "city.transport"


def test_the_table_names_every_rpc_and_event_routing_handles():
    assert set(HANDLERS.commands) == {
        "get_assignment", "manual_dispatch", "accept", "review", "reply", "request_return", "decide_return",
        "add_co_unit", "co_unit_accept", "co_unit_decline", "co_unit_contribute", "list_units", "get_unit",
        "put_unit", "list_rules", "put_rule", "delete_rule", "redispatch", "pass_down"}
    assert all(name == cls.NAME for name, (cls, _) in HANDLERS.commands.items())
    assert HANDLERS.event_types() == sorted(cls.full_type() for cls in (
        TicketRegistered, TicketReopened, ReinvestigationOrdered, TicketMarkedKey, VerificationFiled,
        TicketMerged, TicketUnmerged))
